"""Per-line transition inputs on the detail screen (partial receipt / shipment dialogs).

A transition input that a progress posting reads (``input: lines``, see
``workflow/progress.py``) is a list of ``{line, qty, ...}``; a text box cannot take that.
The dialog shows one row per document line instead (item, ordered, done, left, a quantity
box filled with what is left, and the line fields the posting accepts, e.g. a batch
number), and the posted form is turned back into the list the API takes.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import FormData

from jimu.core.errors import FieldError, ValidationError
from jimu.platform.specs.workflow import TransitionSpec
from jimu.runtime.screens.base import Screen
from jimu.runtime.screens.fields import link_titles
from jimu.runtime.workflow.progress import LineInput, progress_inputs

__all__ = ["line_input_rows", "parse_line_inputs", "line_inputs_of"]


def _dec(v: Any) -> Decimal:
    try:
        return Decimal(str(v)) if v not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _txt(d: Decimal) -> str:
    return format(d.normalize(), "f")


def line_inputs_of(s: Screen, entity: str, t: TransitionSpec) -> dict[str, LineInput]:
    """The per-line inputs of ``t`` on ``entity`` (empty for ordinary transitions)."""
    assert s.policy is not None
    if not any(f.type == "json" for f in t.inputs):
        return {}
    return progress_inputs(s.policy.rt, s.policy.rt.entity(entity), t)


def line_input_rows(s: Screen, entity: str, li: LineInput, record: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per line of ``record`` with what is left, for the dialog of ``li``."""
    assert s.policy is not None
    ent = s.policy.rt.entity(entity)
    f = ent.field(li.lines_field)
    assert f is not None and f.target
    child = s.policy.rt.entity(f.target)
    lines = list(record.get(li.lines_field) or [])
    titles = link_titles(s.policy, f.target, lines)
    item = child.field("item")
    rows = []
    for ln in lines:
        ordered, done = _dec(ln.get(li.quantity)), _dec(ln.get(li.progress))
        rest = max(ordered - done, Decimal(0))
        title = titles.get((str(item.target), str(ln.get("item")))) if item is not None and item.target else None
        extras = []
        for name in li.extras:
            ef = child.field(name)
            assert ef is not None
            extras.append({"name": name, "label": s.label(ef.label, name),
                           "type": "date" if ef.type == "date" else "text",
                           "value": "" if ln.get(name) is None else str(ln.get(name))})
        rows.append({"id": ln.get("id"), "title": title or f"#{ln.get('id')}", "ordered": _txt(ordered),
                     "done": _txt(done), "rest": _txt(rest), "extras": extras})
    return rows


def parse_line_inputs(s: Screen, li: LineInput, form: FormData, record: dict[str, Any]
                      ) -> list[dict[str, Any]] | None:
    """The ``[{line, qty, ...}]`` list a dialog posted (boxes named ``<input>.<line>.qty``);
    None when the form has no such boxes (a plain form: everything left); 422 on the input
    when boxes came but none holds a quantity, so an emptied dialog never means
    "everything"."""
    if not any(str(k).startswith(f"{li.input}.") for k in form):
        return None
    out: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for ln in record.get(li.lines_field) or []:
        prefix = f"{li.input}.{ln.get('id')}."
        raw = str(form.get(prefix + "qty") or "").strip()
        if not raw:
            continue
        try:
            qty = Decimal(raw)
        except InvalidOperation:
            errors.append(FieldError(li.input, "type", s.t("line_qty_invalid", value=raw)))
            continue
        if qty == 0:
            continue
        entry: dict[str, Any] = {"line": ln.get("id"), "qty": raw}
        for name in li.extras:
            value = str(form.get(prefix + name) or "").strip()
            if value:
                entry[name] = value
        out.append(entry)
    if not out and not errors:
        errors.append(FieldError(li.input, "required", s.t("line_qty_none")))
    if errors:
        raise ValidationError(errors[0].message, errors=errors)
    return out

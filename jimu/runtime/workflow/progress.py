"""Per-line progress of a document: partial receipts and shipments.

A posting may declare (in its ledger posting or its CBU's ``ledger_postings``)::

    "progress": "received_qty",   # line field adding up what has been posted so far
    "input": "lines",             # transition input [{line, qty, <line fields>...}]
    "input_fields": ["batch_no", "production_date", "expiry_date"]  # line fields an input
                                                                    # entry may carry

Then the posting moves, per line, either the quantities the input names or, without the
input, the rest of every line (``quantity - progress``); a quantity above the rest is 422
with the figures. The engine plans this before it writes the record, so the progress
fields and the state (the transition's ``partial_to`` while some line has a rest) are
written with the transition, and the postings then use the planned quantities. Nothing
here knows purchase or sales orders: the names all come from the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError, ValidationError
from jimu.core.money import to_decimal
from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec
from jimu.platform.specs.workflow import TransitionSpec
from jimu.platform.values import coerce
from jimu.runtime.apps import AppRuntime

__all__ = ["Portion", "Progress", "LineInput", "plan_progress", "progress_inputs", "item_names"]


@dataclass
class Portion:
    """One line's share of this posting: the line (overlaid with the input entry's extra
    fields, e.g. a batch number) and the quantity to post."""

    line: dict[str, Any]
    qty: Decimal


@dataclass
class Progress:
    """The plan for one (lines field, progress field) pair of a transition."""

    lines_field: str
    progress_field: str
    portions: list[Portion] = field(default_factory=list)
    done: dict[str, Decimal] = field(default_factory=dict)  # line id -> progress afterwards
    complete: bool = True


def _opt(p: Any, key: str) -> Any:
    if isinstance(p, Mapping):
        return p.get(key)
    value = getattr(p, key, None)
    if value is None and getattr(p, "model_extra", None):
        value = p.model_extra.get(key)
    return value


def _dec(value: Any) -> Decimal:
    return Decimal(0) if value is None else to_decimal(value)


def item_names(conn: Connection, rt: AppRuntime, child: EntitySpec, lines: list[Mapping[str, Any]]
               ) -> dict[str, str]:
    """Line id -> ``sku name`` of the item the line names (its ``item`` link; else the
    line id), for messages a warehouse user can act on."""
    f = child.field("item")
    out = {str(ln.get("id")): f"#{ln.get('id')}" for ln in lines}
    if f is None or not f.target:
        return out
    target = rt.entity(f.target)
    table = rt.tables(f.target)
    cols = [table.c.id] + [table.c[column_name(x)] for n in ("sku", "name") if (x := target.field(n)) is not None]
    ids = {ln.get("item") for ln in lines if ln.get("item") is not None}
    if not ids or len(cols) == 1:
        return out
    found = {r[0]: " ".join(str(v) for v in r[1:] if v is not None) for r in
             conn.execute(sa.select(*cols).where(table.c.id.in_(ids)))}
    for ln in lines:
        if ln.get("item") in found:
            out[str(ln.get("id"))] = found[ln.get("item")]
    return out


def _declarations(rt: AppRuntime, ent: EntitySpec, t: TransitionSpec) -> list[Any]:
    """The progress declarations of ``t``: its postings' (with their ledger options, e.g.
    batch fields), then the transition's own ``progress`` (kept when the postings are off,
    e.g. a template without stock, so shipped/received quantities are still tracked)."""
    from jimu.runtime.workflow.postings import postings_for

    return [p for _lg, p in postings_for(rt, ent.name, "transition", t)] + ([t.progress] if t.progress else [])


@dataclass(frozen=True)
class LineInput:
    """A transition input that takes per-line quantities (what a screen needs to offer one
    quantity box per line)."""

    input: str
    lines_field: str
    quantity: str
    progress: str
    extras: tuple[str, ...] = ()


def progress_inputs(rt: AppRuntime, ent: EntitySpec, t: TransitionSpec) -> dict[str, LineInput]:
    """Input name -> :class:`LineInput` for the per-line inputs of ``t``."""

    out: dict[str, LineInput] = {}
    for p in _declarations(rt, ent, t):
        name, prog, lines_field = _opt(p, "input"), _opt(p, "progress"), _opt(p, "lines")
        f = ent.field(str(lines_field or ""))
        if not name or not prog or f is None or not f.target or str(name) in out:
            continue
        child = rt.entity(f.target)
        extras = tuple(str(n) for n in (_opt(p, "input_fields") or []) if child.field(str(n)) is not None)
        out[str(name)] = LineInput(str(name), str(lines_field), str(_opt(p, "quantity") or "qty"), str(prog), extras)
    return out


def _entries(raw: Any, name: str) -> list[Mapping[str, Any]]:
    if raw is None or raw == "" or raw == []:
        return []
    if not isinstance(raw, list) or not all(isinstance(e, Mapping) for e in raw):
        raise ValidationError(f"{name} must be a list of {{line, qty}} objects / {name} 应为 [{{line, qty}}] 列表",
                              errors=[FieldError(name, "type", "expected [{line, qty}, ...]")])
    return list(raw)


def plan_progress(conn: Connection, rt: AppRuntime, ent: EntitySpec, t: TransitionSpec,
                  rec: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[tuple[str, str], Progress]:
    """The plans of ``t``'s progress postings on ``rec`` (keyed by (lines field, progress
    field)); 422 for an input naming a foreign line, a quantity that is not positive, or
    more than a line has left."""

    plans: dict[tuple[str, str], Progress] = {}
    for p in _declarations(rt, ent, t):
        prog, lines_field = _opt(p, "progress"), _opt(p, "lines")
        if not prog or not lines_field or (str(lines_field), str(prog)) in plans:
            continue
        f = ent.field(str(lines_field))
        if f is None or not f.target:
            continue
        child = rt.entity(f.target)
        qty_field = str(_opt(p, "quantity") or "qty")
        input_name = str(_opt(p, "input") or "")
        extras = [n for n in (_opt(p, "input_fields") or []) if child.field(str(n)) is not None]
        plans[(str(lines_field), str(prog))] = _plan(conn, rt, child, rec, str(lines_field), str(prog), qty_field,
                                                     input_name, inputs.get(input_name) if input_name else None,
                                                     [str(x) for x in extras])
    return plans


def _plan(conn: Connection, rt: AppRuntime, child: EntitySpec, rec: Mapping[str, Any], lines_field: str,
          prog: str, qty_field: str, input_name: str, raw: Any, extras: list[str]) -> Progress:
    lines = [dict(x) for x in rec.get(lines_field) or []]
    by_id = {str(x.get("id")): x for x in lines}
    rest = {lid: _dec(x.get(qty_field)) - _dec(x.get(prog)) for lid, x in by_id.items()}
    plan = Progress(lines_field, prog)
    qf = child.field(qty_field)
    scale = qf.scale if qf is not None else 4
    entries = _entries(raw, input_name)
    errors: list[FieldError] = []
    asked: dict[str, Decimal] = {}
    if not entries:
        plan.portions = [Portion(x, rest[str(x.get("id"))]) for x in lines if rest[str(x.get("id"))] > 0]
        asked = {str(pt.line.get("id")): pt.qty for pt in plan.portions}
    for i, e in enumerate(entries):
        where = f"{input_name}[{i}]"
        lid = str(e.get("line"))
        unknown = sorted(set(e) - {"line", "qty", *extras})
        if unknown:
            errors.append(FieldError(f"{where}.{unknown[0]}", "input.unknown",
                                     f"{unknown[0]}: 不能在此填写 / cannot be given here (allowed: line, qty"
                                     + "".join(f", {x}" for x in extras) + ")"))
            continue
        if lid not in by_id:
            errors.append(FieldError(f"{where}.line", "line.unknown",
                                     f"第 {i + 1} 行指向的明细 {e.get('line')!r} 不属于此单据 / "
                                     f"line {e.get('line')!r} is not a line of this document"))
            continue
        try:
            qty = to_decimal(e.get("qty"))
        except (InvalidOperation, TypeError, ValueError):
            qty = Decimal(-1)
        if not qty.is_finite() or qty <= 0:
            errors.append(FieldError(f"{where}.qty", "qty.positive",
                                     f"数量必须大于 0 / the quantity must be positive (got {str(e.get('qty'))[:40]!r})"))
            continue
        if qty.adjusted() > 14 or qty != qty.quantize(Decimal(1).scaleb(-scale)):
            errors.append(FieldError(f"{where}.qty", "qty.invalid",
                                     f"数量 {str(e.get('qty'))[:40]} 超出范围或小数位超过 {scale} 位 / the quantity "
                                     f"{str(e.get('qty'))[:40]} is too large or has more than {scale} decimals"))
            continue
        line = dict(by_id[lid])
        for name in extras:
            if name in e:
                fspec = child.field(name)
                assert fspec is not None
                try:
                    line[name] = coerce(fspec, e[name])
                except (ValueError, TypeError) as exc:
                    errors.append(FieldError(f"{where}.{name}", "type", f"{name}: {exc}"))
        asked[lid] = asked.get(lid, Decimal(0)) + qty
        plan.portions.append(Portion(line, qty))
    over = [lid for lid, q in asked.items() if q > rest[lid]]
    if over:
        names = item_names(conn, rt, child, [by_id[lid] for lid in over])
        for lid in over:
            i = next(n for n, e in enumerate(entries) if str(e.get("line")) == lid) if entries else 0
            zh = (f"{names[lid]}：本次数量 {_txt(asked[lid])} 超过未完成数量 {_txt(rest[lid])}"
                  f"（订购 {_txt(_dec(by_id[lid].get(qty_field)))}，已完成 {_txt(_dec(by_id[lid].get(prog)))}）")
            en = (f"{names[lid]}: {_txt(asked[lid])} asked but only {_txt(rest[lid])} left "
                  f"(ordered {_txt(_dec(by_id[lid].get(qty_field)))}, done {_txt(_dec(by_id[lid].get(prog)))})")
            errors.append(FieldError(f"{input_name or lines_field}[{i}].qty", "qty.exceeds_rest", f"{zh} / {en}"))
    if errors:
        raise ValidationError(errors[0].message, code=errors[0].code, errors=errors,
                              extra={"lines": [{"line": by_id[lid].get("id"), "asked": _txt(asked[lid]),
                                                "left": _txt(rest[lid])} for lid in over]})
    for lid in by_id:
        plan.done[lid] = _dec(by_id[lid].get(prog)) + asked.get(lid, Decimal(0))
    plan.complete = all(plan.done[lid] >= _dec(by_id[lid].get(qty_field)) for lid in by_id)
    return plan


def _txt(d: Decimal) -> str:
    """A quantity as people write it: 5, 2.5 (no trailing zeros of the storage scale)."""
    return format(d.normalize(), "f")

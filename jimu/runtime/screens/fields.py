"""Field widgets and display values, decided by the caller's AccessPolicy.

A hidden field never becomes a :class:`FieldView`; a masked one is read-only and shows the
mask's value; a field the caller may only read (or that the record's workflow state does
not let change) is shown, not edited."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec
from jimu.platform.specs.fields import FieldSpec
from jimu.runtime.access import AccessPolicy
from jimu.runtime.screens.i18n import label_text, translate

__all__ = ["FieldView", "WIDGETS", "field_view", "display", "link_titles", "link_options", "choices_of",
           "editable_names", "parse_value"]

# field type -> widget template macro name
WIDGETS: dict[str, str] = {
    "text": "text", "long_text": "textarea", "integer": "integer", "decimal": "decimal", "money": "decimal",
    "percent": "decimal", "boolean": "checkbox", "date": "date", "datetime": "datetime", "duration": "text",
    "choice": "select", "multi_choice": "multiselect", "link": "link", "child_table": "children",
    "user": "text", "attachment": "text", "image": "text", "email": "email", "phone": "tel", "url": "url",
    "barcode": "text", "geo": "text", "formula": "computed", "auto_number": "computed", "json": "textarea",
}
OPTION_LIMIT = 200


@dataclass
class FieldView:
    """One field as a screen shows it."""

    name: str
    label: str
    type: str
    widget: str
    access: str  # write | read | mask
    value: Any = None
    display: str = ""
    required: bool = False
    editable: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    target: str | None = None
    error: str | None = None
    help: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    columns: list[FieldView] = field(default_factory=list)  # child tables: the child's fields
    rows: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def input_id(self) -> str:
        return f"f-{self.name}"


def choices_of(f: FieldSpec, lang: str) -> list[tuple[str, str]]:
    """(value, label) pairs of a choice field."""
    out = []
    for c in f.options.get("choices", []):
        if isinstance(c, Mapping):
            out.append((str(c.get("value")), label_text(c.get("label"), lang, str(c.get("value")))))
        else:
            out.append((str(c), str(c)))
    return out


def display(f: FieldSpec, value: Any, lang: str, titles: Mapping[tuple[str, str], str] | None = None,
            masked: bool = False) -> str:
    """``value`` as text for a list cell or a read-only field."""
    if value is None or value == "":
        return ""
    if masked:
        return str(value)
    kind = f.value_type
    if kind == "boolean":
        return translate("yes" if value else "no", lang)
    if kind in ("choice", "multi_choice"):
        labels = dict(choices_of(f, lang))
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in values)
    if kind == "link" and f.target:
        return (titles or {}).get((f.target, str(value)), f"#{value}")
    if kind in ("money", "decimal", "percent"):
        try:
            num = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        scale = 2 if kind == "money" else max(0, min(f.scale, 4))
        text = f"{num:,.{scale}f}"
        if kind == "decimal" and "." in text:
            text = text.rstrip("0").rstrip(".")
        return ("¥" + text) if kind == "money" and f.options.get("currency", "CNY") == "CNY" else text
    if kind == "datetime":
        return str(value).replace("T", " ")[:16]
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def link_titles(policy: AccessPolicy, entity: str, records: Iterable[Mapping[str, Any]], *,
                conn: Connection | None = None) -> dict[tuple[str, str], str]:
    """(target entity, id) -> title for every link value in ``records`` the caller may read
    (read on ``conn`` when given)."""
    ent = policy.rt.entity(entity)
    wanted: dict[str, set[int]] = {}
    links = [f for f in ent.active_fields if f.type == "link" and f.target]
    if not links:
        return {}
    for rec in records:
        for f in links:
            v = rec.get(f.name)
            if isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
                wanted.setdefault(str(f.target), set()).add(int(v))
    out: dict[tuple[str, str], str] = {}
    if not wanted:
        return out
    with policy.jimu.db.read() if conn is None else contextlib.nullcontext(conn) as c:
        for target, ids in wanted.items():
            for rid, title in _titles(policy, target, ids, c).items():
                out[(target, str(rid))] = title
    return out


def _title_field(policy: AccessPolicy, ent: EntitySpec) -> FieldSpec | None:
    f = ent.field(ent.title)
    if f is None or f.archived or not f.stored or policy.field_rule(ent.name, f.name).access not in ("read", "write"):
        return None
    return f


def _titles(policy: AccessPolicy, target: str, ids: Iterable[int], c: Connection | None = None) -> dict[int, str]:
    if not policy.can(target, "read"):
        return {}
    ent = policy.rt.entity(target)
    table = policy.rt.tables(target)
    tf = _title_field(policy, ent)
    cols = [table.c.id] + ([table.c[column_name(tf)]] if tf is not None else [])
    stmt = sa.select(*cols).where(table.c.id.in_(sorted(ids)))
    clause = policy.row_clause(target)
    if clause is not None:
        stmt = stmt.where(clause)
    with policy.jimu.db.read() if c is None else contextlib.nullcontext(c) as conn:
        return {int(r[0]): (str(r[1]) if len(r) > 1 and r[1] is not None else f"#{r[0]}")
                for r in conn.execute(stmt)}


def link_options(policy: AccessPolicy, target: str, q: str = "", limit: int = OPTION_LIMIT) -> list[tuple[str, str]]:
    """(id, title) of ``target`` records the caller may read, matching ``q`` on the title
    and search fields."""
    if not policy.can(target, "read"):
        return []
    ent = policy.rt.entity(target)
    table = policy.rt.tables(target)
    tf = _title_field(policy, ent)
    cols = [table.c.id] + ([table.c[column_name(tf)]] if tf is not None else [])
    stmt = sa.select(*cols)
    clause = policy.row_clause(target)
    if clause is not None:
        stmt = stmt.where(clause)
    if q:
        names = [tf.name] if tf is not None else []
        names += [n for n in ent.search_fields or ("sku", "code", "barcode", "name") if n not in names]
        conds = []
        for n in names:
            f = ent.field(n)
            if f is not None and f.stored and not f.archived and f.type in ("text", "barcode", "long_text") \
                    and policy.field_rule(target, n).access in ("read", "write"):
                conds.append(table.c[column_name(f)].contains(q, autoescape=True))
        if q.isdigit():
            conds.append(table.c.id == int(q))
        stmt = stmt.where(sa.or_(*conds) if conds else sa.false())
    stmt = stmt.order_by(cols[-1], table.c.id).limit(limit)
    with policy.jimu.db.read() as c:
        return [(str(r[0]), str(r[1]) if len(r) > 1 and r[1] is not None else f"#{r[0]}") for r in c.execute(stmt)]


def editable_names(policy: AccessPolicy, entity: str, record: Mapping[str, Any] | None) -> set[str]:
    """Fields the caller may change on ``record`` (None: a new one): writable for the role
    and, when the entity has a workflow, allowed in the record's current state."""
    names = set(policy.writable_fields(entity))
    wf = policy.rt.workflow_for(entity)
    if wf is not None:
        names.discard(wf.state_field)
    editable = policy.state_editable(entity, record)
    return names if editable is None else names & editable


def field_view(policy: AccessPolicy, entity: str, f: FieldSpec, rendered: Mapping[str, Any], lang: str, *,
               editable: bool, titles: Mapping[tuple[str, str], str] | None = None,
               errors: Mapping[str, str] | None = None) -> FieldView:
    """The view of field ``f`` of a rendered record (``policy.render`` output)."""
    rule = policy.field_rule(entity, f.name)
    access = "mask" if rule.access == "mask" else ("write" if rule.writable else "read")
    value = rendered.get(f.name)
    fv = FieldView(f.name, label_text(f.label, lang, f.name), f.type, WIDGETS.get(f.type, "text"), access,
                   value=value, required=f.required, editable=editable and access == "write"
                   and f.type not in ("formula", "auto_number"), target=f.target,
                   help=label_text(f.help, lang) if f.help else "",
                   error=(errors or {}).get(f.name))
    fv.display = display(f, value, lang, titles, masked=access == "mask")
    if f.type in ("choice", "multi_choice"):
        fv.choices = choices_of(f, lang)
    if f.type == "link" and f.target and fv.editable:
        fv.options = link_options(policy, f.target)
        if value is not None and not any(o[0] == str(value) for o in fv.options):
            fv.options.insert(0, (str(value), fv.display or f"#{value}"))
    return fv


def parse_value(f: FieldSpec, raw: list[str]) -> Any:
    """A form value (all values posted under the field's name) as the record service takes it."""
    if f.type == "boolean":
        return bool(raw) and raw[-1] in ("true", "on", "1")
    if f.type == "multi_choice":
        return [r for r in raw if r]
    text = raw[-1].strip() if raw else ""
    if text == "":
        return None
    if f.type in ("link", "integer") and text.lstrip("-").isdigit():
        return int(text)
    if f.type in ("decimal", "money", "percent"):
        return text.replace(",", "").replace("¥", "")
    return text

"""Documents with their lines written in bulk, each with its own past timestamps.

Every row gets what a create would give it (defaults, stored formulas, a gapless auto
number of the month it belongs to), then heads and lines go to the database in one
multi-row INSERT per entity. No audit row or event per record (history is not news):
the caller writes one summary audit row and rebuilds the rollups afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import ExpressionError
from jimu.platform.actor import SYSTEM
from jimu.platform.expressions import compile_expression
from jimu.runtime.records.autonumber import next_numbers
from jimu.runtime.records.codec import columns_for
from jimu.runtime.records.computed import apply_defaults, coerce_formula, expression_env, formula_order

__all__ = ["NewDoc", "insert_docs", "insert_children"]

_CHUNK = 1000


@dataclass
class NewDoc:
    """One document to write: field values, its lines (child rows of ``lines_field``),
    when it was created and last changed, and by whom."""

    values: dict[str, Any]
    created: datetime
    updated: datetime
    created_by: str
    updated_by: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    id: int = 0
    line_ids: list[int] = field(default_factory=list)


def _system(doc: NewDoc, version: int) -> dict[str, Any]:
    return {"version": version, "created_at": doc.created, "updated_at": doc.updated,
            "created_by": doc.created_by, "updated_by": doc.updated_by}


class _Formulas:
    """An entity's stored formulas, ordered and compiled once for all its rows (what
    ``compute_formulas`` does per row, without re-deriving the order each time)."""

    def __init__(self, rt: Any, ent: Any, env: Any) -> None:
        self.env = env
        self.plan = [(f, compile_expression(str(f.expression), rt.spec, ent.name, purpose="formula"))
                     for f in formula_order(ent, rt)]

    def __call__(self, record: dict[str, Any]) -> None:
        env = self.env.get() if self.plan else None
        for f, compiled in self.plan:
            try:
                value = compiled.evaluate(record, env)
            except ExpressionError:
                value = None
            try:
                record[f.name] = coerce_formula(f, value)
            except (ValueError, TypeError):
                record[f.name] = None


def insert_docs(jimu: Any, conn: Connection, rt: Any, entity: str, docs: Sequence[NewDoc],
                lines_field: str | None = None) -> None:
    """Write ``docs`` (heads, then lines) in ``conn``'s transaction; sets ``doc.id`` and
    ``doc.line_ids``. Numbers are given in the order of ``created`` within each month."""
    if not docs:
        return
    ent = rt.entity(entity)
    env = expression_env(jimu.records, conn, rt, SYSTEM)
    child = None
    if lines_field is not None:
        f = ent.field(lines_field)
        child = rt.entity(str(f.options["entity"])) if f is not None else None
    head_formulas = _Formulas(rt, ent, env)
    line_formulas = _Formulas(rt, child, env) if child is not None else None
    for doc in docs:
        if child is not None and line_formulas is not None:
            for ln in doc.lines:
                apply_defaults(rt, child, ln, env)
                line_formulas(ln)
            doc.values[str(lines_field)] = doc.lines
        apply_defaults(rt, ent, doc.values, env)
        head_formulas(doc.values)
        if lines_field is not None:
            doc.values.pop(lines_field, None)
    for f in ent.active_fields:
        if f.type != "auto_number":
            continue
        periods: dict[tuple[int, int], list[NewDoc]] = {}
        for doc in sorted(docs, key=lambda d: d.created):
            periods.setdefault((doc.created.year, doc.created.month), []).append(doc)
        for group in periods.values():
            numbers = next_numbers(conn, rt.name, ent.name, f.name, str(f.options.get("pattern")), len(group),
                                   at=group[0].created)
            for doc, number in zip(group, numbers, strict=True):
                doc.values[f.name] = number
    table = rt.tables(entity)
    stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    stored = [f.name for f in ent.active_fields if f.stored]
    heads = [{**columns_for(ent, {k: d.values.get(k) for k in stored}), **_system(d, 1)}
             for d in docs]
    ids: list[int] = []
    for i in range(0, len(heads), _CHUNK):
        ids += [int(x) for x in conn.execute(stmt, heads[i:i + _CHUNK]).scalars()]
    for doc, rid in zip(docs, ids, strict=True):
        doc.id = rid
    if child is None:
        return
    ctable = rt.tables(child.name)
    cstored = [f.name for f in child.active_fields if f.stored]
    rows, owners = [], []
    for doc in docs:
        for idx, ln in enumerate(doc.lines):
            rows.append({**columns_for(child, {k: ln.get(k) for k in cstored}), **_system(doc, 1),
                         "_parent_id": doc.id, "_idx": idx})
            owners.append(doc)
    cstmt = ctable.insert().returning(ctable.c.id, sort_by_parameter_order=True)
    line_ids: list[int] = []
    for i in range(0, len(rows), _CHUNK):
        line_ids += [int(x) for x in conn.execute(cstmt, rows[i:i + _CHUNK]).scalars()]
    for doc, lid in zip(owners, line_ids, strict=True):
        doc.line_ids.append(lid)


def insert_children(conn: Connection, rt: Any, child: str, owned: Sequence[tuple[NewDoc, list[dict[str, Any]]]],
                    at: str = "updated", by: str = "updated_by") -> list[list[int]]:
    """Rows of a second child table (filled by a transition's action, e.g. a dish sale's
    ``usage`` or a requisition's ``issued``) for documents already written: each
    (document, its rows in order), stamped with the document's ``at`` time and ``by``
    user. Returns the new ids per document."""
    ent = rt.entity(child)
    stored = [f.name for f in ent.active_fields if f.stored]
    rows: list[dict[str, Any]] = []
    for doc, values in owned:
        when, who = getattr(doc, at), getattr(doc, by)
        for idx, v in enumerate(values):
            rows.append({**columns_for(ent, {k: v.get(k) for k in stored}), "version": 1, "created_at": when,
                         "updated_at": when, "created_by": who, "updated_by": who, "_parent_id": doc.id, "_idx": idx})
    table = rt.tables(child)
    stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for i in range(0, len(rows), _CHUNK):  # nothing to write: no statement
        ids += [int(x) for x in conn.execute(stmt, rows[i:i + _CHUNK]).scalars()]
    out: list[list[int]] = []
    it = iter(ids)
    for _doc, values in owned:
        out.append([next(it) for _ in values])
    return out

"""New values on every existing row of one child list, written set-based.

A stocktake writes a figure on each of its 5,000 lines several times (the book figure at
``post``, the blind flag at ``submit_count``). Through ``RecordService.update`` each write
re-read the whole record twice, checked and computed every line twice and sent one UPDATE
per line (pipelined, still 5,000 statements for the server). :func:`update_child_rows`
gives the same result as

    records.update(app, entity, rid, {lines_field: rows}, _allow_state=True)

when ``rows`` names every row of the list once, in its order, and sets only plain stored
fields (no link, no child list, no computed field): each row's values are coerced and its
validation rules run as before (the first problems raise the same ValidationError before
anything is written), its stored formulas are computed once, and the rows are written in
one statement (PostgreSQL: ``UPDATE ... FROM unnest`` of column arrays; SQLite, in-process:
one executemany). Each row gets ``version + 1``, ``updated_at``/``updated_by`` and its
position as ``_idx``, as ``_replace_children`` gives it; the parent's version is bumped in
the same way. A child list's rows have no audit rows or events of their own, and a parent
write that changes none of the parent's own fields writes none either (``_finish``): so
none are written here. Anything else - new or dropped rows, a parent with formulas or
validation rules (they may read the list) - goes through ``RecordService.update``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.core.errors import FieldError, ValidationError
from jimu.platform.actor import Actor
from jimu.platform.specs import EntitySpec
from jimu.runtime.apps import AppRuntime
from jimu.runtime.records.children import parent_link
from jimu.runtime.records.codec import columns_for, row_to_record
from jimu.runtime.records.computed import compute_formulas, expression_env, run_validations
from jimu.runtime.records.validate import check_input

if TYPE_CHECKING:
    from jimu.runtime.records.service import RecordService

__all__ = ["set_based_ok", "update_child_rows"]

#: Field types a set-based row write may set (links are checked by the generic path).
_PLAIN = frozenset({"text", "long_text", "integer", "decimal", "money", "percent", "boolean", "date", "datetime",
                    "choice", "email", "phone", "url"})


def set_based_ok(rt: AppRuntime, ent: EntitySpec, fname: str, keys: set[str]) -> bool:
    """Whether writing ``keys`` on rows of ``ent.fname`` can skip the generic update."""
    f = ent.field(fname)
    if f is None or f.type != "child_table" or not f.target or parent_link(rt, ent.name) is not None:
        return False
    if any(p.type == "formula" or p.validation is not None for p in ent.active_fields):
        return False
    child = rt.spec.entity(f.target)
    if child is None or any(cf.type == "child_table" for cf in child.active_fields):
        return False
    by_name = {cf.name: cf for cf in child.active_fields}
    return all(k in by_name and by_name[k].stored and by_name[k].type in _PLAIN and not by_name[k].unique
               for k in keys)


def update_child_rows(svc: RecordService, c: Connection, rt: AppRuntime, ent: EntitySpec, rid: int, fname: str,
                      rows: Sequence[Mapping[str, Any]], actor: Actor, *,
                      extra: dict[str, Any] | None = None) -> None:
    """Set the values of ``rows`` (``{"id": row id, field: value, ...}``, every row of the
    list in order) on the child list ``fname`` of record ``rid``; see the module doc."""
    keys = {k for r in rows for k in r if k != "id"}
    f = ent.field(fname)
    child = rt.spec.entity(f.target) if f is not None and f.target else None
    ct = rt.tables(child.name) if child is not None else None
    existing: dict[int, Any] = {}
    if ct is not None and set_based_ok(rt, ent, fname, keys):
        existing = {int(r["id"]): r for r in c.execute(sa.select(ct).where(ct.c._parent_id == rid)).mappings()}
    ids = [r.get("id") for r in rows]
    if child is None or ct is None or not existing or not all(isinstance(i, int) for i in ids) \
            or len(ids) != len(existing) or set(ids) != set(existing):
        svc.update(rt.name, ent.name, rid, {fname: [dict(r) for r in rows]}, actor=actor, conn=c,
                   _allow_state=True, _extra=extra)
        return
    env = expression_env(svc, c, rt, actor)
    errors: list[FieldError] = []
    invalid: list[FieldError] = []
    coerced = []
    for i, row in enumerate(rows):
        values, _children, errs = check_input(child, {k: v for k, v in row.items() if k != "id"},
                                              creating=False, prefix=f"{fname}[{i}].")
        errors += errs
        coerced.append(values)
    if errors:
        raise ValidationError(f"{ent.name} {rid} has invalid fields", errors=errors)
    formulas = [cf for cf in child.active_fields if cf.type == "formula" and cf.stored]
    written = [cf for cf in child.active_fields if cf.name in keys or cf in formulas]
    at = now()
    params: list[dict[str, Any]] = []
    for i, (row, values) in enumerate(zip(rows, coerced, strict=True)):
        stored = existing[int(row["id"])]
        merged = {**row_to_record(child, stored), **values}
        compute_formulas(rt, child, merged, env)
        invalid += run_validations(rt, child, merged, env, f"{fname}[{i}].")
        cols = columns_for(child, {cf.name: merged.get(cf.name) for cf in written})
        params.append({"id": int(row["id"]), "_idx": i, "version": stored["version"] + 1, **cols})
    if invalid:
        raise ValidationError(f"{ent.name} {rid} has invalid {fname} rows", errors=invalid)
    columns = [k for k in params[0] if k != "id"]
    if c.dialect.name == "postgresql":
        _write_pg(c, ct, columns, params, at, actor.username)
    else:
        stmt = rt.statement(("child_values", child.name, tuple(columns)), lambda: sa.update(ct).where(
            ct.c.id == sa.bindparam("_jimu_id")).values(
            {k: sa.bindparam(f"_v_{k}") for k in (*columns, "updated_at", "updated_by")}))
        c.execute(stmt, [{"_jimu_id": p["id"], **{f"_v_{k}": p[k] for k in columns},
                          "_v_updated_at": at, "_v_updated_by": actor.username} for p in params])
    pt = rt.tables(ent.name)
    c.execute(sa.update(pt).where(pt.c.id == rid).values(version=pt.c.version + 1, updated_at=at,
                                                          updated_by=actor.username))


def _write_pg(c: Connection, ct: sa.Table, columns: list[str], params: list[dict[str, Any]], at: Any,
              user: str | None) -> None:
    """One ``UPDATE ... FROM unnest(arrays)``: the column values bound as the column types
    bind them (SQLAlchemy's processors), cast to arrays of the column's SQL type."""
    from jimu.platform.ledger import rawsql

    dialect = c.dialect
    quote = dialect.identifier_preparer.quote
    arrays: dict[str, list[Any]] = {"i": [p["id"] for p in params]}
    casts = ["CAST(%(i)s AS bigint[])"]
    sets = []
    for n, col in enumerate(columns):
        ctype = ct.c[col].type
        proc = ctype.bind_processor(dialect)
        arrays[f"c{n}"] = [proc(p[col]) if proc else p[col] for p in params]
        casts.append(f"CAST(%(c{n})s AS {ctype.compile(dialect=dialect)}[])")
        sets.append(f"{quote(col)} = v.c{n}")
    names = ", ".join(["i", *(f"c{n}" for n in range(len(columns)))])
    at_proc = ct.c.updated_at.type.bind_processor(dialect)
    sql = (f"UPDATE {dialect.identifier_preparer.format_table(ct)} AS t SET {', '.join(sets)}, "
           f"updated_at = %(at)s, updated_by = %(by)s FROM unnest({', '.join(casts)}) AS v({names}) WHERE t.id = v.i")
    cur = rawsql.cursor(c)
    try:
        rawsql.execute_planned(cur, sql, {**arrays, "at": at_proc(at) if at_proc else at, "by": user})
    finally:
        cur.close()

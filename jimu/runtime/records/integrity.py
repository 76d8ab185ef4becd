"""Integrity checks of a record write (required, links, unique, references) and the
per-field changes it makes; each check appends to the caller's list of field errors so
every problem comes back at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError
from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec
from jimu.platform.values import is_blank

if TYPE_CHECKING:
    from jimu.runtime.apps import AppRuntime

__all__ = ["required", "check_links", "check_unique", "folds_unique", "prefetch_links", "referencing", "changes",
           "select_other"]


def required(ent: EntitySpec, values: dict[str, Any], errors: list[FieldError], prefix: str) -> None:
    already = {e.field for e in errors}
    for f in ent.active_fields:
        if f.required and f.stored and f.type not in ("formula", "auto_number") and is_blank(values.get(f.name)):
            if prefix + f.name not in already:
                errors.append(FieldError(prefix + f.name, "required", f"{f.label.zh or f.name} is required / 必填"))

def prefetch_links(c: Connection, rt: AppRuntime, ent: EntitySpec, rows: list[dict[str, Any]],
                   known: set[tuple[str, Any]]) -> None:
    """Add to ``known`` the (target, id) pairs of ``rows``' links that exist, one query
    per link target (500 ids a statement), so :func:`check_links` of each row queries
    nothing for them; ids not found are left out and still answered by ``check_links``."""
    for f in ent.active_fields:
        if f.type != "link" or not f.target or rt.tables.get(f.target) is None:
            continue
        wanted = {r[f.name] for r in rows if type(r.get(f.name)) is int and (f.target, r[f.name]) not in known}
        if len(wanted) < 2:
            continue
        t = rt.tables(f.target)
        ids = sorted(wanted)
        for i in range(0, len(ids), 500):
            for (found,) in c.execute(sa.select(t.c.id).where(t.c.id.in_(ids[i:i + 500]))):
                known.add((f.target, found))


def check_links(c: Connection, rt: AppRuntime, ent: EntitySpec, values: dict[str, Any],
                 errors: list[FieldError], prefix: str, known: set[tuple[str, Any]] | None = None) -> None:
    """A ``link.missing`` error per link naming no row. ``known``: (target, id) pairs
    already found in this transaction (the rows of one child list share their warehouse:
    it is looked up once)."""
    for f in ent.active_fields:
        if f.type != "link" or values.get(f.name) is None or not f.target:
            continue
        target = rt.tables.get(f.target)
        if target is None:
            continue
        pair = (f.target, values[f.name])
        if known is not None and pair in known:
            continue
        stmt = rt.statement(("exists", f.target), lambda t=target: sa.select(t.c.id).where(
            t.c.id == sa.bindparam("_jimu_rid")))
        if c.execute(stmt, {"_jimu_rid": values[f.name]}).first() is None:
            errors.append(FieldError(prefix + f.name, "link.missing", f"{f.target} {values[f.name]} does not exist"))
        elif known is not None:
            known.add(pair)

def check_unique(c: Connection, rt: AppRuntime, ent: EntitySpec, values: dict[str, Any],
                  errors: list[FieldError], prefix: str, rid: int | None) -> None:
    table = rt.tables(ent.name)
    for f in ent.active_fields:
        if not f.unique or values.get(f.name) is None:
            continue
        col = table.c[column_name(f)]
        stmt = rt.statement(("unique", ent.name, f.name, rid is not None), lambda col=col: select_other(
            table, col, rid is not None))
        params = {"_jimu_value": values[f.name]} if rid is None else {"_jimu_value": values[f.name], "_jimu_rid": rid}
        other = c.execute(stmt, params).scalar()
        if other is not None:
            errors.append(FieldError(prefix + f.name, "unique",
                                     f"{values[f.name]!s} is already used by {ent.name} {other}"))

def folds_unique(c: Connection, ent: EntitySpec, values: dict[str, Any]) -> bool:
    """Whether the insert of ``values`` checks its unique fields itself: ``values`` set a
    unique field and the database has ``INSERT ... ON CONFLICT DO NOTHING RETURNING``
    (SQLite, PostgreSQL; elsewhere :func:`check_unique` looks first). A taken value then
    inserts nothing and returns no row, without an error that would abort a PostgreSQL
    transaction, and the caller asks :func:`check_unique` which field it was: one
    statement instead of a SELECT per unique field and the INSERT."""
    return c.dialect.name in ("sqlite", "postgresql") and any(
        f.unique and values.get(f.name) is not None for f in ent.active_fields)


def referencing(c: Connection, rt: AppRuntime, entity: str, rid: int) -> list[tuple[str, int]]:
    out = []
    for other in rt.spec.entities:
        for f in other.active_fields:
            if f.type == "link" and f.target == entity and f.options.get("on_delete") not in ("cascade", "set_null"):
                t = rt.tables(other.name)
                n = c.execute(sa.select(sa.func.count()).select_from(t).where(t.c[column_name(f)] == rid)).scalar_one()
                if n:
                    out.append((other.name, int(n)))
    return out


def changes(ent: EntitySpec, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for f in ent.active_fields:
        if f.type == "child_table":
            continue
        old = before.get(f.name) if before else None
        new = after.get(f.name) if after else None
        if old != new:
            out.append({"field": f.name, "old": old, "new": new})
    return out


def select_other(table: sa.Table, col: Any, excluding: bool) -> Any:
    stmt = sa.select(table.c.id).where(col == sa.bindparam("_jimu_value"))
    if excluding:
        stmt = stmt.where(table.c.id != sa.bindparam("_jimu_rid"))
    return stmt.limit(1)

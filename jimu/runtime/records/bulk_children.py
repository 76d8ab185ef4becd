"""New child rows of one parent write, inserted in bulk.

A stocktake's ``start`` fills 5,000 lines in one parent update; inserting them one row at a
time was most of its cost. Here every new row of one child list gets the same checks as a
single insert (types, defaults, required, validation rules, stored formulas, auto numbers
in row order) and then all rows go to the database in one executemany (SQLAlchemy's
multi-row ``INSERT ... VALUES`` on SQLite and PostgreSQL). Child rows have no audit or
outbox rows of their own: the parent write's single audit row and event cover them, as
before.

Rows that cannot be checked independently of each other fall back to the one-row path:
a child entity with unique fields (each row must see the rows inserted before it), a
workflow, or child lists of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.core.errors import ValidationError
from jimu.platform.actor import Actor
from jimu.platform.specs import EntitySpec
from jimu.runtime.apps import AppRuntime
from jimu.runtime.records.autonumber import next_numbers
from jimu.runtime.records.codec import columns_for, row_to_record
from jimu.runtime.records.computed import apply_defaults, compute_formulas, expression_env, run_validations
from jimu.runtime.records.integrity import required
from jimu.runtime.records.validate import check_input

if TYPE_CHECKING:
    from jimu.runtime.records.service import RecordService

__all__ = ["bulk_ready", "insert_children"]


def bulk_ready(rt: AppRuntime, child: EntitySpec) -> bool:
    """Whether ``child``'s new rows can be checked independently and inserted in one go."""
    return not (rt.workflow_for(child.name) is not None
                or any(f.unique or f.type == "child_table" for f in child.active_fields))


def insert_children(svc: RecordService, c: Connection, rt: AppRuntime, child: EntitySpec, parent_id: int,
                    rows: Sequence[tuple[int, Mapping[str, Any]]], actor: Actor, *, prefix: str,
                    returning: bool, prepared: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Insert the new rows ``(idx, data)`` of one child list of parent ``parent_id``,
    whose links the caller already checked (``_prepare_children``). The first invalid row
    raises the same ValidationError a one-row insert would, before anything is written.
    ``prepared``: the rows' values as ``_prepare_children`` left them (coerced, defaults,
    required, formulas; its errors already raised), so only the validation rules remain.
    Returns the stored records in order when ``returning`` (child rows as
    ``_by_id`` reads them, ``_parent_id`` removed), else []."""
    if not rows:
        return []
    if not bulk_ready(rt, child):
        out = []
        for idx, data in rows:
            _rid, rec = svc._insert_stored(c, rt, child, data, actor, parent_id=parent_id, idx=idx,
                                           prefix=f"{prefix}[{idx}].", links_checked=True)
            if returning:
                assert rec is not None
                rec.pop("_parent_id", None)
                out.append(rec)
        return out
    env = expression_env(svc, c, rt, actor)
    checked: list[dict[str, Any]] = []
    for n, (idx, data) in enumerate(rows):
        p = f"{prefix}[{idx}]."
        if prepared is not None:
            values = dict(prepared[n])
        else:
            values, _children, errors = check_input(child, data, creating=True, prefix=p)
            apply_defaults(rt, child, values, env)
            required(child, values, errors, p)
            if errors:
                raise ValidationError(f"{child.name} has invalid fields", errors=errors)
            compute_formulas(rt, child, values, env)
        errs = run_validations(rt, child, values, env, p)
        if errs:
            raise ValidationError(f"{child.name} has invalid fields", errors=errs)
        checked.append(values)
    for f in child.active_fields:  # one counter bump per field, numbers in row order
        if f.type == "auto_number":
            numbers = next_numbers(c, rt.name, child.name, f.name, str(f.options.get("pattern")), len(checked))
            for values, number in zip(checked, numbers, strict=True):
                values[f.name] = number
    at = now()
    stored = [f for f in child.active_fields if f.stored]
    params = []
    for (idx, _data), values in zip(rows, checked, strict=True):
        cols = columns_for(child, {f.name: values.get(f.name) for f in stored})
        cols.update(version=1, created_at=at, updated_at=at, created_by=actor.username, updated_by=actor.username,
                    _parent_id=parent_id, _idx=idx)
        params.append(cols)
    table = rt.tables(child.name)
    c.execute(rt.statement(("insert_many", child.name), lambda: table.insert()), params)
    if not returning:
        return []
    # Read back rather than RETURNING: SQLite answers RETURNING of a multi-row insert in no
    # set order, so SQLAlchemy would send the rows one by one again. The parent is new:
    # its rows are exactly these, in list order.
    stmt = rt.statement(("children_of_one", child.name), lambda: sa.select(table).where(
        table.c._parent_id == sa.bindparam("_jimu_pid")).order_by(table.c._idx, table.c.id))
    out = []
    for row in c.execute(stmt, {"_jimu_pid": parent_id}).mappings():
        rec = row_to_record(child, cast(Mapping[str, Any], row))
        rec.pop("_parent_id", None)
        out.append(rec)
    return out

"""Backfilling a new column whose default is an expression (``$today``, ``qty * price``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.schema.columns import column_name
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.fields import FieldSpec

__all__ = ["backfill_expression_default"]


def backfill_expression_default(conn: Connection, table: sa.Table, app: AppSpec, entity: EntitySpec,
                                field: FieldSpec, batch_size: int = 5000) -> int:
    """Evaluate ``field.default`` for every existing row and store it; returns rows set.

    An expression that reads no field is evaluated once and written with one UPDATE."""
    from jimu.platform.expressions import Env, compile_expression
    from jimu.platform.values import coerce

    col = column_name(field)
    compiled = compile_expression(str(field.default), app, entity.name, purpose="default")
    env = Env()
    if not compiled.dependencies:
        value = coerce(field, compiled.evaluate({}, env))
        result = conn.execute(sa.update(table).values({col: value}))
        return int(result.rowcount or 0)
    names = {column_name(f): f.name for f in entity.fields if f.stored}
    updates: list[dict[str, Any]] = []
    for row in conn.execute(sa.select(table)).mappings():
        record = {names.get(k, k): v for k, v in row.items()}
        updates.append({"_id": row["id"], "_v": coerce(field, compiled.evaluate(record, env))})
    stmt = sa.update(table).where(table.c.id == sa.bindparam("_id")).values({col: sa.bindparam("_v")})
    for i in range(0, len(updates), batch_size):
        conn.execute(stmt, updates[i:i + batch_size])
    return len(updates)

"""Backfilling a new column whose default is an expression (``$today``, ``qty * price``),
or a new stored formula that reads only its own record (``ROUND(amount * fx_rate, 2)``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.schema.columns import column_name
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.fields import FieldSpec

__all__ = ["backfill_expression_default", "backfill_formula", "local_formula"]


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


def local_formula(entity: EntitySpec, compiled: Any) -> bool:
    """Whether a compiled formula reads only plain fields of its own record: no link
    traversal, no child table (those need the record service's lookups and child rows)."""
    if any("." in p for p in compiled.paths):
        return False
    for name in compiled.dependencies:
        f = entity.field(name)
        if f is None or not f.stored:
            return False
    return True


def _formula_value(field: FieldSpec, value: Any) -> Any:
    """A formula result in its declared type, rounded half-up to its scale (what the record
    service stores on a write)."""
    from decimal import Decimal

    from jimu.core.money import quantize
    from jimu.platform.values import coerce

    if value is None:
        return None
    kind = field.value_type
    if kind in ("decimal", "money", "percent"):
        return quantize(Decimal(str(value)), int(field.options.get("scale", 4 if kind == "decimal" else 2)))
    if kind == "integer" and isinstance(value, Decimal):
        value = int(value)
    if kind in ("text", "long_text") and not isinstance(value, str):
        value = str(value)
    return coerce(field.model_copy(update={"type": kind}), value)


def backfill_formula(conn: Connection, table: sa.Table, app: AppSpec, entity: EntitySpec, field: FieldSpec,
                     batch_size: int = 5000) -> int:
    """Compute a newly added stored formula for every existing row and store it; returns
    rows set. Only a formula reading its own record's fields (:func:`local_formula`) is
    computed here; any other keeps NULL until its record is next written. A row whose
    formula fails (a division by zero) gets NULL, as on a write."""
    from jimu.core.errors import ExpressionError
    from jimu.platform.expressions import Env, compile_expression

    compiled = compile_expression(str(field.expression), app, entity.name, purpose="formula")
    if not local_formula(entity, compiled):
        return 0
    col = column_name(field)
    # Only the columns it reads: others added by the same publish may not exist yet.
    reads = [f for f in (entity.field(n) for n in sorted(compiled.dependencies)) if f is not None]
    env = Env()
    updates: list[dict[str, Any]] = []
    for row in conn.execute(sa.select(table.c.id, *(table.c[column_name(f)] for f in reads))):
        record = {f.name: v for f, v in zip(reads, row[1:], strict=True)}
        try:
            value = _formula_value(field, compiled.evaluate(record, env))
        except (ExpressionError, ValueError, TypeError, ArithmeticError):
            value = None
        if value is not None:
            updates.append({"_id": row[0], "_v": value})
    stmt = sa.update(table).where(table.c.id == sa.bindparam("_id")).values({col: sa.bindparam("_v")})
    for i in range(0, len(updates), batch_size):
        conn.execute(stmt, updates[i:i + batch_size])
    return len(updates)

"""Many rows of a few columns out of one query as plain tuples, each column's result
processor run once per distinct value.

Why: reading tens of thousands of rows of a run's lines (a net change reads the planned
orders of every parent it keeps) spent most of its time in SQLAlchemy's per-value type
processing (a decimal quantized, a date parsed, for every row). Quantities and dates
repeat across rows; here each column's own result processor (the one SQLAlchemy would
call, so the values are identical) runs once per distinct raw value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["select_tuples"]


def _column(values: tuple[Any, ...], proc: Callable[[Any], Any]) -> list[Any]:
    """``proc`` of each value, computed once per distinct value (then a C-level map of
    dict lookups); unhashable values one by one."""
    try:
        done = {v: (None if v is None else proc(v)) for v in set(values)}
    except TypeError:
        return [None if v is None else proc(v) for v in values]
    return list(map(done.__getitem__, values))


def select_tuples(conn: Connection, stmt: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``stmt`` (a select of columns) as tuples of Python values, as
    ``conn.execute(stmt)`` would give them."""
    dialect = conn.dialect
    cols = list(stmt.selected_columns)
    raw = stmt.with_only_columns(*(sa.type_coerce(c, sa.types.NullType()) for c in cols))
    result = conn.execute(raw)
    # the driver's type code of each column: what SQLAlchemy hands its result processors
    codes = [d[1] for d in result.cursor.description] if result.cursor is not None else [None] * len(cols)
    procs: list[Callable[[Any], Any] | None] = []
    for c, code in zip(cols, codes, strict=True):
        procs.append(c.type.dialect_impl(dialect).result_processor(dialect, code))
    cursor = result.cursor  # the driver's tuples as they are: no Row objects
    rows = cursor.fetchall() if cursor is not None else [tuple(r) for r in result]
    result.close()
    if not rows or all(p is None for p in procs):
        return [tuple(r) for r in rows]  # psycopg's rows are tuples already, SQLite's too
    columns: list[Any] = list(zip(*rows, strict=True))
    for i, p in enumerate(procs):
        if p is not None:
            columns[i] = _column(columns[i], p)
    return list(zip(*columns, strict=True))

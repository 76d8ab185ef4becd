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


def _memo(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    seen: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        if value is None:
            return None
        try:
            return seen[value]
        except KeyError:
            out = seen[value] = proc(value)
            return out
        except TypeError:  # unhashable raw value
            return proc(value)

    return run


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
        proc = c.type.dialect_impl(dialect).result_processor(dialect, code)
        procs.append(_memo(proc) if proc is not None else None)
    rows = result.all()
    todo = [(i, p) for i, p in enumerate(procs) if p is not None]
    if not todo:
        return [tuple(r) for r in rows]
    out: list[tuple[Any, ...]] = []
    append = out.append
    for r in rows:
        values = list(r)
        for i, p in todo:
            values[i] = p(values[i])
        append(tuple(values))
    return out

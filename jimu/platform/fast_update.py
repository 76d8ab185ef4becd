"""Many rows of one table updated by id through the driver: one ``UPDATE ... FROM
unnest(arrays)`` on PostgreSQL, one ``executemany`` of plain tuples on SQLite.

Why: a net change of an MRP run rewrites a few thousand planned orders whose quantity,
dates or pegging moved. Deleting them and inserting new rows touched every index of the
table twice per row (seven on ``mrp_line``); an update in place of the same row leaves the
indexes of columns it does not change alone on SQLite (on PostgreSQL the row gets a new
version either way, but the delete goes). SQLAlchemy's executemany would build and process
a parameter dict per row; here the values go column by column through each column's own
bind processor, once per distinct value (as :mod:`jimu.platform.fast_insert` binds them),
so the stored text of a decimal or date is the one an insert would store.

The caller's connection and transaction are used as they are; no events or checks run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.fast_insert import _processed_column, _processors
from jimu.platform.pgtail import flush

__all__ = ["bound_columns", "update_rows"]


def bound_columns(conn: Connection, table: sa.Table, columns: Sequence[str],
                  rows: Sequence[tuple[Any, ...]]) -> list[Sequence[Any]]:
    """``rows`` (tuples in ``columns`` order) as one sequence per column, each value bound
    as the column's type binds it (its processor run once per distinct value)."""
    procs = _processors(conn, table, columns)
    cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return [c if p is None else _processed_column(c, p) for c, p in zip(cols, procs, strict=True)]


def update_rows(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
                constants: Mapping[str, Any] | None = None, bump_version: bool = True) -> int:
    """Set ``columns`` of each row ``(id, *values)`` of ``table`` to its values, and the
    ``constants`` (column -> value: timestamps, the user, None for columns to clear) on
    every one of them; ``version`` goes up by one when ``bump_version``. Returns how many
    rows were given (each id must exist: the caller read them in this transaction)."""
    if not rows:
        return 0
    fixed = dict(constants or {})
    names = [*columns, *fixed]
    values = bound_columns(conn, table, ["id", *names], [(*row, *fixed.values()) for row in rows])
    prep = conn.dialect.identifier_preparer
    name = prep.format_table(table)
    flush(conn)  # a statement deferred to the commit goes first (pgtail)
    raw = conn.connection.driver_connection
    assert raw is not None
    bump = f", {prep.quote('version')} = {prep.quote('version')} + 1" if bump_version else ""
    if conn.dialect.name == "postgresql":
        types = [_pg_array_type(table.c[c], conn.dialect) for c in ["id", *names]]
        arrays = ", ".join(f"CAST(%(c{i})s AS {t}[])" for i, t in enumerate(types))
        alias = ", ".join(f"c{i}" for i in range(len(types)))
        sets = ", ".join(f"{prep.quote(c)} = v.c{i + 1}" for i, c in enumerate(names))
        sql = f"UPDATE {name} SET {sets}{bump} FROM unnest({arrays}) AS v({alias}) WHERE {name}.id = v.c0"
        with raw.cursor() as cur:
            # planned for these arrays, never a cached generic plan (see rawsql.execute_planned)
            cur.execute(sql, {f"c{i}": list(col) for i, col in enumerate(values)}, prepare=False)
        return len(rows)
    sets = ", ".join(f"{prep.quote(c)} = ?" for c in names)
    cur = raw.cursor()
    try:
        cur.executemany(f"UPDATE {name} SET {sets}{bump} WHERE id = ?", zip(*values[1:], values[0], strict=True))
    finally:
        cur.close()
    return len(rows)


def _pg_array_type(column: sa.Column[Any], dialect: sa.Dialect) -> str:
    """The element type of a column's array parameter: its own type, but strings as
    ``TEXT`` (an explicit cast to ``VARCHAR(n)`` would cut a longer value silently where
    the assignment to the column refuses it, as an insert does)."""
    if isinstance(column.type, sa.String):
        return "TEXT"
    return str(column.type.compile(dialect=dialect))

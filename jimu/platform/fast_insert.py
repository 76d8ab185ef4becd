"""Many rows into one table through the driver: ``COPY`` on PostgreSQL, one ``executemany``
of plain tuples on SQLite.

Why: SQLAlchemy's executemany builds a parameter dict per row and runs every value
through its type's processor; for hundreds of thousands of system-generated rows (an MRP
run's planned orders) that was most of the write. Here each column's own bind processor
(the same one SQLAlchemy would call, so the stored text of a decimal, date or timestamp is
identical) runs once per distinct value, and rows stay tuples.

The rows must already be valid for the table (no defaults, checks or events run); the
caller's connection and transaction are used as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["insert_rows"]


def _memo(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` computed once per distinct value (dates, quantities and constants repeat
    across rows); unhashable values go straight through ``proc``."""
    seen: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        if value is None:
            return None
        try:
            return seen[value]
        except KeyError:
            out = seen[value] = proc(value)
            return out
        except TypeError:
            return proc(value)

    return run


def _processors(conn: Connection, table: sa.Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    dialect = conn.dialect
    out: list[Callable[[Any], Any] | None] = []
    for name in columns:
        typ = table.c[name].type
        proc = typ.dialect_impl(dialect).bind_processor(dialect)
        out.append(_memo(proc) if proc is not None else None)
    return out


def _processed(rows: Iterable[Sequence[Any]], procs: list[Callable[[Any], Any] | None]) -> Iterator[tuple[Any, ...]]:
    todo = [(i, p) for i, p in enumerate(procs) if p is not None]
    for row in rows:
        if todo:
            values = list(row)
            for i, p in todo:
                values[i] = p(values[i])
            yield tuple(values)
        else:
            yield tuple(row)


def insert_rows(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (sequences in ``columns`` order) into ``table`` within ``conn``'s
    transaction; returns how many."""
    procs = _processors(conn, table, columns)
    prep = conn.dialect.identifier_preparer
    name = prep.format_table(table)
    cols = ", ".join(prep.quote(c) for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    count = 0
    if conn.dialect.name not in ("postgresql", "sqlite"):  # not used by Jimu: the plain path
        keyed = [dict(zip(columns, values, strict=True)) for values in rows]
        if keyed:
            conn.execute(table.insert(), keyed)
        return len(keyed)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
            for values in _processed(rows, procs):
                copy.write_row(values)
                count += 1
        return count

    def counted() -> Iterator[tuple[Any, ...]]:
        nonlocal count
        for values in _processed(rows, procs):
            count += 1
            yield values

    cur = raw.cursor()
    try:
        cur.executemany(f"INSERT INTO {name} ({cols}) VALUES ({', '.join('?' for _ in columns)})", counted())
    finally:
        cur.close()
    return count

"""Auto-number fields (``SO-{YYYY}{MM}-{####}``): gapless under concurrency.

The counter row is incremented inside the record's write transaction, so a rolled-back
create does not consume a number, and concurrent writers serialise on the counter row
(SQLite: the database write lock; PostgreSQL: the row lock of the UPDATE)."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.platform.store.tables import counters

__all__ = ["next_number", "next_numbers", "render_pattern", "period_key"]

TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|#+)\}")


def period_key(pattern: str, at: datetime) -> str:
    """The counter period: the date parts the pattern contains (a new month restarts)."""
    parts = []
    for tok in TOKEN.findall(pattern):
        if tok == "YYYY" or tok == "YY":
            parts.append(f"{at.year:04d}")
        elif tok == "MM":
            parts.append(f"{at.month:02d}")
        elif tok == "DD":
            parts.append(f"{at.day:02d}")
    return "".join(parts) or "-"


def render_pattern(pattern: str, at: datetime, value: int) -> str:
    def repl(m: re.Match[str]) -> str:
        tok = m.group(1)
        if tok == "YYYY":
            return f"{at.year:04d}"
        if tok == "YY":
            return f"{at.year % 100:02d}"
        if tok == "MM":
            return f"{at.month:02d}"
        if tok == "DD":
            return f"{at.day:02d}"
        return str(value).zfill(len(tok))

    return TOKEN.sub(repl, pattern)


def next_number(conn: Connection, app: str, entity: str, field: str, pattern: str) -> str:
    """The next number for ``pattern`` in the caller's transaction."""
    return next_numbers(conn, app, entity, field, pattern, 1)[0]


def next_numbers(conn: Connection, app: str, entity: str, field: str, pattern: str, count: int, *,
                 at: datetime | None = None) -> list[str]:
    """The next ``count`` numbers for ``pattern`` in the caller's transaction: one counter
    UPDATE for the whole block (bulk inserts), still gapless and rolled back with it.
    ``at`` (default now) picks the period: generated history numbers its past documents
    in the month they belong to."""
    if count <= 0:
        return []
    at = at or now()
    period = period_key(pattern, at)
    key = {"_app": app, "_entity": entity, "_field": field, "_period": period, "_n": count}
    value = conn.execute(_BUMP, key).scalar()
    if value is None:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(counters).values(app=app, entity=entity, field=field, period=period, value=0)
                         .on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            conn.execute(sqlite_insert(counters).values(app=app, entity=entity, field=field, period=period, value=0)
                         .on_conflict_do_nothing())
        value = conn.execute(_BUMP, key).scalar_one()
    last = int(value)
    return [render_pattern(pattern, at, v) for v in range(last - count + 1, last + 1)]


# Built once (runs on every numbered insert): the counter row bumped and read in one
# statement; the row lock (PostgreSQL) / write lock (SQLite) serialises writers.
_BUMP = (sa.update(counters)
         .where(counters.c.app == sa.bindparam("_app"), counters.c.entity == sa.bindparam("_entity"),
                counters.c.field == sa.bindparam("_field"), counters.c.period == sa.bindparam("_period"))
         .values(value=counters.c.value + sa.bindparam("_n", type_=sa.Integer))
         .returning(counters.c.value))

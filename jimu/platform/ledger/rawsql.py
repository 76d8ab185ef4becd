"""Driver-level SQL for the ledger's hot path (guarded update, single-row inserts).

Profiling a one-line reservation showed most of its time outside the database: building
and compiling Core constructs, per-call parameter processing and result set-up, and on
PostgreSQL one network round trip per statement. This module keeps the same statements
as plain SQL text, built once per (dialect, shape) and run on the transaction's own DBAPI
cursor, so they stay inside the caller's transaction (``Database.write()``) and savepoints.

The bound values are converted here exactly as the column types would (``TZDateTime`` as
a naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` text on SQLite, ``JSON`` through
``json.dumps``), so rows written here read back the same as rows written through Core.

On PostgreSQL :func:`reserve_one` does a whole one-line reservation (guarded update,
reservation row, movement row) in one statement with data-modifying CTEs; on SQLite the
three statements run back to back on one cursor (no network in between).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from jimu.platform.ledger.tables import BUCKETS

__all__ = [
    "MOVE_COLS", "RES_COLS", "cursor", "guarded_update", "insert_movement", "insert_reservation",
    "reserve_one", "ts",
]

MOVE_COLS: tuple[str, ...] = (
    "at", "user", "app", "ledger", "key", "dims", "kind", *(f"d_{b}" for b in BUCKETS), "unit_cost",
    "doc_entity", "doc_id", "doc_line", "transition", "reason", "reservation_id",
)
RES_COLS: tuple[str, ...] = (
    "app", "ledger", "key", "dims", "qty", "open_qty", "state", "doc_entity", "doc_id", "doc_line",
    "created_at", "created_by", "expires_at",
)
# PostgreSQL types of the columns, for explicit casts in INSERT ... SELECT (psycopg sends
# untyped or differently typed parameters there; casting keeps the plan stable).
_PG_TYPES: dict[str, str] = {
    "at": "timestamptz", "created_at": "timestamptz", "expires_at": "timestamptz", "dims": "json",
    "qty": "bigint", "open_qty": "bigint", "unit_cost": "bigint", "reservation_id": "bigint",
    **{f"d_{b}": "bigint" for b in BUCKETS},
}

_sql_cache: dict[tuple[Any, ...], str] = {}


def cursor(conn: Connection) -> Any:
    """A DBAPI cursor on the connection of ``conn``'s current transaction."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _p(dialect: str, name: str, cast: bool = False) -> str:
    if dialect == "sqlite":
        return f":{name}"
    if cast:
        return f"CAST(%({name})s AS {_PG_TYPES.get(name, 'text')})"
    return f"%({name})s" if name != "dims" else f"CAST(%({name})s AS json)"


def _cols(cols: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in cols)


def ts(dialect: str, value: datetime | None) -> Any:
    """A timestamp as ``TZDateTime`` binds it."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if dialect == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def dumps(value: Mapping[str, Any]) -> str:
    """A JSON column value as Core's default serializer writes it."""
    return json.dumps(dict(value))


def _guard_sql(dialect: str, pattern: tuple[tuple[str, int], ...], allow_negative: bool) -> tuple[str, str]:
    """(SET clause, WHERE clause) of the guarded update for a pattern of changed buckets."""
    signs = dict(pattern)
    conds = [f'app = {_p(dialect, "a")}', f'ledger = {_p(dialect, "l")}', f'"key" = {_p(dialect, "k")}']
    for b, sign in pattern:
        if sign < 0 and not (allow_negative and b == "on_hand"):
            conds.append(f"{b} + {_p(dialect, 'x_' + b)} >= 0")
    if not allow_negative and (signs.get("on_hand", 0) < 0 or signs.get("reserved", 0) > 0):
        oh = f"(on_hand + {_p(dialect, 'x_on_hand')})" if "on_hand" in signs else "on_hand"
        rs = f"(reserved + {_p(dialect, 'x_reserved')})" if "reserved" in signs else "reserved"
        conds.append(f"{oh} - {rs} >= 0")
    sets = ", ".join(f"{b} = {b} + {_p(dialect, 'x_' + b)}" for b, _ in pattern)
    return sets, " AND ".join(conds)


def _pattern(changes: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((b, (d > 0) - (d < 0)) for b, d in changes.items() if d))


def guarded_update(conn: Connection, app: str, ledger: str, key: str, changes: Mapping[str, int],
                   allow_negative: bool) -> bool:
    """``UPDATE balance SET b = b + :x ... WHERE <row> AND <no bucket below zero>``; True
    when the row was there and the guard held (one row updated)."""
    dialect = conn.dialect.name
    pattern = _pattern(changes)
    ck = ("upd", dialect, pattern, allow_negative)
    sql = _sql_cache.get(ck)
    if sql is None:
        sets, where = _guard_sql(dialect, pattern, allow_negative)
        sql = _sql_cache[ck] = f"UPDATE jimu_ledger_balance SET {sets} WHERE {where}"
    params: dict[str, Any] = {"a": app, "l": ledger, "k": key}
    for b, d in changes.items():
        if d:
            params[f"x_{b}"] = d
    cur = cursor(conn)
    try:
        cur.execute(sql, params)
        return bool(cur.rowcount == 1)
    finally:
        cur.close()


def _insert_sql(dialect: str, table: str, cols: tuple[str, ...]) -> str:
    ck = ("ins", dialect, table)
    sql = _sql_cache.get(ck)
    if sql is None:
        values = ", ".join(_p(dialect, c) for c in cols)
        sql = f"INSERT INTO {table} ({_cols(cols)}) VALUES ({values})"
        if dialect != "sqlite":
            sql += " RETURNING id"
        _sql_cache[ck] = sql
    return sql


def _insert(conn: Connection, table: str, cols: tuple[str, ...], row: Mapping[str, Any]) -> int:
    dialect = conn.dialect.name
    cur = cursor(conn)
    try:
        cur.execute(_insert_sql(dialect, table, cols), row)
        if dialect == "sqlite":
            return int(cur.lastrowid)
        return int(cur.fetchone()[0])
    finally:
        cur.close()


def _bind_movement(dialect: str, row: Mapping[str, Any]) -> dict[str, Any]:
    out = {c: row.get(c) for c in MOVE_COLS}
    out["at"] = ts(dialect, row["at"])
    out["dims"] = dumps(row["dims"])
    return out


def insert_movement(conn: Connection, row: Mapping[str, Any]) -> int:
    """Insert one movement row (a dict of :data:`MOVE_COLS`, Python values); its id."""
    return _insert(conn, "jimu_ledger_movement", MOVE_COLS, _bind_movement(conn.dialect.name, row))


def insert_reservation(conn: Connection, row: Mapping[str, Any]) -> int:
    """Insert one reservation row (a dict of :data:`RES_COLS`, Python values); its id."""
    dialect = conn.dialect.name
    out = {c: row.get(c) for c in RES_COLS}
    for c in ("created_at", "expires_at"):
        out[c] = ts(dialect, row.get(c))
    out["dims"] = dumps(row["dims"])
    return _insert(conn, "jimu_ledger_reservation", RES_COLS, out)


def _reserve_cte_sql(allow_negative: bool) -> str:
    """PostgreSQL: guarded +reserved, the reservation and its movement in one statement."""
    ck = ("reserve", "postgresql", allow_negative)
    sql = _sql_cache.get(ck)
    if sql is not None:
        return sql
    sets, where = _guard_sql("postgresql", (("reserved", 1),), allow_negative)
    res_vals = ", ".join(
        {"qty": "CAST(%(x_reserved)s AS bigint)", "open_qty": "CAST(%(x_reserved)s AS bigint)", "state": "'active'",
         "created_at": _p("postgresql", "at", True), "created_by": "CAST(%(user)s AS text)"}.get(c)
        or _p("postgresql", c, True)
        for c in RES_COLS
    )
    move_vals = ", ".join(
        {"d_reserved": "CAST(%(x_reserved)s AS bigint)", "reservation_id": "r.id", "kind": "'reserve'",
         "unit_cost": "NULL::bigint"}.get(c)
        or ("0::bigint" if c.startswith("d_") else _p("postgresql", c, True))
        for c in MOVE_COLS
    )
    sql = (
        f"WITH u AS (UPDATE jimu_ledger_balance SET {sets} WHERE {where} RETURNING 1), "
        f"r AS (INSERT INTO jimu_ledger_reservation ({_cols(RES_COLS)}) SELECT {res_vals} FROM u RETURNING id) "
        f"INSERT INTO jimu_ledger_movement ({_cols(MOVE_COLS)}) SELECT {move_vals} FROM r "
        f"RETURNING reservation_id, id"
    )
    _sql_cache[ck] = sql
    return sql


def reserve_one(conn: Connection, app: str, ledger: str, key: str, dims: Mapping[str, Any], units: int,
                *, allow_negative: bool, doc: Mapping[str, Any], transition: str | None, reason: str | None,
                user: str | None, at: datetime, expires_at: datetime | None) -> tuple[int, int] | None:
    """The common case of a reservation, in the fewest round trips: guarded ``+reserved``
    on an existing balance row, the reservation row and the ``reserve`` movement row.
    Returns (reservation id, movement id), or None (nothing written) when the guard failed
    or the balance row is missing; the caller then takes the general path."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        params = {"a": app, "l": ledger, "k": key, "x_reserved": units, "app": app, "ledger": ledger,
                  "key": key, "dims": dumps(dims), "at": ts(dialect, at), "user": user,
                  "expires_at": ts(dialect, expires_at), "transition": transition, "reason": reason, **doc}
        cur = cursor(conn)
        try:
            cur.execute(_reserve_cte_sql(allow_negative), params)
            row = cur.fetchone()
        finally:
            cur.close()
        return None if row is None else (int(row[0]), int(row[1]))
    # SQLite: three statements on one cursor, values converted once.
    sets, where = _guard_sql(dialect, (("reserved", 1),), allow_negative)
    upd = _sql_cache.get(("upd", dialect, (("reserved", 1),), allow_negative))
    if upd is None:
        upd = _sql_cache[("upd", dialect, (("reserved", 1),), allow_negative)] = (
            f"UPDATE jimu_ledger_balance SET {sets} WHERE {where}")
    at_text, dims_text = ts(dialect, at), dumps(dims)
    cur = cursor(conn)
    try:
        cur.execute(upd, {"a": app, "l": ledger, "k": key, "x_reserved": units})
        if cur.rowcount != 1:
            return None
        cur.execute(_insert_sql(dialect, "jimu_ledger_reservation", RES_COLS), {
            "app": app, "ledger": ledger, "key": key, "dims": dims_text, "qty": units, "open_qty": units,
            "state": "active", "created_at": at_text, "created_by": user, "expires_at": ts(dialect, expires_at), **doc})
        rid = int(cur.lastrowid)
        cur.execute(_insert_sql(dialect, "jimu_ledger_movement", MOVE_COLS), {
            "at": at_text, "user": user, "app": app, "ledger": ledger, "key": key, "dims": dims_text,
            "kind": "reserve", **{f"d_{b}": 0 for b in BUCKETS}, "d_reserved": units, "unit_cost": None,
            "reason": reason, "reservation_id": rid, "transition": transition, **doc})
        return rid, int(cur.lastrowid)
    finally:
        cur.close()

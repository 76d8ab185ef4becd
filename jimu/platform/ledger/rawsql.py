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
three statements (SQLite has no DML in CTEs) are constant text with numbered positional
parameters, run back to back on one cursor.

What is left on SQLite is mostly the database's own work: a reservation's commit writes
about 6.5 WAL frames (balance; reservation and its document index; movement and its key
and document indexes) where a bare guarded UPDATE writes 1, and the WAL auto-checkpoint
(with its fsyncs) comes every 1000 frames, so about six times as often per commit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from jimu.platform.ledger.tables import BUCKETS
from jimu.platform.pgtail import flush

__all__ = [
    "MOVE_COLS", "RES_COLS", "cursor", "guarded_update", "insert_movement", "insert_movements",
    "insert_reservation", "insert_rows", "reserve_one", "ts",
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
    "value": "bigint", "avg_cost": "bigint",
    **{f"d_{b}": "bigint" for b in BUCKETS},
}

_sql_cache: dict[tuple[Any, ...], str] = {}
_reserve_sqlite_cache: dict[tuple[Any, ...], tuple[str, str, str]] = {}


def cursor(conn: Connection) -> Any:
    """A DBAPI cursor on the connection of ``conn``'s current transaction."""
    flush(conn)  # a statement deferred to the commit goes first (pgtail)
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def execute_planned(cur: Any, sql: str, params: Any) -> None:
    """Execute a statement that joins a table to parameter arrays (``unnest``) with a plan
    made for these arrays, never a cached generic one. psycopg prepares a statement on the
    server after its 5th execution; PostgreSQL then reuses a generic plan, which assumes
    about 10 array elements. After a run of one-line postings (1,000 single adjustments)
    that plan - a nested loop over every row of the ledger - met a 5,000-line stocktake
    post and took 19 s instead of 50 ms. ``prepare=False`` plans each execution."""
    if _is_psycopg(cur):
        cur.execute(sql, params, prepare=False)
    else:
        cur.execute(sql, params)


def _is_psycopg(cur: Any) -> bool:
    return type(cur).__module__.startswith("psycopg")


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
        return ts_sqlite(value)
    return value


def ts_sqlite(value: datetime) -> str:
    """A timestamp as ``TZDateTime`` stores it on SQLite: naive UTC text with microseconds
    (``YYYY-MM-DD HH:MM:SS.ffffff``, the year zero-padded as SQLAlchemy writes it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def dumps(value: Mapping[str, Any]) -> str:
    """A JSON column value as Core's default serializer writes it."""
    return json.dumps(dict(value))


def _guard_sql(dialect: str, pattern: tuple[tuple[str, int], ...], allow_negative: bool,
               placeholders: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(SET clause, WHERE clause) of the guarded update for a pattern of changed buckets;
    ``placeholders`` replaces the named parameters (``a``, ``l``, ``k``, ``x_<bucket>``)."""
    def p(name: str) -> str:
        return placeholders[name] if placeholders is not None else _p(dialect, name)

    signs = dict(pattern)
    conds = [f'app = {p("a")}', f'ledger = {p("l")}', f'"key" = {p("k")}']
    for b, sign in pattern:
        if sign < 0 and not (allow_negative and b == "on_hand"):
            conds.append(f"{b} + {p('x_' + b)} >= 0")
    if not allow_negative and (signs.get("on_hand", 0) < 0 or signs.get("reserved", 0) > 0):
        oh = f"(on_hand + {p('x_on_hand')})" if "on_hand" in signs else "on_hand"
        rs = f"(reserved + {p('x_reserved')})" if "reserved" in signs else "reserved"
        conds.append(f"{oh} - {rs} >= 0")
    sets = ", ".join(f"{b} = {b} + {p('x_' + b)}" for b, _ in pattern)
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


# SQLite reserve: one positional tuple per statement, numbered so the three share values:
# ?1 app, ?2 ledger, ?3 key, ?4 units, ?5 dims, ?6-?8 doc entity/id/line, ?9 at, ?10 user,
# then ?11 expires_at (reservation) or ?11 transition, ?12 reason, ?13 reservation id (movement).
_SQLITE_RES_VALUES: dict[str, str] = {
    "app": "?1", "ledger": "?2", "key": "?3", "dims": "?5", "qty": "?4", "open_qty": "?4", "state": "'active'",
    "doc_entity": "?6", "doc_id": "?7", "doc_line": "?8", "created_at": "?9", "created_by": "?10",
    "expires_at": "?11",
}
_SQLITE_MOVE_VALUES: dict[str, str] = {
    "at": "?9", "user": "?10", "app": "?1", "ledger": "?2", "key": "?3", "dims": "?5", "kind": "'reserve'",
    **{f"d_{b}": "0" for b in BUCKETS}, "d_reserved": "?4", "unit_cost": "NULL", "doc_entity": "?6",
    "doc_id": "?7", "doc_line": "?8", "transition": "?11", "reason": "?12", "reservation_id": "?13",
}


def _sqlite_reserve_sql(allow_negative: bool) -> tuple[str, str, str]:
    """SQLite: (guarded +reserved, reservation insert, movement insert), built once."""
    ck = ("reserve", "sqlite", allow_negative)
    cached = _reserve_sqlite_cache.get(ck)
    if cached is not None:
        return cached
    sets, where = _guard_sql("sqlite", (("reserved", 1),), allow_negative,
                             {"a": "?1", "l": "?2", "k": "?3", "x_reserved": "?4"})
    out = (
        f"UPDATE jimu_ledger_balance SET {sets} WHERE {where}",
        f"INSERT INTO jimu_ledger_reservation ({_cols(RES_COLS)}) "
        f"VALUES ({', '.join(_SQLITE_RES_VALUES[c] for c in RES_COLS)})",
        f"INSERT INTO jimu_ledger_movement ({_cols(MOVE_COLS)}) "
        f"VALUES ({', '.join(_SQLITE_MOVE_VALUES[c] for c in MOVE_COLS)})",
    )
    _reserve_sqlite_cache[ck] = out
    return out


def reserve_one(conn: Connection, app: str, ledger: str, key: str, dims_json: str, units: int,
                *, allow_negative: bool, doc: Mapping[str, Any], transition: str | None, reason: str | None,
                user: str | None, at: datetime, expires_at: datetime | None) -> tuple[int, int] | None:
    """The common case of a reservation, in the fewest round trips: guarded ``+reserved``
    on an existing balance row, the reservation row and the ``reserve`` movement row
    (``dims_json``: the dimensions as the JSON column text, see ``Ledger.key_texts``).
    Returns (reservation id, movement id), or None (nothing written) when the guard failed
    or the balance row is missing; the caller then takes the general path."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        params = {"a": app, "l": ledger, "k": key, "x_reserved": units, "app": app, "ledger": ledger,
                  "key": key, "dims": dims_json, "at": ts(dialect, at), "user": user,
                  "expires_at": ts(dialect, expires_at), "transition": transition, "reason": reason, **doc}
        cur = cursor(conn)
        try:
            cur.execute(_reserve_cte_sql(allow_negative), params)
            row = cur.fetchone()
        finally:
            cur.close()
        return None if row is None else (int(row[0]), int(row[1]))
    # SQLite: three statements on one cursor with positional parameters (constants inlined).
    upd, ins_res, ins_move = _sqlite_reserve_sql(allow_negative)
    at_text = ts_sqlite(at)
    head = (app, ledger, key, units)
    vals = (*head, dims_json, doc.get("doc_entity"), doc.get("doc_id"), doc.get("doc_line"), at_text, user,
            None if expires_at is None else ts_sqlite(expires_at))
    cur = cursor(conn)
    try:
        cur.execute(upd, head)
        if cur.rowcount != 1:
            return None
        cur.execute(ins_res, vals)
        rid = cur.lastrowid
        cur.execute(ins_move, (*vals[:10], transition, reason, rid))
        return int(rid), int(cur.lastrowid)
    finally:
        cur.close()


#: Bound values per multi-row statement (SQLite allows 32,766, PostgreSQL 65,535).
_MAX_PARAMS = 30000


def insert_rows(conn: Connection, table: str, cols: tuple[str, ...], rows: Sequence[Sequence[Any]],
                *, returning_ids: bool = False) -> list[int]:
    """Insert ``rows`` (tuples in ``cols`` order, already bound: see :func:`ts`,
    :func:`dumps`) with one multi-row INSERT per chunk; with ``returning_ids`` their ids in
    row order. The rows of one statement take ascending ids in VALUES order (one statement
    inserts its rows in order, and the id sequence only grows), so the returned ids,
    sorted, are in row order whatever order RETURNING lists them in."""
    if not rows:
        return []
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return _insert_arrays(conn, table, cols, {c: [r[i] for r in rows] for i, c in enumerate(cols)},
                              returning_ids)
    chunk = max(1, _MAX_PARAMS // len(cols))
    ids: list[int] = []
    cur = cursor(conn)
    try:
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            cur.execute(_insert_rows_sql(dialect, table, cols, len(part), returning_ids),
                        [x for row in part for x in row])
            if returning_ids:
                ids += sorted(int(r[0]) for r in cur.fetchall())
    finally:
        cur.close()
    return ids


def _insert_rows_sql(dialect: str, table: str, cols: tuple[str, ...], n: int, returning: bool) -> str:
    ck = ("rows", dialect, table, cols, n, returning)
    sql = _sql_cache.get(ck)
    if sql is None:
        if dialect == "sqlite":
            one = "(" + ", ".join("?" for _ in cols) + ")"
        else:
            one = "(" + ", ".join("CAST(%s AS json)" if c == "dims" else "%s" for c in cols) + ")"
        sql = f"INSERT INTO {table} ({_cols(cols)}) VALUES {', '.join([one] * n)}"
        if returning:
            sql += " RETURNING id"
        if len(_sql_cache) > 512:
            _sql_cache.clear()
        _sql_cache[ck] = sql
    return sql


def insert_movements(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert movement rows (dicts of :data:`MOVE_COLS`, Python values) in multi-row
    statements; their ids in row order."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return _insert_movements_pg(conn, rows)
    bound = [_bind_movement(dialect, r) for r in rows]
    return insert_rows(conn, "jimu_ledger_movement", MOVE_COLS, [tuple(b[c] for c in MOVE_COLS) for b in bound],
                       returning_ids=True)


def _unnest_insert_sql(table: str, cols: tuple[str, ...], returning: bool) -> str:
    """PostgreSQL: INSERT of one array per column, rows in array order."""
    ck = ("unnest", table, cols, returning)
    sql = _sql_cache.get(ck)
    if sql is None:
        arrays = ", ".join(f"CAST(%({c})s AS {'text' if c == 'dims' else _PG_TYPES.get(c, 'text')}[])" for c in cols)
        names = ", ".join(f"c{i}" for i in range(len(cols)))
        select = ", ".join(f"CAST(v.c{i} AS json)" if c == "dims" else f"v.c{i}" for i, c in enumerate(cols))
        sql = (f"INSERT INTO {table} ({_cols(cols)}) SELECT {select} FROM unnest({arrays}) "
               f"WITH ORDINALITY AS v({names}, n) ORDER BY v.n")
        _sql_cache[ck] = sql = sql + (" RETURNING id" if returning else "")
    return sql


def _insert_arrays(conn: Connection, table: str, cols: tuple[str, ...], arrays: Mapping[str, list[Any]],
                   returning_ids: bool) -> list[int]:
    """PostgreSQL: one statement of constant text for any number of rows, the columns
    going as arrays (a VALUES list of 5,000 movements is 100,000 parameters to bind and
    parse); ids in row order when asked (see :func:`insert_rows`)."""
    cur = cursor(conn)
    try:
        cur.execute(_unnest_insert_sql(table, cols, returning_ids), arrays)
        return sorted(int(r[0]) for r in cur.fetchall()) if returning_ids else []
    finally:
        cur.close()


def _insert_movements_pg(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    params: dict[str, list[Any]] = {c: [r.get(c) for r in rows] for c in MOVE_COLS}
    params["at"] = [ts("postgresql", a) for a in params["at"]]
    params["dims"] = [dumps(d) for d in params["dims"]]
    return _insert_arrays(conn, "jimu_ledger_movement", MOVE_COLS, params, True)

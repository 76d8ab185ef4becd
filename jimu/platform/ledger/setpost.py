"""Set-based balance update of a posting that touches many balance rows.

A document of N lines used to cost N guarded UPDATEs (plus an INSERT and a second UPDATE
for every key without a balance row yet): on PostgreSQL one network round trip each, so a
5,000-line count's adjustment spent seconds waiting on the wire. Here the whole posting is
one ``INSERT ... ON CONFLICT (app, ledger, key) DO UPDATE SET b = b + change WHERE <guard>
RETURNING`` per chunk of keys:

- rows are visited in the order given (the caller sorts the keys), so every row is locked
  (an existing row by the conflict update, a new one by its insertion) in key order, as
  the per-row UPDATEs did: two multi-line documents never deadlock;
- the guard (no bucket below zero, available not below zero) is evaluated by the database
  on the row it locked, the latest committed version, exactly as the guarded UPDATE's WHERE
  was, so the no-oversell guarantee is unchanged;
- a row whose guard fails is locked but neither updated nor returned; a row that did not
  exist is inserted with the changes as its buckets and returned, and :func:`violates`
  judges it (from zero) in Python, the same condition as the SQL guard.

On PostgreSQL the keys go as arrays (``unnest ... WITH ORDINALITY ORDER BY``): one
statement with a constant text whatever the number of lines. On SQLite (in-process, no
round trips, writers serialized by the write transaction) it is the same upsert with a
VALUES list per chunk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from jimu.platform.ledger import rawsql
from jimu.platform.ledger.spec import Ledger
from jimu.platform.ledger.tables import BUCKETS

__all__ = ["upsert_changes", "violates"]

#: Keys per SQLite statement (about 12 parameters a key, under SQLite's 32,766).
_SQLITE_CHUNK = 1000
#: Keys per PostgreSQL statement (arrays, so only the statement's size limits it).
_PG_CHUNK = 10000
_sql_cache: dict[tuple[Any, ...], str] = {}


def violates(have: Mapping[str, int], change: Mapping[str, int], allow_negative: bool) -> bool:
    """Whether applying ``change`` to a balance row holding ``have`` breaks the guard of
    the guarded UPDATE (``rawsql.guarded_update``): a bucket that goes down must stay at
    or above zero (on_hand excepted when the ledger allows negative stock), and unless it
    does, available (on_hand - reserved) too when on_hand goes down or reserved up."""
    for b in BUCKETS:
        d = change.get(b, 0)
        if d < 0 and have.get(b, 0) + d < 0 and not (allow_negative and b == "on_hand"):
            return True
    if allow_negative:
        return False
    d_oh, d_rs = change.get("on_hand", 0), change.get("reserved", 0)
    if d_oh < 0 or d_rs > 0:
        return have.get("on_hand", 0) + d_oh - (have.get("reserved", 0) + d_rs) < 0
    return False


def _guard(allow_negative: bool) -> str:
    """The guard of :func:`violates` as the ON CONFLICT update's WHERE (``t`` the stored
    row, ``excluded`` the changes)."""
    conds = [f"(excluded.{b} >= 0 OR t.{b} + excluded.{b} >= 0)"
             for b in BUCKETS if not (allow_negative and b == "on_hand")]
    if not allow_negative:
        conds.append("((excluded.on_hand >= 0 AND excluded.reserved <= 0) OR "
                     "(t.on_hand + excluded.on_hand) - (t.reserved + excluded.reserved) >= 0)")
    return " AND ".join(conds)


def _tail(allow_negative: bool) -> str:
    sets = ", ".join(f"{b} = t.{b} + excluded.{b}" for b in BUCKETS)
    return (f" ON CONFLICT (app, ledger, \"key\") DO UPDATE SET {sets} WHERE {_guard(allow_negative)}"
            f" RETURNING \"key\", {', '.join(BUCKETS)}")


def _columns(ndims: int) -> list[str]:
    return ["app", "ledger", "key", "dims", *(f"d{i}" for i in range(1, ndims + 1)), *BUCKETS]


def _pg_sql(ndims: int, allow_negative: bool) -> str:
    ck = ("pg", ndims, allow_negative)
    sql = _sql_cache.get(ck)
    if sql is None:
        arrays = [("k", "text"), ("dims", "text"), *((f"d{i}", "text") for i in range(1, ndims + 1)),
                  *((b, "bigint") for b in BUCKETS)]
        unnest = ", ".join(f"CAST(%({n})s AS {t}[])" for n, t in arrays)
        names = ", ".join(n for n, _ in arrays)
        select = ", ".join(["CAST(%(a)s AS text)", "CAST(%(l)s AS text)", "v.k", "CAST(v.dims AS json)",
                            *(f"v.d{i}" for i in range(1, ndims + 1)), *(f"v.{b}" for b in BUCKETS)])
        cols = ", ".join(f'"{c}"' for c in _columns(ndims))
        sql = _sql_cache[ck] = (
            f"INSERT INTO jimu_ledger_balance AS t ({cols}) SELECT {select} "
            f"FROM unnest({unnest}) WITH ORDINALITY AS v({names}, n) ORDER BY v.n" + _tail(allow_negative))
    return sql


def _sqlite_sql(ndims: int, rows: int, allow_negative: bool) -> str:
    ck = ("sqlite", ndims, rows, allow_negative)
    sql = _sql_cache.get(ck)
    if sql is None:
        cols = _columns(ndims)
        one = "(" + ", ".join("?" for _ in cols) + ")"
        names = ", ".join(f'"{c}"' for c in cols)
        sql = (f"INSERT INTO jimu_ledger_balance AS t ({names}) "
               f"VALUES {', '.join([one] * rows)}" + _tail(allow_negative))
        if len(_sql_cache) > 256:
            _sql_cache.clear()
        _sql_cache[ck] = sql
    return sql


def upsert_changes(conn: Connection, lg: Ledger, app: str, keys: Sequence[str],
                   changes: Mapping[str, Mapping[str, int]], dims: Mapping[str, Mapping[str, Any]]
                   ) -> dict[str, dict[str, int]]:
    """Apply ``changes[key]`` to the balance rows of ``keys`` (in that order: sort them),
    creating missing rows; returns ``{key: buckets after}`` of every row written. A key
    missing from the answer was refused by the guard and left as it was (locked); a
    returned row that was created may break the guard (check it with :func:`violates`
    from ``after - change``): the caller refuses and rolls back."""
    out: dict[str, dict[str, int]] = {}
    if not keys:
        return out
    cur = rawsql.cursor(conn)
    try:
        run = _run_pg if conn.dialect.name == "postgresql" else _run_sqlite
        for row in run(cur, lg, app, keys, changes, dims):
            out[row[0]] = dict(zip(BUCKETS, (int(x) for x in row[1:]), strict=True))
    finally:
        cur.close()
    return out


def _run_pg(cur: Any, lg: Ledger, app: str, keys: Sequence[str], changes: Mapping[str, Mapping[str, int]],
            dims: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    ndims, rows = len(lg.dimensions), []
    for start in range(0, len(keys), _PG_CHUNK):
        part = keys[start:start + _PG_CHUNK]
        params: dict[str, Any] = {"a": app, "l": lg.name, "k": list(part),
                                  "dims": [rawsql.dumps(dims[k]) for k in part]}
        slots = [lg.slots(dims[k]) for k in part]
        for i in range(1, ndims + 1):
            params[f"d{i}"] = [s[f"d{i}"] for s in slots]
        for b in BUCKETS:
            params[b] = [changes[k].get(b, 0) for k in part]
        cur.execute(_pg_sql(ndims, lg.allow_negative), params)
        rows += cur.fetchall()
    return rows


def _run_sqlite(cur: Any, lg: Ledger, app: str, keys: Sequence[str], changes: Mapping[str, Mapping[str, int]],
                dims: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    ndims, rows = len(lg.dimensions), []
    for start in range(0, len(keys), _SQLITE_CHUNK):
        part = keys[start:start + _SQLITE_CHUNK]
        values: list[Any] = []
        for k in part:
            slots = lg.slots(dims[k])
            values += [app, lg.name, k, rawsql.dumps(dims[k]), *(slots[f"d{i}"] for i in range(1, ndims + 1)),
                       *(changes[k].get(b, 0) for b in BUCKETS)]
        cur.execute(_sqlite_sql(ndims, len(part), lg.allow_negative), values)
        rows += cur.fetchall()
    return rows

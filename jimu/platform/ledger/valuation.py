"""Moving-average cost per item + warehouse.

A costed receipt raises the stock value by ``qty * unit_cost`` and the average becomes
value / qty; an issue takes value out at the current average and leaves the average as it
is. Values and averages are integers of ``10**-COST_SCALE`` (exact on both backends); the
row is read under a row lock (``FOR UPDATE`` on PostgreSQL, the write lock on SQLite) and
rewritten, after the balance rows, in sorted key order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.ledger import rawsql
from jimu.platform.ledger.spec import Ledger, LedgerLike, as_ledger, dim_text, units_to_cost
from jimu.platform.ledger.tables import valuation as val_table

__all__ = ["VALUATION_DIMS", "Entry", "valued", "revalue", "valuation"]

#: ``(dims, signed qty units, unit cost units | source dims to take the average of | None)``
Entry = tuple[Mapping[str, Any], int, "int | Mapping[str, Any] | None"]

#: The dimensions a valuation row is kept per (when the ledger has them).
VALUATION_DIMS: tuple[str, ...] = ("item", "warehouse")
_V = val_table.c
_CHUNK = 500


def valued(lg: Ledger) -> bool:
    """Whether ``lg`` keeps a moving average (it has item and warehouse dimensions)."""
    return all(d in lg.dimensions for d in VALUATION_DIMS)


def _vkey(dims: Mapping[str, Any]) -> str:
    return json.dumps([dim_text(dims.get(d)) for d in VALUATION_DIMS], ensure_ascii=False)


def _div(a: int, b: int) -> int:
    """a / b rounded half up, exact on integers."""
    return int((Decimal(a) / Decimal(b)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def revalue(
    conn: Connection,
    lg: Ledger,
    app: str,
    entries: Sequence[Entry],
) -> list[int]:
    """Apply ``(dims, signed qty units, unit cost)`` entries; returns the unit cost (cost
    units) each entry was valued at. Receipts without a cost and all issues go at the
    current average; a cost given as dimensions means "the average there" (transfers)."""
    if not valued(lg) or not entries:
        return [0] * len(entries)
    every = [d for d, _, _ in entries] + [c for _, _, c in entries if isinstance(c, Mapping)]
    keys = sorted({_vkey(d) for d in every})
    rows: dict[str, dict[str, int]] = {}
    # One locking read (ORDER BY key: PostgreSQL locks the rows in key order, as the
    # balance rows are), missing rows inserted together: a count's post of 5,000 lines is
    # a handful of statements, not 10,000.
    for key, qty, value, avg in _read(conn, app, lg.name, keys):
        rows[key] = {"qty": int(qty), "value": int(value), "avg_cost": int(avg)}
    missing = [key for key in keys if key not in rows]
    if missing:
        first: dict[str, Mapping[str, Any]] = {}
        for e in every:
            first.setdefault(_vkey(e), e)
        rawsql.insert_rows(conn, "jimu_ledger_valuation", ("app", "ledger", "key", "dims", "qty", "value", "avg_cost"), [
            (app, lg.name, key, rawsql.dumps({d: first[key].get(d) for d in VALUATION_DIMS}), 0, 0, 0)
            for key in missing])
        for key in missing:
            rows[key] = {"qty": 0, "value": 0, "avg_cost": 0}
    used: list[int] = []
    one = 10**lg.scale
    for edims, units, cost in entries:
        st = rows[_vkey(edims)]
        if isinstance(cost, Mapping):
            cost = rows[_vkey(cost)]["avg_cost"]
        if units > 0 and cost is not None:
            st["value"] += _div(units * cost, one)
            st["qty"] += units
            if st["qty"] > 0:
                st["avg_cost"] = _div(st["value"] * one, st["qty"])
            used.append(cost)
            continue
        avg = st["avg_cost"]
        if units < 0 and st["qty"] + units == 0:
            st["value"] = 0
        else:
            st["value"] += _div(units * avg, one)
        st["qty"] += units
        used.append(avg)
    _write(conn, app, lg.name, [(key, rows[key]["qty"], rows[key]["value"], rows[key]["avg_cost"]) for key in keys])
    return used


_PG_LOCK = ('SELECT t."key", t.qty, t."value", t.avg_cost FROM jimu_ledger_valuation AS t '
            'JOIN unnest(CAST(%(k)s AS text[])) AS v(k) ON t."key" = v.k '
            'WHERE t.app = %(a)s AND t.ledger = %(l)s ORDER BY t."key" FOR UPDATE OF t')


def _read(conn: Connection, app: str, ledger: str, keys: Sequence[str]) -> list[Any]:
    """The stored rows of ``keys`` as (key, qty, value, avg_cost), locked on PostgreSQL.
    There the keys go as one array joined to the table: a long ``key IN (...)`` list is
    tested row by row when the planner scans the table (seconds of server CPU for a
    5,000-line posting)."""
    if conn.dialect.name == "postgresql":
        cur = rawsql.cursor(conn)
        try:
            rawsql.execute_planned(cur, _PG_LOCK, {"a": app, "l": ledger, "k": list(keys)})
            return list(cur.fetchall())
        finally:
            cur.close()
    out: list[Any] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        out += conn.execute(sa.select(_V.key, _V.qty, _V.value, _V.avg_cost).where(
            _V.app == app, _V.ledger == ledger, _V.key.in_(chunk))).all()
    return out


_SET = 'qty = v.q, "value" = v.v, avg_cost = v.c'
_WHERE = 't.app = {a} AND t.ledger = {l} AND t."key" = v.k'
_PG_UPDATE = (f"UPDATE jimu_ledger_valuation AS t SET {_SET} FROM unnest(CAST(%(k)s AS text[]), "
              "CAST(%(q)s AS bigint[]), CAST(%(v)s AS bigint[]), CAST(%(c)s AS bigint[])) AS v(k, q, v, c) "
              "WHERE " + _WHERE.format(a="%(a)s", l="%(l)s"))


def _write(conn: Connection, app: str, ledger: str, rows: Sequence[tuple[str, int, int, int]]) -> None:
    """Write the locked rows back: one ``UPDATE ... FROM`` (arrays on PostgreSQL, a VALUES
    list per chunk on SQLite) instead of a statement per row."""
    if not rows:
        return
    cur = rawsql.cursor(conn)
    try:
        if conn.dialect.name == "postgresql":
            rawsql.execute_planned(cur, _PG_UPDATE, {
                "a": app, "l": ledger, "k": [r[0] for r in rows], "q": [r[1] for r in rows],
                "v": [r[2] for r in rows], "c": [r[3] for r in rows]})
            return
        for start in range(0, len(rows), _CHUNK):
            part = rows[start:start + _CHUNK]
            values = ", ".join(["(?, ?, ?, ?)"] * len(part))
            cur.execute(f"WITH v(k, q, v, c) AS (VALUES {values}) UPDATE jimu_ledger_valuation AS t SET {_SET} "
                        f"FROM v WHERE {_WHERE.format(a='?', l='?')}",
                        [x for r in part for x in r] + [app, ledger])
    finally:
        cur.close()


def valuation(conn: Connection, app: str, ledger: LedgerLike, item: Any, warehouse: Any) -> dict[str, Any]:
    """The moving average of one item in one warehouse: ``{"item", "warehouse", "qty",
    "avg_cost", "value"}`` (Decimals; zeros when nothing was ever received)."""
    lg = as_ledger(ledger)
    key = _vkey({"item": item, "warehouse": warehouse})
    row = conn.execute(
        sa.select(_V.qty, _V.value, _V.avg_cost).where(_V.app == app, _V.ledger == lg.name, _V.key == key)
    ).first()
    qty, value, avg = (int(row.qty), int(row.value), int(row.avg_cost)) if row else (0, 0, 0)
    return {"item": item, "warehouse": warehouse, "qty": lg.to_qty(qty),
            "avg_cost": units_to_cost(avg), "value": units_to_cost(value)}

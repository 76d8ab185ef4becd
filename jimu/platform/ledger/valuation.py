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

from jimu.platform.ledger.spec import Ledger, LedgerLike, as_ledger, dim_text, units_to_cost
from jimu.platform.ledger.tables import valuation as val_table

__all__ = ["VALUATION_DIMS", "Entry", "valued", "revalue", "valuation"]

#: ``(dims, signed qty units, unit cost units | source dims to take the average of | None)``
Entry = tuple[Mapping[str, Any], int, "int | Mapping[str, Any] | None"]

#: The dimensions a valuation row is kept per (when the ledger has them).
VALUATION_DIMS: tuple[str, ...] = ("item", "warehouse")
_V = val_table.c
_CHUNK = 500
_UPDATE = sa.update(val_table).where(
    _V.app == sa.bindparam("_a"), _V.ledger == sa.bindparam("_l"), _V.key == sa.bindparam("_k")
).values(qty=sa.bindparam("_q"), value=sa.bindparam("_v"), avg_cost=sa.bindparam("_c"))


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
    # One locking read per chunk of keys (ORDER BY key: PostgreSQL locks the rows in key
    # order, as the balance rows are), missing rows inserted together: a count's post of
    # 5,000 lines is a handful of statements, not 10,000.
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        sel = sa.select(_V.key, _V.qty, _V.value, _V.avg_cost).where(
            _V.app == app, _V.ledger == lg.name, _V.key.in_(chunk)).order_by(_V.key)
        if conn.dialect.name == "postgresql":
            sel = sel.with_for_update()
        for row in conn.execute(sel):
            rows[row.key] = {"qty": int(row.qty), "value": int(row.value), "avg_cost": int(row.avg_cost)}
    missing = [key for key in keys if key not in rows]
    if missing:
        first: dict[str, Mapping[str, Any]] = {}
        for e in every:
            first.setdefault(_vkey(e), e)
        conn.execute(val_table.insert(), [
            {"app": app, "ledger": lg.name, "key": key, "dims": {d: first[key].get(d) for d in VALUATION_DIMS},
             "qty": 0, "value": 0, "avg_cost": 0} for key in missing])
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
    conn.execute(_UPDATE, [{"_a": app, "_l": lg.name, "_k": key, "_q": rows[key]["qty"], "_v": rows[key]["value"],
                            "_c": rows[key]["avg_cost"]} for key in keys])
    return used


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

"""Reading a ledger: balances (with lazy expiry applied) and the movement trace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.platform.ledger.spec import LedgerLike, as_ledger, units_to_cost
from jimu.platform.ledger.tables import BUCKETS, balance, movement, reservation

__all__ = ["balances", "movements", "due_reserved"]

_B, _M, _R = balance.c, movement.c, reservation.c


def due_reserved(conn: Connection, app: str, ledger: str, now: datetime,
                 keys: list[str] | None = None) -> dict[str, int]:
    """Units held by reservations whose time ran out but are not yet swept, per key."""
    sel = sa.select(_R.key, sa.func.sum(_R.open_qty)).where(
        _R.app == app, _R.ledger == ledger, _R.state == "active",
        _R.expires_at.is_not(None), _R.expires_at <= now,
    ).group_by(_R.key)
    if keys is not None:
        sel = sel.where(_R.key.in_(keys))
    return {k: int(v) for k, v in conn.execute(sel)}


def balances(conn: Connection, app: str, ledger: LedgerLike, *, now: datetime | None = None,
             **dim_filters: Any) -> list[dict[str, Any]]:
    """Balance rows matching ``dim_filters`` (e.g. ``item=1, warehouse=2``), sorted by key:
    ``{dimension values as stored, "on_hand", "reserved", "in_transit", "on_order",
    "quarantine", "available"}`` as Decimals. Reservations whose time ran out are already
    discounted (lazy expiry), so the answer is right before the sweep runs; read-only."""
    lg = as_ledger(ledger)
    sel = sa.select(balance).where(_B.app == app, _B.ledger == lg.name).order_by(_B.key)
    for col, text in lg.slot_filters(dim_filters).items():
        sel = sel.where(_B[col].is_(None) if text is None else _B[col] == text)
    rows = conn.execute(sel).all()
    due = due_reserved(conn, app, lg.name, now or clock.now(),
                       [r.key for r in rows] if len(rows) <= 500 else None)
    out = []
    for r in rows:
        item: dict[str, Any] = {d: r.dims.get(d) for d in lg.dimensions}
        units = {b: int(getattr(r, b)) for b in BUCKETS}
        units["reserved"] -= due.get(r.key, 0)
        for b in BUCKETS:
            item[b] = lg.to_qty(units[b])
        item["available"] = lg.to_qty(units["on_hand"] - units["reserved"])
        out.append(item)
    return out


def movements(conn: Connection, app: str, ledger: LedgerLike, *, since: datetime | None = None,
              until: datetime | None = None, limit: int | None = None,
              **dim_filters: Any) -> list[dict[str, Any]]:
    """The movements of the balance rows matching ``dim_filters`` with ``since <= at <
    until``, oldest first: ``{"id", "at", "user", "kind", "dims", <bucket deltas>,
    "document": {"entity", "id", "line"}, "transition", "reason", "reservation",
    "unit_cost"}``. Stocktakes use it to trace a variance to the moves since the last count."""
    lg = as_ledger(ledger)
    keys = sa.select(_B.key).where(_B.app == app, _B.ledger == lg.name)
    for col, text in lg.slot_filters(dim_filters).items():
        keys = keys.where(_B[col].is_(None) if text is None else _B[col] == text)
    sel = sa.select(movement).where(_M.app == app, _M.ledger == lg.name).order_by(_M.id)
    if dim_filters:
        sel = sel.where(_M.key.in_(keys.scalar_subquery()))
    if since is not None:
        sel = sel.where(_M.at >= since)
    if until is not None:
        sel = sel.where(_M.at < until)
    if limit is not None:
        sel = sel.limit(limit)
    out = []
    for r in conn.execute(sel):
        row: dict[str, Any] = {"id": int(r.id), "at": r.at, "user": r.user, "kind": r.kind,
                               "dims": {d: r.dims.get(d) for d in lg.dimensions}}
        for b in BUCKETS:
            row[b] = lg.to_qty(getattr(r, f"d_{b}"))
        row.update(
            document={"entity": r.doc_entity, "id": r.doc_id, "line": r.doc_line},
            transition=r.transition, reason=r.reason, reservation=r.reservation_id,
            unit_cost=units_to_cost(r.unit_cost) if r.unit_cost is not None else None,
        )
        out.append(row)
    return out

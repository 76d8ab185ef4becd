"""Channel stock pools (渠道库存池): available stock allotted per sales channel.

Each (item, warehouse) may be split between channels (``online``, ``douyin``, ``store``,
...) by integer weights. :func:`rebalance_pools` recomputes every pool from the stock
that is available now (on_hand - reserved, due holds discounted): ``allotted = available
* weight / sum(weights)`` in the ledger's units, remainders to the largest fractions, and
pauses a channel whose allotment is below its threshold (unpausing it once it is back).
The ``stock.channel_rebalance`` recurring task does this every 15 minutes.

:func:`reserve_via_channel` reserves through a channel: one guarded
``UPDATE pool SET allotted = allotted - :q WHERE NOT paused AND allotted >= :q`` (which
also pauses the channel when it falls below its threshold) plus the ledger's own guarded
reservation, in one savepoint of the caller's transaction, whose movement sends a
``ledger.moved`` event in it. A paused channel, or one without enough allotment, is
refused with :class:`StockConflict` naming the channel.
An (item, warehouse) with no pools at all is not restricted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import FieldError, StockConflict, ValidationError
from jimu.platform.ledger import Doc, Ledger, MoveLine, post
from jimu.platform.ledger.spec import dim_text
from jimu.runtime.stock.common import User, emit_moved, total_available, username
from jimu.runtime.stock.tables import channel_pool, ensure_tables

__all__ = [
    "REBALANCE_EVERY", "REBALANCE_TASK", "configure_channels", "draw_from_channel", "pools", "rebalance",
    "rebalance_pools", "reserve_via_channel",
]

REBALANCE_EVERY = timedelta(minutes=15)
REBALANCE_TASK = "stock.channel_rebalance"
_P = channel_pool.c


def _where(app: str, lg: Ledger, item: Any = None, warehouse: Any = None) -> list[sa.ColumnElement[bool]]:
    conds = [_P.app == app, _P.ledger == lg.name]
    if item is not None:
        conds.append(_P.item == dim_text(item))
    if warehouse is not None:
        conds.append(_P.warehouse == dim_text(warehouse))
    return conds


def configure_channels(conn: Connection, app: str, lg: Ledger, item: Any, warehouse: Any,
                       channels: Mapping[str, Mapping[str, Any]], *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Set the pools of one (item, warehouse): ``{channel: {"weight": int, "threshold":
    qty}}`` (channels not named are removed), rebalance them at once and queue the
    15-minute rebalance. Returns :func:`pools` of the pair."""
    ensure_tables(conn)
    at = now or clock.now()
    if not channels:
        raise ValidationError("channels: name at least one channel")
    rows = []
    for name, cfg in channels.items():
        weight = int(cfg.get("weight", 1))
        if weight < 0:
            raise ValidationError(f"channels.{name}.weight must not be negative")
        rows.append({"app": app, "ledger": lg.name, "item": dim_text(item), "warehouse": dim_text(warehouse),
                     "channel": str(name), "weight": weight, "allotted": 0,
                     "threshold": lg.to_units(cfg.get("threshold", 0), f"channels.{name}.threshold"),
                     "paused": False, "updated_at": at})
    conn.execute(sa.delete(channel_pool).where(*_where(app, lg, item, warehouse)))
    conn.execute(channel_pool.insert(), rows)
    rebalance_pools(conn, app, lg, at, item=item, warehouse=warehouse)
    from jimu.runtime.stock.sweeps import ensure_periodic

    ensure_periodic(conn, REBALANCE_TASK, at)
    return pools(conn, app, lg, item=item, warehouse=warehouse)


def _split(available: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Largest-remainder split of ``available`` units by integer weights."""
    total = sum(weights.values())
    if available <= 0 or total <= 0:
        return dict.fromkeys(weights, 0)
    base = {c: available * w // total for c, w in weights.items()}
    left = available - sum(base.values())
    by_fraction = sorted(weights, key=lambda c: (-(available * weights[c] % total), c))
    for c in by_fraction[:left]:
        base[c] += 1
    return base


def rebalance_pools(conn: Connection, app: str, lg: Ledger, now: datetime | None = None, *,
                    item: Any = None, warehouse: Any = None) -> list[dict[str, Any]]:
    """Recompute the allotments of ``app``'s pools (optionally of one item/warehouse) from
    the stock available now; returns ``{"item", "warehouse", "available", "allotted":
    {channel: qty}, "paused": [channels]}`` per pair."""
    ensure_tables(conn)
    at = now or clock.now()
    sel = sa.select(channel_pool).where(*_where(app, lg, item, warehouse)).order_by(_P.item, _P.warehouse, _P.channel)
    if conn.dialect.name == "postgresql":
        sel = sel.with_for_update()
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in conn.execute(sel):
        groups.setdefault((r.item, r.warehouse), []).append(r)
    out = []
    for (it, wh), rows in groups.items():
        available = total_available(conn, app, lg, {"item": it, "warehouse": wh})
        split = _split(available, {r.channel: int(r.weight) for r in rows})
        paused = []
        for r in rows:
            is_paused = split[r.channel] < int(r.threshold) or int(r.weight) == 0
            if is_paused:
                paused.append(r.channel)
            conn.execute(sa.update(channel_pool).where(
                *_where(app, lg, it, wh), _P.channel == r.channel).values(
                allotted=split[r.channel], paused=is_paused, rebalanced_at=at, updated_at=at))
        out.append({"item": it, "warehouse": wh, "available": lg.to_qty(available),
                    "allotted": {c: lg.to_qty(q) for c, q in split.items()}, "paused": paused})
    return out


def rebalance(jimu: Any, app: str, now: datetime | None = None, *, ledger: Any = None,
              conn: Connection | None = None) -> list[dict[str, Any]]:
    """Rebalance every pool of ``app`` (its ``stock`` ledger unless told) in ``conn`` or a
    new write transaction; see :func:`rebalance_pools`."""
    from jimu.runtime.stock.common import resolve_ledger

    if conn is None:
        with jimu.db.write() as c:
            return rebalance(jimu, app, now, ledger=ledger, conn=c)
    return rebalance_pools(conn, app, resolve_ledger(jimu, app, ledger, conn), now)


def pools(conn: Connection, app: str, lg: Ledger, *, item: Any = None, warehouse: Any = None,
          channel: str | None = None) -> list[dict[str, Any]]:
    """The pools as ``{"item", "warehouse", "channel", "weight", "allotted", "threshold",
    "paused", "rebalanced_at"}`` (quantities as Decimal)."""
    ensure_tables(conn)
    sel = sa.select(channel_pool).where(*_where(app, lg, item, warehouse)).order_by(_P.item, _P.warehouse, _P.channel)
    if channel is not None:
        sel = sel.where(_P.channel == channel)
    return [{"item": r.item, "warehouse": r.warehouse, "channel": r.channel, "weight": int(r.weight),
             "allotted": lg.to_qty(r.allotted), "threshold": lg.to_qty(r.threshold), "paused": bool(r.paused),
             "rebalanced_at": r.rebalanced_at} for r in conn.execute(sel)]


def reserve_via_channel(conn: Connection, app: str, lg: Ledger, channel: str, dims: Mapping[str, Any], qty: Any, *,
                        ttl: timedelta | None = None, doc: Doc | None = None, user: User = None) -> int:
    """Reserve ``qty`` of ``dims`` for a sale on ``channel``; returns the reservation id.
    Raises StockConflict when the channel is paused or its allotment is short (or the
    ledger has not the stock), leaving nothing changed."""
    ensure_tables(conn)
    units = lg.to_units(qty)
    if units <= 0:
        raise ValidationError(f"qty must be positive, got {qty}")
    item, warehouse = dims.get("item"), dims.get("warehouse")
    sp = conn.begin_nested()
    try:
        cur = conn.execute(sa.update(channel_pool).where(
            *_where(app, lg, item, warehouse), _P.channel == channel, _P.paused.is_(False), _P.allotted >= units,
        ).values(allotted=_P.allotted - units,
                 paused=sa.case((_P.allotted - units < _P.threshold, sa.true()), else_=_P.paused)))
        if cur.rowcount != 1:
            _refuse(conn, app, lg, channel, item, warehouse, units)
        held = post(conn, app, lg, "reserve", [MoveLine(dims, qty)], doc=doc, user=username(user), ttl=ttl)
        emit_moved(conn, app, lg, held.movements, user)
    except BaseException:
        sp.rollback()
        raise
    sp.commit()
    return held.reservations[0]


def draw_from_channel(conn: Connection, app: str, lg: Ledger, channel: str, dims: Mapping[str, Any], qty: Any, *,
                      strict: bool = True) -> Any:
    """Take ``qty`` of ``dims`` out of ``channel``'s allotment for stock consumed directly (a
    dish sale served dine-in or taken away posts no reservation). ``strict``: a paused or
    short channel is refused with :class:`StockConflict` naming it (nothing changed);
    otherwise the channel gives what it has (a store that records shortfalls never refuses
    a dish already served). An (item, warehouse) without pools is not restricted. Returns
    the quantity drawn (None without pools)."""
    ensure_tables(conn)
    units = lg.to_units(qty)
    if units <= 0:
        return lg.to_qty(0)
    item, warehouse = dims.get("item"), dims.get("warehouse")
    cur = conn.execute(sa.update(channel_pool).where(
        *_where(app, lg, item, warehouse), _P.channel == channel, _P.paused.is_(False), _P.allotted >= units,
    ).values(allotted=_P.allotted - units,
             paused=sa.case((_P.allotted - units < _P.threshold, sa.true()), else_=_P.paused)))
    if cur.rowcount == 1:
        return lg.to_qty(units)
    if strict:
        _refuse(conn, app, lg, channel, item, warehouse, units)
        return None  # no pools: not restricted
    row = conn.execute(sa.select(_P.allotted).where(*_where(app, lg, item, warehouse), _P.channel == channel)).first()
    if row is None:
        return None
    took = min(units, max(int(row.allotted), 0))
    conn.execute(sa.update(channel_pool).where(*_where(app, lg, item, warehouse), _P.channel == channel).values(
        allotted=_P.allotted - took, paused=sa.case((_P.allotted - took < _P.threshold, sa.true()), else_=_P.paused)))
    return lg.to_qty(took)


def _refuse(conn: Connection, app: str, lg: Ledger, channel: str, item: Any, warehouse: Any, units: int) -> None:
    rows = conn.execute(sa.select(_P.channel, _P.allotted, _P.paused).where(*_where(app, lg, item, warehouse))).all()
    if not rows:
        return  # no pools for this item/warehouse: the channel is not restricted
    mine = next((r for r in rows if r.channel == channel), None)
    what = f"item {item}, warehouse {warehouse}"
    if mine is None:
        msg = f"Channel {channel} has no stock pool for {what}"
    elif mine.paused:
        msg = (f"Channel {channel} is paused for {what}: its allotment {lg.to_qty(mine.allotted)} is below "
               f"its threshold (rebalanced every 15 minutes)")
    else:
        msg = (f"Not enough stock in channel {channel} for {what}: requested {lg.to_qty(units)}, "
               f"allotted {lg.to_qty(mine.allotted)}")
    why = "no_pool" if mine is None else "paused" if mine.paused else "short"
    raise StockConflict(msg, errors=[FieldError("channel", StockConflict.code, msg)],
                        extra={"channel": channel, "paused": bool(mine is not None and mine.paused), "why": why,
                               "dims": {"item": item, "warehouse": warehouse}, "requested": str(lg.to_qty(units)),
                               "allotted": str(lg.to_qty(mine.allotted)) if mine is not None else None})


def _rebalance_all(jimu: Any, conn: Connection, now: datetime) -> None:
    from jimu.runtime.stock.common import resolve_ledger

    ensure_tables(conn)
    for app, ledger in conn.execute(sa.select(_P.app, _P.ledger).distinct().order_by(_P.app, _P.ledger)).all():
        try:
            lg = resolve_ledger(jimu, app, ledger, conn)
        except Exception:  # noqa: BLE001 - an app without that ledger (unpublished): skip it
            lg = Ledger(ledger)
        rebalance_pools(conn, app, lg, now)


def _has_pools(conn: Connection) -> bool:
    ensure_tables(conn)
    return conn.execute(sa.select(_P.app).limit(1)).first() is not None


def _register() -> None:
    from jimu.runtime.stock.sweeps import Periodic, register_periodic

    register_periodic(Periodic(REBALANCE_TASK, REBALANCE_EVERY, _rebalance_all, _has_pools))


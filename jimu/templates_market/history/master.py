"""What an installed app has to build a history from: its items (with prices), customers,
suppliers, warehouses and opening stock, read from the app itself (whatever a template's
or a helper's sample data put there), and which of its documents move stock."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.money import to_decimal
from jimu.platform.ledger import as_ledger
from jimu.platform.ledger.spec import Ledger
from jimu.platform.ledger.tables import balance
from jimu.platform.schema import column_name
from jimu.templates_market.history.finance import credit_limits
from jimu.templates_market.history.simulate import Master

__all__ = ["AppShape", "read_master", "shape_of"]

SALES, PURCHASE = "sales_order", "purchase_order"


@dataclass(frozen=True)
class AppShape:
    """Which entities the app has and whether its orders move stock in the stock ledger
    the generator knows how to write: (item, warehouse), or (item, warehouse, batch) with
    a ``batch`` entity (``batches``: food's batch-tracked stock)."""

    ledger: Ledger | None
    sales_ship: bool
    purchase_receive: bool
    returns: bool
    counts: bool
    batches: bool = False


def shape_of(rt: Any) -> AppShape:
    spec = rt.spec
    lspec = spec.ledger("stock")
    lg = as_ledger(lspec) if lspec is not None else None
    batches = lg is not None and tuple(lg.dimensions) == ("item", "warehouse", "batch") \
        and spec.entity("batch") is not None
    if lg is not None and tuple(lg.dimensions) != ("item", "warehouse") and not batches:
        lg = None  # a stock ledger of other dimensions is not generated here
    kinds = {(p.entity, p.kind) for p in (lspec.postings if lspec is not None else [])}
    has = {e.name for e in spec.entities if not e.archived}
    return AppShape(
        ledger=lg,
        sales_ship=lg is not None and (SALES, "ship") in kinds,
        purchase_receive=lg is not None and (PURCHASE, "order_receipt") in kinds,
        returns=lg is not None and "sales_return" in has and "sales_return_line" in has,
        counts=lg is not None and (("stocktake", "adjust") in kinds) and "stocktake_line" in has,
        batches=batches,
    )


def _ids(conn: Connection, rt: Any, entity: str) -> list[int]:
    if rt.spec.entity(entity) is None:
        return []
    t = rt.tables(entity)
    return [int(r[0]) for r in conn.execute(sa.select(t.c.id).order_by(t.c.id))]


def _col(rt: Any, entity: str, field: str) -> Any:
    ent = rt.spec.entity(entity)
    f = ent.field(field) if ent is not None else None
    if f is None or f.archived or not f.stored:
        return None
    return rt.tables(entity).c[column_name(f)]


def read_master(conn: Connection, rt: Any, shape: AppShape) -> Master:
    """The app's master data (active items with a price) and available stock per key."""
    t = rt.tables("item")
    sale, cost, active = _col(rt, "item", "sale_price"), _col(rt, "item", "cost_price"), _col(rt, "item", "active")
    cols = [t.c.id, sale if sale is not None else sa.null(), cost if cost is not None else sa.null()]
    stmt = sa.select(*cols).order_by(t.c.id)
    if active is not None:
        stmt = stmt.where(sa.or_(active.is_(None), active.is_(True)))
    items: dict[int, tuple[Decimal, Decimal]] = {}
    rows = conn.execute(stmt).all()
    # Where some items have a sale price, only those are sold (a factory's raw materials
    # are not); where none has, every priced item is.
    priced = any(s is not None and to_decimal(s) > 0 for _, s, _ in rows)
    for rid, s, c in rows:
        sp = to_decimal(s) if s is not None else None
        cp = to_decimal(c) if c is not None else None
        if (sp is None and cp is None) or (priced and (sp is None or sp <= 0)):
            continue
        sp = sp if sp is not None and sp > 0 else (cp * Decimal("1.3")).quantize(Decimal("0.01"))
        cp = cp if cp is not None and cp > 0 else (sp * Decimal("0.7")).quantize(Decimal("0.01"))
        items[int(rid)] = (sp, cp)
    on_hand: dict[tuple[int, int], int] = {}
    if shape.ledger is not None:
        b = balance.c
        lg = shape.ledger
        for d1, d2, oh, res in conn.execute(sa.select(b.d1, b.d2, b.on_hand, b.reserved).where(
                b.app == rt.name, b.ledger == lg.name)):
            if str(d1).isdigit() and str(d2).isdigit() and int(d1) in items:
                units = int(oh) - int(res)
                whole = int(lg.to_qty(units)) if units > 0 else 0
                if whole > 0:  # with batches: the places stock is kept (summed over batches)
                    on_hand[(int(d1), int(d2))] = on_hand.get((int(d1), int(d2)), 0) + whole
    return Master(items=items, customers=_ids(conn, rt, "customer"), suppliers=_ids(conn, rt, "supplier"),
                  warehouses=_ids(conn, rt, "warehouse"), on_hand=on_hand, stocked=shape.sales_ship,
                  credit=credit_limits(conn, rt))

"""The database side of catering's history: the dishes and their recipes, the stores
(:func:`read_catering`), and the posted dish sales written as the ``post`` transition
leaves them (:func:`write_dish_sales`): the sale with its dish lines, its ``usage`` rows
(ingredient, quantity, the batches ``allocations``) and one ``ship`` movement per usage
row and batch, in FEFO order, on the usage row's id, transition and reason ``post``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.templates_market.history.batchrows import qty_text
from jimu.templates_market.history.catering import Chain, Dish, DishSale
from jimu.templates_market.history.kitchen import Recipe
from jimu.templates_market.history.moves import LedgerRows, Move
from jimu.templates_market.history.rows import NewDoc, insert_children, insert_docs

__all__ = ["read_catering", "write_dish_sales"]

_NOTES = {("lunch", "dine_in"): "午市 / lunch", ("dinner", "dine_in"): "晚市 / dinner",
          ("lunch", "takeaway"): "午市外卖 / lunch takeaway", ("dinner", "takeaway"): "晚市外卖 / dinner takeaway"}


def read_catering(jimu: Any, conn: Connection, rt: Any) -> tuple[list[Dish], Chain]:
    """The dishes (items with a sale price and an active recipe), by id, and the chain:
    its stores (warehouses whose ``site_type`` is ``store``), its central kitchen (the
    first ``central_kitchen``) and the recipes of what has one and no sale price (what the
    kitchen makes)."""
    from jimu.cbu_library.bom.actions import active_boms

    items = rt.tables("item")
    prices = {int(r[0]): Decimal(str(r[1])) for r in conn.execute(
        sa.select(items.c.id, items.c.sale_price).where(items.c.sale_price.is_not(None)))}
    boms = active_boms(jimu, conn, rt.name)
    dishes = [Dish(p, prices[p], tuple((int(i), Decimal(q)) for i, q in b.lines), Decimal(b.qty))
              for p, b in sorted(boms.items()) if p in prices]
    wh = rt.tables("warehouse")
    sites = conn.execute(sa.select(wh.c.id, wh.c.site_type).order_by(wh.c.id)).all()
    stores = tuple(int(i) for i, t in sites if t == "store")
    kitchen = next((int(i) for i, t in sites if t == "central_kitchen"), None)
    recipes = {p: Recipe(b.id, Decimal(b.qty), tuple((int(i), Decimal(q)) for i, q in b.lines))
               for p, b in sorted(boms.items()) if p not in prices}
    return dishes, Chain(stores, kitchen, recipes)


def write_dish_sales(jimu: Any, conn: Connection, rt: Any, sales: Sequence[DishSale], ledger: LedgerRows) -> int:
    """Insert ``sales`` (posted) with their lines and usage rows, and add their movements
    to ``ledger``; returns the number of sales."""
    docs = [NewDoc({"store": s.store, "sale_date": s.at.date(), "channel": s.channel, "state": "posted",
                    "note": _NOTES[(s.meal, s.channel)]},
                   s.at, s.at, "sales", "sales",
                   [{"dish": d, "qty": Decimal(q), "price": p} for d, q, p in s.lines]) for s in sales]
    insert_docs(jimu, conn, rt, "dish_sale", docs, "lines")
    scale = ledger.lg.scale
    owned = [(d, [{"item": u.item, "qty": u.qty, "shortfall": None,
                   "allocations": [{"batch": lot.id, "qty": qty_text(q, scale)} for lot, q in u.alloc]}
                  for u in s.usage]) for s, d in zip(sales, docs, strict=True)]
    for s, d, ids in zip(sales, docs, insert_children(conn, rt, "dish_sale_usage", owned), strict=True):
        s.id = d.id
        for u, uid in zip(s.usage, ids, strict=True):
            u.id = uid
    for s in sales:
        for u in s.usage:
            for lot, q in u.alloc:
                ledger.add(Move(s.at, u.item, s.store, "ship", {"on_hand": -q}, ("dish_sale", s.id, u.id), "post",
                                "post", "sales", batch=lot))
    return len(docs)

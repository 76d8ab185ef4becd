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

from jimu.runtime.records.codec import columns_for
from jimu.templates_market.history.batchrows import qty_text
from jimu.templates_market.history.catering import Dish, DishSale
from jimu.templates_market.history.moves import LedgerRows, Move
from jimu.templates_market.history.rows import NewDoc, insert_docs

__all__ = ["read_catering", "write_dish_sales"]

_CHUNK = 1000


def read_catering(jimu: Any, conn: Connection, rt: Any) -> tuple[list[Dish], list[int]]:
    """The dishes (items with a sale price and an active recipe), by id, and the stores
    (warehouses whose ``site_type`` is ``store``)."""
    from jimu.cbu_library.bom.actions import active_boms

    items = rt.tables("item")
    prices = {int(r[0]): Decimal(str(r[1])) for r in conn.execute(
        sa.select(items.c.id, items.c.sale_price).where(items.c.sale_price.is_not(None)))}
    dishes = [Dish(p, prices[p], tuple((int(i), Decimal(q)) for i, q in b.lines), Decimal(b.qty))
              for p, b in sorted(active_boms(jimu, conn, rt.name).items()) if p in prices]
    wh = rt.tables("warehouse")
    stores = [int(r[0]) for r in conn.execute(sa.select(wh.c.id).where(wh.c.site_type == "store").order_by(wh.c.id))]
    return dishes, stores


def write_dish_sales(jimu: Any, conn: Connection, rt: Any, sales: Sequence[DishSale], ledger: LedgerRows) -> int:
    """Insert ``sales`` (posted) with their lines and usage rows, and add their movements
    to ``ledger``; returns the number of sales."""
    docs = [NewDoc({"store": s.store, "sale_date": s.at.date(), "channel": "dine_in", "state": "posted",
                    "note": "午市 / lunch" if s.meal == "lunch" else "晚市 / dinner"},
                   s.at, s.at, "sales", "sales",
                   [{"dish": d, "qty": Decimal(q), "price": p} for d, q, p in s.lines]) for s in sales]
    insert_docs(jimu, conn, rt, "dish_sale", docs, "lines")
    child = rt.entity("dish_sale_usage")
    stored = [f.name for f in child.active_fields if f.stored]
    scale = ledger.lg.scale
    rows, owners = [], []
    for s, d in zip(sales, docs, strict=True):
        s.id = d.id
        for idx, u in enumerate(s.usage):
            values = {"item": u.item, "qty": u.qty, "shortfall": None,
                      "allocations": [{"batch": lot.id, "qty": qty_text(q, scale)} for lot, q in u.alloc]}
            rows.append({**columns_for(child, {k: values.get(k) for k in stored}), "version": 1,
                         "created_at": s.at, "updated_at": s.at, "created_by": "sales", "updated_by": "sales",
                         "_parent_id": d.id, "_idx": idx})
            owners.append(u)
    table = rt.tables(child.name)
    stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for i in range(0, len(rows), _CHUNK):
        ids += [int(x) for x in conn.execute(stmt, rows[i:i + _CHUNK]).scalars()]
    for u, uid in zip(owners, ids, strict=True):
        u.id = uid
    for s in sales:
        for u in s.usage:
            for lot, q in u.alloc:
                ledger.add(Move(s.at, u.item, s.store, "ship", {"on_hand": -q}, ("dish_sale", s.id, u.id), "post",
                                "post", "sales", batch=lot))
    return len(docs)

"""Storing a factory's work orders (:mod:`.production`) as the production unit's
postings would have: the order with its components (their batch ``allocations``), one
hold, reserve (``release``) and issue (``start``, kind ship) per component batch, and the
output received (``complete``) into the batch the order names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.templates_market.history.batchrows import qty_text
from jimu.templates_market.history.moves import Hold, LedgerRows, Move
from jimu.templates_market.history.production import Boms, WorkOrder
from jimu.templates_market.history.rows import NewDoc, insert_docs

__all__ = ["read_boms", "part_costs", "write_work_orders"]


def read_boms(jimu: Any, conn: Connection, app: str) -> tuple[Boms, dict[int, int]]:
    """The active BOMs (product -> (output qty, [(component, qty incl. scrap)])) and their ids."""
    from jimu.cbu_library.bom.actions import active_boms

    boms = active_boms(jimu, conn, app)
    return ({p: (b.qty, list(b.lines)) for p, b in boms.items()}, {p: b.id for p, b in boms.items()})


def part_costs(conn: Connection, rt: Any) -> dict[int, Decimal]:
    """item -> cost price, for every item that has one (what a factory buys)."""
    t = rt.tables("item")
    if "cost_price" not in t.c:
        return {}
    return {int(r[0]): Decimal(str(r[1])) for r in conn.execute(sa.select(t.c.id, t.c.cost_price)
                                                                 .where(t.c.cost_price.is_not(None)))}


def _doc(wo: WorkOrder, scale: int) -> NewDoc:
    done = wo.completed is not None
    values = {"product": wo.product, "bom": wo.bom, "qty": wo.qty, "warehouse": wo.warehouse,
              "planned_date": wo.created.date(), "completed_qty": wo.qty if done else None,
              "state": "completed" if done else "in_progress", "batch_no": wo.batch_no,
              "production_date": wo.created.date(), "note": "补货生产 / replenishment"}
    lines = [{"item": ln.item, "qty": ln.qty,
              "allocations": [{"batch": lot.id, "qty": qty_text(q, scale)} for lot, q in ln.alloc]}
             for ln in wo.components]
    return NewDoc(values, wo.created, wo.completed or wo.started, "manager", "warehouse", lines)


def write_work_orders(jimu: Any, conn: Connection, rt: Any, orders: list[WorkOrder], ledger: LedgerRows) -> int:
    docs = [_doc(wo, ledger.lg.scale) for wo in orders]
    insert_docs(jimu, conn, rt, "work_order", docs, "components")
    for wo, d in zip(orders, docs, strict=True):
        wo.id, wo.line_ids = d.id, d.line_ids
        for ln, lid in zip(wo.components, wo.line_ids, strict=True):
            doc = ("work_order", wo.id, lid)
            for lot, qty in ln.alloc:
                hold = ledger.hold(Hold(ln.item, wo.warehouse, qty, wo.id, lid, wo.released, "manager", wo.started,
                                        "consumed", batch=lot, entity="work_order"))
                ledger.add(Move(wo.released, ln.item, wo.warehouse, "reserve", {"reserved": qty}, doc, "release",
                                "release", "manager", hold=hold, batch=lot))
                ledger.add(Move(wo.started, ln.item, wo.warehouse, "ship", {"on_hand": -qty, "reserved": -qty}, doc,
                                "start", "start", "warehouse", hold=hold, batch=lot))
        if wo.completed is not None:
            ledger.add(Move(wo.completed, wo.product, wo.warehouse, "receipt", {"on_hand": wo.qty},
                            ("work_order", wo.id, None), "complete", "complete", "warehouse", batch=wo.lot))
    return len(docs)

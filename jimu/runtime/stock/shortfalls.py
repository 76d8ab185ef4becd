"""Sales beyond the book (超卖待盘): what a store sold that its stock book could not cover.

A store whose ``warehouse.oversell_policy`` is ``record_shortfall`` never refuses a dish
sale that was already served: the part its book covers is consumed as usual, and the rest
becomes a flagged ``stock_shortfall`` record (store, item, qty, the document) instead of
a silent negative balance. The next stocktake of that store lists it: :func:`on_count`
(transition action ``stock_shortfalls``) writes each line's open shortfall into
``shortfall_qty`` at ``start`` — adding a line for an item the book shows at zero, which
the count would otherwise skip — and at ``post`` marks those records ``counted`` with the
stocktake, so the count's variance is read next to what was sold unbooked.

Apps without a ``stock_shortfall`` entity (or a line field ``shortfall_qty``) are left
alone, so the action is safe in every template with stocktakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import StockConflict
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.ledger import as_ledger
from jimu.runtime.stock.common import total_available

__all__ = ["ENTITY", "POLICY_FIELD", "RECORD", "coverable", "on_count", "open_shortfalls", "policy_of"]

ENTITY = "stock_shortfall"
POLICY_FIELD = "oversell_policy"
#: The policy value that records a shortfall instead of refusing the sale.
RECORD = "record_shortfall"


def policy_of(warehouse: Mapping[str, Any] | None) -> str:
    """The warehouse's oversell policy (``refuse`` unless it says ``record_shortfall``)."""
    return str((warehouse or {}).get(POLICY_FIELD) or "refuse")


def coverable(conn: Connection, rt: Any, lg_spec: Any, dims: Mapping[str, Any], qty: Decimal) -> Decimal:
    """How much of ``qty`` the book can give for ``dims`` now: first-expiry-first-out over
    released, unexpired batches where the ledger tracks batches (as the posting will take
    them), else the available balance."""
    from jimu.runtime.workflow.batches import batch_dimension, fefo_split

    lg = as_ledger(lg_spec)
    if batch_dimension(lg_spec) is not None:
        try:
            fefo_split(conn, rt, lg_spec, {"expiry_field": "expiry_date"}, dict(dims), qty)
            return qty
        except StockConflict as e:
            return min(qty, Decimal(str((e.extra or {}).get("available") or 0)))
    have = lg.to_qty(max(total_available(conn, rt.name, lg, dims), 0))
    return min(qty, Decimal(str(have)))


def open_shortfalls(conn: Connection, rt: Any, warehouse: Any) -> dict[str, Decimal]:
    """item id (as text) -> the open shortfall recorded at ``warehouse``."""
    if rt.spec.entity(ENTITY) is None or warehouse is None:
        return {}
    t = rt.tables(ENTITY)
    rows = conn.execute(sa.select(t.c.item, sa.func.sum(t.c.qty)).where(
        t.c.store == warehouse, t.c.state == "open").group_by(t.c.item))
    return {str(item): Decimal(str(q)) for item, q in rows if item is not None}


def on_count(jimu: Any, conn: Connection, rt: Any, ent: Any, doc: Mapping[str, Any], spec: Mapping[str, Any],
             actor: Actor) -> bool:
    """Transition action ``stock_shortfalls`` (``on: start|post``, ``lines``, ``quantity``):
    at start, write each line's open shortfall (adding lines for short items without
    one); at post, close the store's open shortfalls of the counted items."""
    lines_field = str(spec.get("lines") or "stocktake_line")
    target = str(spec.get("quantity") or "shortfall_qty")
    line_ent = rt.spec.entity(ent.field(lines_field).options.get("entity")) if ent.field(lines_field) else None
    if rt.spec.entity(ENTITY) is None or line_ent is None or line_ent.field(target) is None:
        return False
    warehouse = doc.get("warehouse")
    short = open_shortfalls(conn, rt, warehouse)
    if not short:
        return False
    cur = jimu.records.get(rt.name, ent.name, doc["id"], conn=conn)
    lines = list(cur.get(lines_field) or [])
    if str(spec.get("on") or "start") == "post":
        counted = [str(ln.get("item")) for ln in lines if str(ln.get("item")) in short]
        t = rt.tables(ENTITY)
        ids = conn.execute(sa.select(t.c.id).where(t.c.store == warehouse, t.c.state == "open",
                                                   t.c.item.in_([int(i) for i in counted]))).scalars().all()
        for sid in ids:
            jimu.records.update(rt.name, ENTITY, sid, {"state": "counted", "stocktake": doc["id"]}, actor=SYSTEM,
                                conn=conn, _allow_state=True, _extra={"document": f"{ent.name}:{doc['id']}"})
        return bool(ids)
    rows: list[dict[str, Any]] = []
    seen = set()
    for ln in lines:  # an item counted batch by batch shows its shortfall once, on its first line
        key = str(ln.get("item"))
        rows.append({"id": ln["id"], target: Decimal(0) if key in seen else short.get(key, Decimal(0))})
        seen.add(key)
    for key in sorted(set(short) - seen):
        rows.append({"item": int(key), "warehouse": warehouse, "system_qty": _on_hand(conn, rt, key, warehouse),
                     target: short[key], **{n: doc.get(n) for n in spec.get("copy") or ()}})
    jimu.records.update(rt.name, ent.name, doc["id"], {lines_field: rows}, actor=actor, conn=conn,
                        _allow_state=True, _extra={"document": f"{ent.name}:{doc['id']}"})
    return True


def _on_hand(conn: Connection, rt: Any, item: str, warehouse: Any) -> Decimal:
    from jimu.platform.ledger import balances

    lg = rt.spec.ledger("stock")
    return sum((Decimal(str(b["on_hand"])) for b in balances(conn, rt.name, lg, item=item, warehouse=warehouse)),
               Decimal(0))

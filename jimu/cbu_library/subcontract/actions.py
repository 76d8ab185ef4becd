"""Trusted actions of the ``subcontract`` unit (DESIGN 16, Manufacturing: outsourcing).

- ``subcontract_send`` (transition ``send``): each component line leaves our warehouse for
  the supplier's location: ``transfer_out`` (-on_hand +in_transit at our warehouse), so the
  goods at the supplier stay ours and visible as in transit.
- ``subcontract_receive`` (transition ``receive``, inputs ``received_qty`` and
  ``received_weight``): the components arrive at the supplier's location (``transfer_in``)
  and are consumed there (``ship``); the product is received into our warehouse. The
  inspection compares the count with the ordered qty and the weight with count × unit
  weight, each within ``tolerance_pct`` (a unit param copied on the order): outside, the
  product goes from on_hand to the ``quarantine`` bucket and a discrepancy is opened
  (ordered vs counted, the same table transfers use), ``inspection = quarantined``.

Where the stock ledger keeps batches (the discrete template), a component line leaves as
the batches first-expiry-first-out gives it (as a transfer does) and arrives and is
consumed at the supplier as those same batches; the product is received as a batch
numbered after the subcontract order (created, production date today).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from jimu.core import clock
from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl

__all__ = ["ENTITY", "within", "jimu_automation_actions"]

ENTITY = "subcontract_order"


def _dec(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v or 0))


def within(actual: Decimal, expected: Decimal, tolerance_pct: Decimal) -> bool:
    """|actual − expected| ≤ expected × tolerance %."""
    return abs(actual - expected) <= expected * tolerance_pct / 100


def _ctx(ctx: Any) -> tuple[Any, Any, str, dict[str, Any], Any, Any]:
    from jimu.runtime.stock.common import resolve_ledger

    rec = ctx.jimu.records.get(ctx.app, ENTITY, ctx.record["id"], conn=ctx.conn)
    lg = resolve_ledger(ctx.jimu, ctx.app, None, ctx.conn)
    actor = getattr(ctx, "actor", None) or SYSTEM
    return ctx.jimu, ctx.conn, ctx.app, dict(rec), lg, actor


def _send(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.stock.transfers import ship_transfer

    jimu, conn, app, rec, lg, actor = _ctx(ctx)
    lines = [{"id": ln["id"], "item": ln["item"], "qty": ln["qty"]} for ln in rec.get("components") or []]
    if lines:  # one guarded posting; batches first-expiry-first-out where the ledger has them
        ship_transfer(conn, app, lg, {"id": rec["id"], "from_warehouse": rec["warehouse"], "lines": lines},
                      user=actor.username, entity=ENTITY, rt=jimu.apps.get(app, conn))


def _sent(conn: Any, app: str, lg: Any, order: Any) -> dict[str, list[tuple[dict[str, Any], Decimal]]]:
    """line id -> [(dims at our warehouse, qty)] as the components left (batch by batch)."""
    import sqlalchemy as sa

    from jimu.platform.ledger.spec import dim_text
    from jimu.platform.ledger.tables import movement

    m = movement.c
    out: dict[str, list[tuple[dict[str, Any], Decimal]]] = {}
    for line, dims, units in conn.execute(sa.select(m.doc_line, m.dims, m.d_in_transit).where(
            m.app == app, m.ledger == lg.name, m.doc_entity == ENTITY, m.doc_id == dim_text(order),
            m.kind == "transfer_out").order_by(m.id)):
        if line is not None and units:
            out.setdefault(str(line), []).append((lg.dims(dims or {}), lg.to_qty(int(units))))
    return out


def _product_batch(ctx: Any, rec: Mapping[str, Any], lg: Any, actor: Any) -> Any:
    """The batch the product is received as (the order's number), or None without batches."""
    if "batch" not in lg.dimensions:
        return None
    from jimu.runtime.workflow.batches import resolve_batch

    rt = ctx.jimu.apps.get(ctx.app, ctx.conn)
    return resolve_batch(ctx.conn, rt, ctx.jimu.records,
                         {"entity": "batch", "key": ["item", "batch_no"], "fields": {"item": "item", "batch_no": "number",
                                                                         "production_date": "production_date"}},
                         {}, {**rec, "production_date": clock.today()}, actor)


def _receive(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.platform.ledger import Doc, MoveLine, post
    from jimu.runtime.stock.common import emit_moved
    from jimu.runtime.stock.tables import discrepancy, ensure_tables
    from jimu.runtime.stock.transfers import transfer_receive

    jimu, conn, app, rec, lg, actor = _ctx(ctx)
    who = actor.username
    moved: list[int] = []
    sent = _sent(conn, app, lg, rec["id"])
    for ln in rec.get("components") or []:
        ours = {"item": ln["item"], "warehouse": rec["warehouse"]}
        for source, qty in sent.get(str(ln["id"])) or [(ours, _dec(ln["qty"]))]:
            at_supplier = {**source, "warehouse": rec["supplier_location"]}
            transfer_receive(conn, app, lg, rec["id"], source, at_supplier, qty, qty, line=ln["id"], user=who,
                             entity=ENTITY)
            moved += post(conn, app, lg, "ship", [MoveLine(at_supplier, qty, line=ln["id"])],
                          doc=Doc(ENTITY, rec["id"], ln["id"], "consume"), user=who).movements
    qty, counted, weight = _dec(rec["qty"]), _dec(rec.get("received_qty")), _dec(rec.get("received_weight"))
    tol = _dec(rec.get("tolerance_pct"))
    ok = within(counted, qty, tol) and within(weight, counted * _dec(rec["unit_weight"]), tol)
    product = {"item": rec["item"], "warehouse": rec["warehouse"]}
    batch = _product_batch(ctx, rec, lg, actor) if counted > 0 else None
    if batch is not None:
        product["batch"] = batch
    doc = Doc(ENTITY, rec["id"], None, "receive")
    if counted > 0:
        moved += post(conn, app, lg, "receipt", [MoveLine(product, counted)], doc=doc, user=who).movements
        if not ok:
            moved += post(conn, app, lg, "quarantine", [MoveLine(product, counted)], doc=doc, user=who,
                          reason="subcontract inspection outside tolerance").movements
    if not ok:
        ensure_tables(conn)
        sent, got = lg.to_units(qty, "qty"), lg.to_units(counted, "received_qty")
        conn.execute(discrepancy.insert().values(
            app=app, ledger=lg.name, transfer_entity=ENTITY, transfer_id=str(rec["id"]), line=None,
            source=lg.dims({"item": rec["item"], "warehouse": rec["supplier_location"]}), target=lg.dims(product),
            item=str(rec["item"]), sent=sent, received=got, difference=got - sent, state="open", created_by=who,
            created_at=clock.now()))
    emit_moved(conn, app, lg, moved, who)
    jimu.records.update(app, ENTITY, rec["id"], {"inspection": "passed" if ok else "quarantined"}, actor=actor,
                        conn=conn, _allow_state=True)


def _action(name: str, description: str, run: Any) -> Any:
    return SimpleNamespace(name=name, description=description, params={}, run=run)


ACTIONS = [
    _action("subcontract_send", "Send a subcontract order's components to the supplier's location (in transit).", _send),
    _action("subcontract_receive", "Receive a subcontract order's product with a count and weight inspection.", _receive),
]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

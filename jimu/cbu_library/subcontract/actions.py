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
    from jimu.runtime.stock.transfers import transfer_send

    _, conn, app, rec, lg, actor = _ctx(ctx)
    for ln in rec.get("components") or []:
        transfer_send(conn, app, lg, rec["id"], {"item": ln["item"], "warehouse": rec["warehouse"]}, ln["qty"],
                      line=ln["id"], user=actor.username, entity=ENTITY)


def _receive(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.platform.ledger import Doc, MoveLine, post
    from jimu.runtime.stock.common import emit_moved
    from jimu.runtime.stock.tables import discrepancy, ensure_tables
    from jimu.runtime.stock.transfers import transfer_receive

    jimu, conn, app, rec, lg, actor = _ctx(ctx)
    who = actor.username
    moved: list[int] = []
    for ln in rec.get("components") or []:
        at_supplier = {"item": ln["item"], "warehouse": rec["supplier_location"]}
        transfer_receive(conn, app, lg, rec["id"], {"item": ln["item"], "warehouse": rec["warehouse"]}, at_supplier,
                         ln["qty"], ln["qty"], line=ln["id"], user=who, entity=ENTITY)
        moved += post(conn, app, lg, "ship", [MoveLine(at_supplier, ln["qty"], line=ln["id"])],
                      doc=Doc(ENTITY, rec["id"], ln["id"], "consume"), user=who).movements
    qty, counted, weight = _dec(rec["qty"]), _dec(rec.get("received_qty")), _dec(rec.get("received_weight"))
    tol = _dec(rec.get("tolerance_pct"))
    ok = within(counted, qty, tol) and within(weight, counted * _dec(rec["unit_weight"]), tol)
    product = {"item": rec["item"], "warehouse": rec["warehouse"]}
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

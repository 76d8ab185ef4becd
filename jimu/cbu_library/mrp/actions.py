"""Trusted MRP actions of the ``mrp`` unit (hook ``jimu_automation_actions``).

``mrp_calculate`` (transition ``calculate`` of ``mrp_run``) plans one warehouse:

- gross requirements: lines of open sales orders (draft, pending approval, approved) and
  the components of work orders not started yet (draft: exploded from their BOM unless
  entered; released: their component lines, which hold reservations);
- stock: ``on_hand`` at the warehouse (every batch). Reservations are not subtracted:
  the documents holding them are counted as gross requirements already;
- on order: open purchase orders (draft, submitted, approved) and work orders (draft,
  released, in progress) of the item, so a second run does not suggest the same again;
- items are netted by low-level code (the deepest level they appear at in any BOM), so
  every parent's planned order has added its demand before a component is netted:
  ``net = max(0, gross − stock − on order)``, lot for lot; a made item (it has an active
  BOM) with a net requirement adds ``net × line qty / BOM qty`` to each component.

``mrp_create_orders`` (transition ``create_orders``) turns the lines with a net
requirement into draft purchase orders (one per supplier: the line's, else the last one
the item was bought from, else the run's default) and draft work orders, and writes the
document numbers back on the lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from jimu.core.errors import FieldError, ValidationError
from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl

__all__ = ["OPEN_SO", "OPEN_PO", "OPEN_WO", "plan", "jimu_automation_actions"]

OPEN_SO = ("draft", "pending_approval", "approved")
OPEN_PO = ("draft", "submitted", "approved")
OPEN_WO = ("draft", "released", "in_progress")
_ZERO = Decimal(0)


def _bom() -> Any:
    """The ``bom`` unit's actions module (structure helpers), registered at its install."""
    from jimu.platform.hooks import get_plugin_manager

    module = get_plugin_manager().get_plugin("cbu:bom")
    if module is None:
        raise ValidationError("MRP needs the bom unit's actions (install the bom unit)", code="mrp.no_bom")
    return module


def _open(jimu: Any, conn: Any, app: str, entity: str, states: tuple[str, ...], warehouse: Any) -> list[dict[str, Any]]:
    if jimu.apps.get(app, conn).spec.entity(entity) is None:
        return []
    listed = ", ".join(f'"{s}"' for s in states)
    return [r for r in _bom().all_records(jimu, conn, app, entity, f"state in [{listed}]", True)
            if str(r.get("warehouse")) == str(warehouse)]


def _add(acc: dict[int, Decimal], item: Any, qty: Any) -> None:
    acc[int(item)] = acc.get(int(item), _ZERO) + Decimal(str(qty))


def _stock(jimu: Any, conn: Any, app: str, warehouse: Any) -> dict[int, Decimal]:
    from jimu.platform.ledger import balances

    lg = jimu.apps.get(app, conn).spec.ledger("stock")
    out: dict[int, Decimal] = {}
    for row in balances(conn, app, lg, warehouse=warehouse):
        _add(out, row["item"], row["on_hand"])
    return out


def plan(jimu: Any, conn: Any, app: str, warehouse: Any) -> list[dict[str, Any]]:
    """The MRP lines of ``warehouse``: one per item with a gross requirement, by level."""
    bom = _bom()
    boms = bom.active_boms(jimu, conn, app)
    levels = bom.low_level_codes(jimu, conn, app, boms)
    gross: dict[int, Decimal] = {}
    on_order: dict[int, Decimal] = {}
    for so in _open(jimu, conn, app, "sales_order", OPEN_SO, warehouse):
        for line in so.get("lines") or []:
            _add(gross, line["item"], line["qty"])
    for po in _open(jimu, conn, app, "purchase_order", OPEN_PO, warehouse):
        for line in po.get("lines") or []:
            _add(on_order, line["item"], line["qty"])
    for wo in _open(jimu, conn, app, "work_order", OPEN_WO, warehouse):
        _add(on_order, wo["product"], wo["qty"])
        if wo["state"] == "in_progress":
            continue  # its components are issued already
        components = [(c["item"], c["qty"]) for c in wo.get("components") or []]
        if not components:  # a draft not released yet: its BOM (the chosen one, else the active one)
            found = boms.get(int(wo["product"])) if not wo.get("bom") else bom.bom_of(
                jimu.records.get(app, "bom", wo["bom"], conn=conn))
            components = bom.explode(found, wo["qty"]) if found is not None else []
        for item, qty in components:
            _add(gross, item, qty)
    stock = _stock(jimu, conn, app, warehouse)
    lines: list[dict[str, Any]] = []
    done: set[int] = set()
    while True:
        todo = [i for i in gross if i not in done]
        if not todo:
            return lines
        item = min(todo, key=lambda i: (levels.get(i, 0), i))
        done.add(item)
        have, coming = stock.get(item, _ZERO), on_order.get(item, _ZERO)
        net = max(_ZERO, gross[item] - have - coming)
        make = item in boms
        lines.append({"item": item, "level": levels.get(item, 0), "action": "make" if make else "buy",
                      "gross_qty": gross[item], "stock_qty": have, "on_order_qty": coming, "net_qty": net})
        if make and net > 0:
            for child, qty in bom.explode(boms[item], net):
                if child in done:  # only a cycle could bring a netted item back; low_level_codes refused it
                    raise ValidationError("MRP: BOM levels changed during the run", code="mrp.levels")
                _add(gross, child, qty)


def _last_suppliers(jimu: Any, conn: Any, app: str) -> dict[int, Any]:
    """The supplier each item was last ordered from (newest purchase order first)."""
    out: dict[int, Any] = {}
    for po in sorted(_bom().all_records(jimu, conn, app, "purchase_order", None, True), key=lambda r: -int(r["id"])):
        for line in po.get("lines") or []:
            out.setdefault(int(line["item"]), po["supplier"])
    return out


def _calculate(ctx: Any, spec: Mapping[str, Any]) -> None:
    jimu, conn, app = ctx.jimu, ctx.conn, ctx.app
    run = jimu.records.get(app, ctx.entity, ctx.record["id"], conn=conn)
    lines = plan(jimu, conn, app, run["warehouse"])
    suppliers = _last_suppliers(jimu, conn, app)
    for line in lines:
        if line["action"] == "buy":
            line["supplier"] = suppliers.get(line["item"], run.get("supplier"))
    jimu.records.update(app, ctx.entity, run["id"], {"lines": lines}, actor=ctx.actor or SYSTEM, conn=conn,
                        _allow_state=True, _extra={"document": f"{ctx.entity}:{run['id']}"})


def _price(jimu: Any, conn: Any, app: str, item: Any) -> Any:
    return jimu.records.get(app, "item", item, conn=conn).get("cost_price") or Decimal("0")


def _create_orders(ctx: Any, spec: Mapping[str, Any]) -> None:
    jimu, conn, app = ctx.jimu, ctx.conn, ctx.app
    actor = ctx.actor or SYSTEM
    run = jimu.records.get(app, ctx.entity, ctx.record["id"], conn=conn)
    wanted = [dict(ln) for ln in run.get("lines") or [] if ln.get("net_qty") and ln["net_qty"] > 0
              and not ln.get("document")]
    missing = [i for i, ln in enumerate(run.get("lines") or []) if ln in wanted and ln["action"] == "buy"
               and not (ln.get("supplier") or run.get("supplier"))]
    if missing:
        raise ValidationError("MRP: pick a supplier for every item to buy (or a default supplier on the run)",
                              code="mrp.supplier",
                              errors=[FieldError(f"lines[{i}].supplier", "required", "supplier needed") for i in missing])
    numbers: dict[int, str] = {}
    by_supplier: dict[Any, list[dict[str, Any]]] = {}
    for ln in wanted:
        if ln["action"] == "make":
            wo = jimu.records.create(app, "work_order", {"product": ln["item"], "qty": ln["net_qty"],
                                                         "warehouse": run["warehouse"], "source": run["number"]},
                                     actor=actor, conn=conn)
            numbers[ln["id"]] = wo["number"]
        else:
            by_supplier.setdefault(ln.get("supplier") or run["supplier"], []).append(ln)
    for supplier, group in by_supplier.items():
        po = jimu.records.create(app, "purchase_order", {
            "supplier": supplier, "warehouse": run["warehouse"], "note": f"MRP {run['number']}",
            "lines": [{"item": ln["item"], "qty": ln["net_qty"], "price": _price(jimu, conn, app, ln["item"])}
                      for ln in group]}, actor=actor, conn=conn)
        for ln in group:
            numbers[ln["id"]] = po["number"]
    rows = [{"id": ln["id"], "document": numbers[ln["id"]]} for ln in run.get("lines") or [] if ln["id"] in numbers]
    keep = [{"id": ln["id"]} for ln in run.get("lines") or [] if ln["id"] not in numbers]
    jimu.records.update(app, ctx.entity, run["id"], {"lines": sorted(rows + keep, key=lambda r: int(r["id"]))},
                        actor=actor, conn=conn, _allow_state=True, _extra={"document": f"{ctx.entity}:{run['id']}"})




def _action(name: str, description: str, params: dict[str, str], run: Any) -> Any:
    """An action kind as the automation engine and transitions call it: ``run(ctx, spec)``."""
    return SimpleNamespace(name=name, description=description, params=params, run=run)


ACTIONS = [
    _action("mrp_calculate", "Net requirements of the run's warehouse, level by level, as the run's lines.", {},
              _calculate),
    _action("mrp_create_orders", "Draft purchase orders (per supplier) and work orders for the net requirements.",
              {}, _create_orders),
]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

"""Trusted actions of the ``catering_store`` unit (hook ``jimu_automation_actions``).

Both fill a child table of the document and then run the transition's named ledger
postings through the ``bom`` unit's :func:`fill_then_post` (the engine posts before it
runs actions, so those postings saw an empty table):

- ``recipe_consume`` (dish sale ``post``): every dish line through its active recipe
  (BOM, one level: a semi-finished ingredient is taken from stock, not re-cooked), summed
  per ingredient into ``usage``; the ``dish_consume`` posting then takes them out of the
  store first-expiry-first-out.
- ``requisition_issue`` (store requisition ``issue``): every requested line allocated
  first-expiry-first-out over the kitchen's batches into ``issued`` (item, batch, qty);
  ``req_issue`` moves them to in transit.
- ``requisition_receive`` (``receive``): the same batches land at the store with the
  quantities counted (input ``receipts``); a short delivery opens a discrepancy per batch
  exactly as a transfer does (the transfers module does the work).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from jimu.core.errors import ValidationError
from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions"]


def _bom() -> Any:
    from jimu.platform.hooks import get_plugin_manager

    module = get_plugin_manager().get_plugin("cbu:bom")
    if module is None:
        raise ValidationError("catering actions need the bom unit's actions (install the bom unit)",
                              code="catering.no_bom")
    return module


def _consume(ctx: Any, spec: Mapping[str, Any]) -> None:
    bom = _bom()
    doc = ctx.jimu.records.get(ctx.app, ctx.entity, ctx.record["id"], conn=ctx.conn)
    if doc.get("usage"):
        return  # entered by hand: the engine's own posting already took these out
    recipes = bom.active_boms(ctx.jimu, ctx.conn, ctx.app)
    used: dict[int, Decimal] = {}
    for line in doc.get("lines") or []:
        recipe = recipes.get(int(line["dish"]))
        if recipe is None:
            dish = ctx.jimu.records.get(ctx.app, "item", line["dish"], conn=ctx.conn)
            raise ValidationError(f"dish {dish.get('name')} has no active recipe (菜品「{dish.get('name')}」没有启用的配方)",
                                  code="catering.no_recipe")
        for item, qty in bom.explode(recipe, line["qty"]):
            used[item] = used.get(item, Decimal(0)) + qty
    rows = _beyond_the_book(ctx, doc, used)
    _draw_channel(ctx, doc, rows)
    bom.fill_then_post(ctx, spec, "usage", rows)


def _draw_channel(ctx: Any, doc: Mapping[str, Any], rows: list[dict[str, Any]]) -> None:
    """Each ingredient taken from stock comes out of the sale's channel pool (dine-in or
    takeaway) where the store splits that ingredient between channels: a paused or short
    channel refuses the sale (409 naming the channel), except at a store recording
    shortfalls, where the channel gives what it has (the dish was already served)."""
    from jimu.runtime.stock import shortfalls
    from jimu.runtime.stock.channels import draw_from_channel
    from jimu.runtime.stock.common import resolve_ledger

    channel = doc.get("channel")
    if not channel:
        return
    store = ctx.jimu.records.get(ctx.app, "warehouse", doc["store"], conn=ctx.conn)
    strict = shortfalls.policy_of(store) != shortfalls.RECORD
    lg = resolve_ledger(ctx.jimu, ctx.app, "stock", ctx.conn)
    for row in rows:
        if row["qty"] and row["qty"] > 0:
            draw_from_channel(ctx.conn, ctx.app, lg, str(channel), {"item": row["item"], "warehouse": doc["store"]},
                              row["qty"], strict=strict)


def _beyond_the_book(ctx: Any, doc: Mapping[str, Any], used: Mapping[int, Decimal]) -> list[dict[str, Any]]:
    """The usage rows to post. At a store whose ``oversell_policy`` is ``record_shortfall``
    each ingredient takes what the book can give (FEFO, as the posting will) and the rest is
    written to the row's ``shortfall`` and a ``stock_shortfall`` record for the next count;
    elsewhere every row asks for all of it (a short book refuses the sale whole)."""
    from jimu.platform.actor import SYSTEM
    from jimu.runtime.stock import shortfalls

    store = ctx.jimu.records.get(ctx.app, "warehouse", doc["store"], conn=ctx.conn)
    rt = ctx.jimu.apps.get(ctx.app, ctx.conn)
    if shortfalls.policy_of(store) != shortfalls.RECORD or rt.spec.entity(shortfalls.ENTITY) is None:
        return [{"item": i, "qty": q} for i, q in used.items()]
    lg = rt.spec.ledger("stock")
    rows = []
    for item, qty in used.items():
        have = shortfalls.coverable(ctx.conn, rt, lg, {"item": item, "warehouse": doc["store"]}, qty)
        short = qty - have
        rows.append({"item": item, "qty": have, "shortfall": short if short > 0 else None})
        if short > 0:
            ctx.jimu.records.create(ctx.app, shortfalls.ENTITY, {
                "store": doc["store"], "item": item, "qty": short, "dish_sale": doc["id"],
                "sale_date": doc.get("sale_date")}, actor=SYSTEM, conn=ctx.conn)
    return rows


def _issue(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.workflow.batches import fefo_split

    doc = ctx.jimu.records.get(ctx.app, ctx.entity, ctx.record["id"], conn=ctx.conn)
    if doc.get("issued"):
        return
    rt = ctx.jimu.apps.get(ctx.app, ctx.conn)
    lg = rt.spec.ledger("stock")
    rows = []
    for line in doc.get("lines") or []:
        dims = {"item": line["item"], "warehouse": doc["kitchen"]}
        for part, qty in fefo_split(ctx.conn, rt, lg, {"expiry_field": "expiry_date"}, dims, line["qty"]):
            rows.append({"item": line["item"], "batch": part.get("batch"), "qty": qty})
    _bom().fill_then_post(ctx, spec, "issued", rows)


def _receive(ctx: Any, spec: Mapping[str, Any]) -> None:
    """The store scans in the issued batches as a transfer's lines are (``receive_transfer``):
    each issued row arrives with its ``receipts`` entry (default all of it), a difference
    opens a discrepancy; each requested line then shows the sum received of its item."""
    from jimu.runtime.stock.common import resolve_ledger
    from jimu.runtime.stock.transfers import receive_transfer

    doc = ctx.jimu.records.get(ctx.app, ctx.entity, ctx.record["id"], conn=ctx.conn)
    lg = resolve_ledger(ctx.jimu, ctx.app, "stock", ctx.conn)
    shaped = {"id": doc["id"], "lines": doc.get("issued") or [], "from_warehouse": doc["kitchen"],
              "to_warehouse": doc["store"], "receipts": doc.get("receipts")}
    receive_transfer(ctx.jimu, ctx.conn, ctx.app, lg, shaped, user=getattr(ctx, "actor", None), entity=ctx.entity,
                     lines_field="issued")
    after = ctx.jimu.records.get(ctx.app, ctx.entity, doc["id"], conn=ctx.conn)
    got: dict[Any, Decimal] = {}
    for row in after.get("issued") or []:
        got[row["item"]] = got.get(row["item"], Decimal(0)) + Decimal(str(row.get("received_qty") or 0))
    rows, seen = [], set()
    for ln in after.get("lines") or []:  # a second line of the same item shows nothing more
        rows.append({"id": ln["id"], "received_qty": Decimal(0) if ln["item"] in seen else got.get(ln["item"], 0)})
        seen.add(ln["item"])
    ctx.jimu.records.update(ctx.app, ctx.entity, doc["id"], {"lines": rows}, actor=getattr(ctx, "actor", None) or
                            _system(), conn=ctx.conn, _allow_state=True,
                            _extra={"document": f"{ctx.entity}:{doc['id']}"})


def _system() -> Any:
    from jimu.platform.actor import SYSTEM

    return SYSTEM


def _action(name: str, description: str, params: dict[str, str], run: Any) -> Any:
    """An action kind as the automation engine and transitions call it: ``run(ctx, spec)``."""
    return SimpleNamespace(name=name, description=description, params=params, run=run)


ACTIONS = [
    _action("recipe_consume", "Dish lines through their recipes into the ingredients used, then post.",
                   {"transition": "this transition", "postings": "ledger postings to run once filled"}, _consume),
    _action("requisition_issue", "Allocate requested lines over the kitchen's batches (FEFO), then post.",
                   {"transition": "this transition", "postings": "ledger postings to run once filled"}, _issue),
    _action("requisition_receive", "Receive the issued batches with their received quantities (discrepancies).",
            {}, _receive),
]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

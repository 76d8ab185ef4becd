"""The discrete manufacturing template: standard's stable names plus BOMs, work orders
whose every stock move is a ledger posting, and MRP checked against hand-computed
numbers on a small three-level bike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from jimu.core.errors import StockConflict, ValidationError
from jimu.platform.actor import Actor
from jimu.platform.ledger import balances, verify
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_template

APP = "dm"
MANAGER = Actor("mgr", ("manager",))
WH = Actor("wh", ("warehouse",))
SALES = Actor("sal", ("sales",))
BUYER = Actor("buyer", ("purchasing",))


@pytest.fixture
def dm(jimu: Any) -> dict[str, Any]:
    install_template(jimu, APP, "discrete_manufacturing", sample_data=False)
    rec = jimu.records
    ids: dict[str, Any] = {"engine": WorkflowEngine(jimu)}
    ids["w"] = rec.create(APP, "warehouse", {"name": "Plant", "confirm_code": "1111"})["id"]
    ids["x"] = rec.create(APP, "warehouse", {"name": "Other", "confirm_code": "2222"})["id"]
    for sku in ("BIKE", "FRAME", "WHEEL", "TUBE", "SPOKE", "SEAT"):
        ids[sku] = rec.create(APP, "item", {"sku": sku, "name": sku.title(), "cost_price": "2.00"})["id"]
    for sku, qty in {"BIKE": 3, "FRAME": 2, "WHEEL": 5, "TUBE": 10, "SPOKE": 100, "SEAT": 20}.items():
        rec.create(APP, "stock_adjustment", {"item": ids[sku], "warehouse": ids["w"], "qty": qty, "reason": "opening"})
    ids["customer"] = rec.create(APP, "customer", {"name": "Bike shop"})["id"]
    ids["supplier_a"] = rec.create(APP, "supplier", {"name": "Tube supplier"})["id"]
    ids["supplier_b"] = rec.create(APP, "supplier", {"name": "Spoke supplier"})["id"]
    return ids


def _bom(jimu: Any, dm: dict[str, Any], product: str, qty: Any, lines: dict[str, Any], activate: bool = True) -> Any:
    bom = jimu.records.create(APP, "bom", {"product": dm[product], "qty": qty,
                                           "lines": [{"item": dm[k], "qty": v} for k, v in lines.items()]})
    if activate:
        dm["engine"].fire(APP, "bom", bom["id"], "activate", actor=MANAGER)
    return bom


def _bike_boms(jimu: Any, dm: dict[str, Any]) -> None:
    _bom(jimu, dm, "BIKE", 1, {"FRAME": 1, "WHEEL": 2, "TUBE": 1, "SEAT": 1})
    _bom(jimu, dm, "FRAME", 1, {"TUBE": 3})
    _bom(jimu, dm, "WHEEL", 2, {"SPOKE": 72})  # 36 spokes a wheel, on a BOM that makes two


def _stock(jimu: Any, dm: dict[str, Any], sku: str) -> dict[str, Decimal]:
    lg = jimu.apps.get(APP).spec.ledger("stock")
    with jimu.db.read() as c:
        rows = balances(c, APP, lg, item=dm[sku], warehouse=dm["w"])
    return {k: sum((r[k] for r in rows), Decimal(0)) for k in ("on_hand", "reserved", "available")}


def _so(jimu: Any, dm: dict[str, Any], qty: int, warehouse: str = "w") -> Any:
    return jimu.records.create(APP, "sales_order", {"customer": dm["customer"], "warehouse": dm[warehouse],
                                                    "lines": [{"item": dm["BIKE"], "qty": qty, "price": "100"}]},
                               actor=SALES)


def _po(jimu: Any, dm: dict[str, Any], supplier: str, sku: str, qty: int) -> Any:
    return jimu.records.create(APP, "purchase_order", {"supplier": dm[supplier], "warehouse": dm["w"],
                                                       "lines": [{"item": dm[sku], "qty": qty, "price": "1"}]},
                               actor=BUYER)


def test_template_keeps_standard_names_and_adds_production(jimu: Any, dm: dict[str, Any]) -> None:
    spec = jimu.apps.get(APP).spec
    for name in ("item", "warehouse", "customer", "supplier", "sales_order", "purchase_order", "stocktake",
                 "bom", "bom_line", "work_order", "work_order_component", "mrp_run", "mrp_line"):
        ent = spec.entity(name)
        assert ent is not None and ent.label.zh and ent.label.en, name
        assert all(f.label.zh and f.label.en for f in ent.fields), name
    assert [d.name for d in spec.ledger("stock").dimensions] == ["item", "warehouse"]
    wf = spec.workflow_for("work_order")
    assert [s.name for s in wf.states] == ["draft", "released", "in_progress", "completed", "cancelled"]
    assert {p.name for p in spec.ledger("stock").postings} >= {"so_reserve", "po_receive", "wo_reserve", "wo_issue",
                                                               "wo_receive", "wo_cancel_release"}
    assert {r.name for r in spec.roles} == {"admin", "sales", "warehouse", "purchasing", "finance", "manager", "vp"}


def test_bom_cycle_and_duplicate_are_refused(jimu: Any, dm: dict[str, Any]) -> None:
    _bike_boms(jimu, dm)
    loop = _bom(jimu, dm, "TUBE", 1, {"BIKE": 1}, activate=False)  # tube -> bike -> frame -> tube
    with pytest.raises(ValidationError) as err:
        dm["engine"].fire(APP, "bom", loop["id"], "activate", actor=MANAGER)
    assert err.value.code == "bom.cycle" and "Tube (TUBE) → Bike (BIKE)" in str(err.value)
    assert jimu.records.get(APP, "bom", loop["id"])["state"] == "draft"
    second = _bom(jimu, dm, "FRAME", 1, {"TUBE": 4}, activate=False)
    with pytest.raises(ValidationError) as dup:
        dm["engine"].fire(APP, "bom", second["id"], "activate", actor=MANAGER)
    assert dup.value.code == "bom.duplicate"


def test_work_order_moves_stock_through_the_ledger(jimu: Any, dm: dict[str, Any]) -> None:
    _bike_boms(jimu, dm)
    eng = dm["engine"]
    wo = jimu.records.create(APP, "work_order", {"product": dm["FRAME"], "qty": 2, "warehouse": dm["w"]}, actor=MANAGER)
    wo = eng.fire(APP, "work_order", wo["id"], "release", actor=MANAGER)
    assert [(c["item"], c["qty"]) for c in wo["components"]] == [(dm["TUBE"], Decimal(6))]
    assert _stock(jimu, dm, "TUBE") == {"on_hand": 10, "reserved": 6, "available": 4}
    eng.fire(APP, "work_order", wo["id"], "start", actor=WH)
    assert _stock(jimu, dm, "TUBE") == {"on_hand": 4, "reserved": 0, "available": 4}
    done = eng.fire(APP, "work_order", wo["id"], "complete", actor=WH)  # no input: the planned quantity
    assert done["state"] == "completed" and done["completed_qty"] == 2
    assert _stock(jimu, dm, "FRAME")["on_hand"] == 4
    # Not enough frames for four bikes: the release is refused and nothing is reserved.
    bikes = jimu.records.create(APP, "work_order", {"product": dm["BIKE"], "qty": 5, "warehouse": dm["w"]},
                                actor=MANAGER)
    with pytest.raises(StockConflict):
        eng.fire(APP, "work_order", bikes["id"], "release", actor=MANAGER)
    assert jimu.records.get(APP, "work_order", bikes["id"])["components"] == []
    assert _stock(jimu, dm, "FRAME")["reserved"] == 0
    # Released then cancelled: the reservation is given back.
    wheels = jimu.records.create(APP, "work_order", {"product": dm["WHEEL"], "qty": 2, "warehouse": dm["w"]},
                                 actor=MANAGER)
    eng.fire(APP, "work_order", wheels["id"], "release", actor=MANAGER)
    assert _stock(jimu, dm, "SPOKE")["reserved"] == 72
    eng.fire(APP, "work_order", wheels["id"], "cancel", actor=MANAGER)
    assert _stock(jimu, dm, "SPOKE") == {"on_hand": 100, "reserved": 0, "available": 100}
    assert verify(jimu.db, APP) == []


def test_mrp_nets_level_by_level(jimu: Any, dm: dict[str, Any]) -> None:
    _bike_boms(jimu, dm)
    jimu.users.ensure("mgr", "mgr", ["manager"])  # the approver of sales and purchase orders
    eng = dm["engine"]
    _so(jimu, dm, 10)                                   # open, draft
    approved = _so(jimu, dm, 2)                          # open, holds a reservation of 2 bikes
    eng.fire(APP, "sales_order", approved["id"], "submit", actor=SALES)
    eng.fire(APP, "sales_order", approved["id"], "approve", actor=MANAGER)
    _so(jimu, dm, 100, warehouse="x")                    # another warehouse: not planned here
    gone = _so(jimu, dm, 50)
    eng.fire(APP, "sales_order", gone["id"], "cancel", actor=SALES)
    for product, qty in (("BIKE", 4), ("WHEEL", 6)):     # drafts: on order, components exploded as demand
        jimu.records.create(APP, "work_order", {"product": dm[product], "qty": qty, "warehouse": dm["w"]},
                            actor=MANAGER)
    tubes = _po(jimu, dm, "supplier_a", "TUBE", 8)
    eng.fire(APP, "purchase_order", tubes["id"], "submit", actor=BUYER)
    eng.fire(APP, "purchase_order", tubes["id"], "approve", actor=MANAGER)
    _po(jimu, dm, "supplier_b", "SPOKE", 50)

    run = jimu.records.create(APP, "mrp_run", {"warehouse": dm["w"]}, actor=BUYER)
    run = eng.fire(APP, "mrp_run", run["id"], "calculate", actor=BUYER)
    by_sku = {jimu.records.get(APP, "item", ln["item"])["sku"]: ln for ln in run["lines"]}
    got = {sku: (ln["level"], ln["action"], ln["gross_qty"], ln["stock_qty"], ln["on_order_qty"], ln["net_qty"])
           for sku, ln in by_sku.items()}
    # BIKE: 10 + 2 open, 3 on hand, 4 in a draft work order            -> make 5
    # FRAME: 4 (draft WO) + 5 (planned bikes), 2 on hand                -> make 7
    # WHEEL: 8 (draft WO) + 10 (planned bikes), 5 on hand, 6 in a WO    -> make 7
    # SEAT: 4 + 5, 20 on hand                                           -> nothing
    # TUBE (level 2: bike and frame): 4 + 5 + 7 x 3, 10 on hand, 8 ordered -> buy 12
    # SPOKE: 6 x 36 (draft WO) + 7 x 72 / 2, 100 on hand, 50 ordered    -> buy 318
    assert got == {
        "BIKE": (0, "make", 12, 3, 4, 5),
        "FRAME": (1, "make", 9, 2, 0, 7),
        "WHEEL": (1, "make", 18, 5, 6, 7),
        "SEAT": (1, "buy", 9, 20, 0, 0),
        "TUBE": (2, "buy", 30, 10, 8, 12),
        "SPOKE": (2, "buy", 468, 100, 50, 318),
    }
    assert [ln["level"] for ln in run["lines"]] == sorted(ln["level"] for ln in run["lines"])
    assert by_sku["TUBE"]["supplier"] == dm["supplier_a"] and by_sku["SPOKE"]["supplier"] == dm["supplier_b"]

    done = eng.fire(APP, "mrp_run", run["id"], "create_orders", actor=BUYER)
    assert done["state"] == "ordered"
    wos = jimu.records.list(APP, "work_order", filter=f'source == "{run["number"]}"', limit=50).data
    assert sorted((jimu.records.get(APP, "item", w["product"])["sku"], w["qty"]) for w in wos) == [
        ("BIKE", 5), ("FRAME", 7), ("WHEEL", 7)]
    pos = [jimu.records.get(APP, "purchase_order", p["id"]) for p in
           jimu.records.list(APP, "purchase_order", filter='state == "draft"', limit=50).data]
    made = {(p["supplier"], line["item"], line["qty"]) for p in pos if p["note"] == f"MRP {run['number']}"
            for line in p["lines"]}
    assert made == {(dm["supplier_a"], dm["TUBE"], 12), (dm["supplier_b"], dm["SPOKE"], 318)}
    assert all(ln["document"] for ln in done["lines"] if ln["net_qty"] > 0)

    # The suggestions are on order now: a second run suggests nothing more.
    again = jimu.records.create(APP, "mrp_run", {"warehouse": dm["w"]}, actor=BUYER)
    again = eng.fire(APP, "mrp_run", again["id"], "calculate", actor=BUYER)
    assert {ln["net_qty"] for ln in again["lines"]} == {0}
    assert verify(jimu.db, APP) == []


def test_mrp_refuses_a_cycle_edited_into_an_active_bom(jimu: Any, dm: dict[str, Any]) -> None:
    _bike_boms(jimu, dm)
    frame = jimu.records.list(APP, "bom", filter=f"product == {dm['FRAME']}").data[0]
    jimu.records.update(APP, "bom", frame["id"], {"lines": [{"item": dm["BIKE"], "qty": 1}]})
    run = jimu.records.create(APP, "mrp_run", {"warehouse": dm["w"]}, actor=BUYER)
    with pytest.raises(ValidationError) as err:
        dm["engine"].fire(APP, "mrp_run", run["id"], "calculate", actor=BUYER)
    assert err.value.code == "bom.cycle"


def test_demo_sample_data_plans(jimu: Any) -> None:
    result = install_template(jimu, "sample", "discrete_manufacturing", sample_data=True)
    assert result.sample_rows["bom"] == 3 and result.sample_rows["mrp_run"] == 1
    boms = jimu.records.list("sample", "bom").data
    assert {b["state"] for b in boms} == {"active"}
    run = jimu.records.list("sample", "mrp_run").data[0]
    run = WorkflowEngine(jimu).fire("sample", "mrp_run", run["id"], "calculate", actor=MANAGER)
    skus = {jimu.records.get("sample", "item", ln["item"])["sku"]: ln["net_qty"] for ln in run["lines"]}
    # 10 bikes ordered, 3 on hand -> 7; frames 7 - 2 -> 5; wheels 14 - 5 -> 9; tubes 7 + 15 - 10 -> 12
    assert (skus["FG-BIKE"], skus["SA-FRAME"], skus["SA-WHEEL"], skus["RM-TUBE"]) == (7, 5, 9, 12)
    assert skus["RM-SPOKE"] == 9 * 36 - 100
    WorkflowEngine(jimu).fire("sample", "mrp_run", run["id"], "create_orders", actor=MANAGER)
    assert verify(jimu.db, "sample") == []

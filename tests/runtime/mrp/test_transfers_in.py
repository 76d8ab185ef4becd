"""Transfers in transit as MRP scheduled receipts (DESIGN 16, Manufacturing): a transfer
shipped to the planned warehouse and not received yet arrives there on its
``expected_date`` (stock unit 1.4), on the run date when it has none.

The world, weekly buckets b0..b3 from T (today), warehouse P planned, D the other one.
PART (bought from its default supplier, no safety stock, no lead time): 9 on hand at P,
5 after TR-C left.
- TR-A: single-item transfer D -> P of 3, in transit, no expected date  -> b0
- TR-B: transfer D -> P, one line of 12, in transit, expected T+14      -> b2
- TR-C: transfer P -> D of 4, in transit (P is its source: not a receipt of P; its
  shipping took the 4 off P's on hand)
- TR-D: transfer D -> P of 100, draft (not shipped: nothing)
- SO1 10 delivered T+7 (b1), SO2 10 delivered T+21 (b3)

By hand: b0 5 + 3 = 8; b1 8 − 10 = −2 -> buy 2 due T+7 (projected 0); b2 0 + 12 = 12;
b3 12 − 10 = 2. Exceptions: TR-A (b0) is first needed in b1 (5 − 10 < 0) -> defer to
T+7; TR-B (b2): stock plus TR-A = 8 drops below 0 in b1 -> expedite to T+7.
Without the transfers it would be buy 5 in b1 and 10 in b3."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from jimu.platform.actor import Actor
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_template

APP = "dm"
WH = Actor("wh", ("warehouse",))
SALES = Actor("sal", ("sales",))
BUYER = Actor("buyer", ("purchasing",))


@pytest.fixture
def world(jimu: Any) -> dict[str, Any]:
    from jimu.core.clock import today

    install_template(jimu, APP, "discrete_manufacturing", sample_data=False)
    rec, eng = jimu.records, WorkflowEngine(jimu)
    T, day = today(), timedelta(days=1)
    p = rec.create(APP, "warehouse", {"name": "Plant", "confirm_code": "1111"})["id"]
    d = rec.create(APP, "warehouse", {"name": "Depot", "confirm_code": "2222"})["id"]
    sup = rec.create(APP, "supplier", {"name": "Parts Co"})["id"]
    part = rec.create(APP, "item", {"sku": "PART", "name": "Part", "default_supplier": sup})["id"]
    cust = rec.create(APP, "customer", {"name": "Shop"})["id"]
    lot = rec.create(APP, "batch", {"item": part, "batch_no": "PART-OPEN"})["id"]  # the template keeps stock by batch
    for wh, qty in ((p, 9), (d, 200)):
        rec.create(APP, "stock_adjustment", {"item": part, "warehouse": wh, "batch": lot, "qty": qty, "reason": "opening"})
    # the single-item transfer A (the older stock unit's kind) moves stock without a batch
    rec.create(APP, "stock_adjustment", {"item": part, "warehouse": d, "qty": 3, "reason": "opening"})

    def transfer(src: int, dst: int, qty: int, expected: Any = None, ship: bool = True, single: bool = False) -> Any:
        body: dict[str, Any] = {"from_warehouse": src, "to_warehouse": dst, "expected_date": expected}
        body.update({"item": part, "qty": qty} if single else {"lines": [{"item": part, "qty": qty}]})
        tr = rec.create(APP, "stock_transfer", body, actor=WH)
        if ship:
            eng.fire(APP, "stock_transfer", tr["id"], "ship", actor=WH)
        return tr

    trs = {"A": transfer(d, p, 3, single=True), "B": transfer(d, p, 12, T + 14 * day),
           "C": transfer(p, d, 4, T), "D": transfer(d, p, 100, T, ship=False)}
    for qty, on in ((10, T + 7 * day), (10, T + 21 * day)):
        rec.create(APP, "sales_order", {"customer": cust, "warehouse": p, "delivery_date": on,
                                        "lines": [{"item": part, "qty": qty, "price": "1"}]}, actor=SALES)
    run = rec.create(APP, "mrp_run", {"warehouse": p, "run_date": T, "horizon_days": 28, "bucket": "week"}, actor=BUYER)
    return {"T": T, "day": day, "p": p, "part": part, "sup": sup, "trs": trs, "run": run, "eng": eng}


def _plan(jimu: Any, w: dict[str, Any], transition: str = "calculate", **inputs: Any) -> tuple[list[Any], list[Any]]:
    w["eng"].fire(APP, "mrp_run", w["run"]["id"], transition, actor=BUYER, inputs=inputs or None)
    rid = w["run"]["id"]
    lines = jimu.records.list(APP, "mrp_line", filter=f"run == {rid}", limit=50).data
    exc = jimu.records.list(APP, "mrp_exception", filter=f"run == {rid}", limit=50).data
    return (sorted((ln["action"], ln["net_qty"], ln["due_date"], ln["supplier"]) for ln in lines),
            sorted((e["kind"], e["document"], e["date"], e["new_date"], e["qty"]) for e in exc))


def test_transfers_in_transit_are_scheduled_receipts(jimu: Any, world: dict[str, Any]) -> None:
    """The figures of the module docstring. Mutations tried, each seen to fail: the
    loader without ``_transfers_in`` (buy 5 and 10); receipts on the run date whatever the
    expected date (no planned order: 20 on hand in b0); ``from_warehouse`` for
    ``to_warehouse`` (TR-C counted, TR-A/B not); the state filter dropped (TR-D's 100 in b0)."""
    T, day, trs = world["T"], world["day"], world["trs"]
    lines, exc = _plan(jimu, world)
    assert lines == [("buy", Decimal(2), T + 7 * day, world["sup"])]
    assert exc == sorted([("defer", trs["A"]["number"], T, T + 7 * day, Decimal(3)),
                          ("expedite", trs["B"]["number"], T + 14 * day, T + 7 * day, Decimal(12))])


def test_net_change_by_transfer_number(jimu: Any, world: dict[str, Any]) -> None:
    """TR-B's arrival moves to T+7 (b1): 8 + 12 − 10 = 10, b3 0 -> nothing to buy, and
    TR-B is where it is needed. A net change naming the transfer re-plans PART.
    Mutation tried: ``items_of_document`` without stock_transfer -> 422 mrp.document."""
    T, day, trs = world["T"], world["day"], world["trs"]
    _plan(jimu, world)
    jimu.records.update(APP, "stock_transfer", trs["B"]["id"], {"expected_date": T + 7 * day}, actor=WH)
    lines, exc = _plan(jimu, world, "replan", changed_document=trs["B"]["number"])
    assert lines == []
    assert exc == [("defer", trs["A"]["number"], T, T + 7 * day, Decimal(3))]


def test_planner_grid_shows_the_transfers(jimu: Any, world: dict[str, Any]) -> None:
    """The item's grid (as the warehouse's planner reads it): scheduled receipts b0 3 (TR-A),
    b2 12 (TR-B); gross b1 10, b3 10; projected 8, 0, 12, 2; planned 2 in b1; each
    transfer listed as a receipt linked to the stock_transfer record. Mutation tried and
    seen to fail: stock_transfer left out of the documents the grid links."""
    from jimu.runtime.access import AccessPolicy
    from jimu.runtime.mrp.grid import item_grid, open_run

    _plan(jimu, world)
    policy = AccessPolicy.for_actor(jimu, APP, WH)
    g = item_grid(policy, open_run(policy, world["run"]["id"]), world["part"])
    rows = {k: [Decimal(v) for v in g["rows"][k]] for k in ("scheduled", "gross", "projected", "planned_receipts")}
    assert rows == {"scheduled": [3, 0, 12, 0], "gross": [0, 10, 0, 10], "projected": [8, 0, 12, 2],
                    "planned_receipts": [0, 2, 0, 0]}
    trs = world["trs"]
    assert [(r["document"], r["entity"], r["id"]) for r in g["receipts"]] == [
        (trs["A"]["number"], "stock_transfer", trs["A"]["id"]), (trs["B"]["number"], "stock_transfer", trs["B"]["id"])]
    assert g["matches_run"] is True

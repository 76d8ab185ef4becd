"""Returns and multi-line transfers where the stock ledger tracks batches (food template):
a transfer line without a batch leaves first-expiry-first-out and arrives as the same
batches (a short receipt is booked against the later batch); a quality sales return of a
named batch lands in that batch's quarantine. Figures computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from jimu.platform.actor import Actor
from jimu.platform.ledger import balances, verify
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_template

APP = "food"
D = Decimal


@pytest.fixture
def food(jimu: Any) -> dict[str, Any]:
    install_template(jimu, APP, "food", sample_data=False)
    for u in ("sales", "manager", "warehouse"):
        jimu.users.create(u, u, [u])
    rec = jimu.records
    a = rec.create(APP, "warehouse", {"name": "A", "confirm_code": "1"})["id"]
    b = rec.create(APP, "warehouse", {"name": "B", "confirm_code": "2"})["id"]
    item = rec.create(APP, "item", {"sku": "MILK-1", "name": "鲜奶"})["id"]
    early = rec.create(APP, "batch", {"item": item, "batch_no": "E1", "expiry_date": date(2099, 1, 1)})["id"]
    late = rec.create(APP, "batch", {"item": item, "batch_no": "L1", "expiry_date": date(2099, 6, 1)})["id"]
    rec.create(APP, "stock_adjustment", {"item": item, "warehouse": a, "batch": late, "qty": "10", "reason": "opening"})
    rec.create(APP, "stock_adjustment", {"item": item, "warehouse": a, "batch": early, "qty": "4", "reason": "opening"})
    return {"a": a, "b": b, "item": item, "early": early, "late": late, "engine": WorkflowEngine(jimu)}


def _by_batch(jimu: Any, item: int, wh: int, bucket: str) -> dict[Any, Decimal]:
    lg = jimu.apps.get(APP).spec.ledger("stock")
    with jimu.db.read() as c:
        return {r["batch"]: r[bucket] for r in balances(c, APP, lg, item=item, warehouse=wh)
                if r[bucket] != 0}


def test_transfer_line_without_batch_goes_fefo_and_arrives_as_the_same_batches(jimu: Any, food: dict[str, Any]
                                                                              ) -> None:
    """A holds E1 4 (earlier expiry) and L1 10. A line of 6 without a batch leaves as E1 4 +
    L1 2. B receives 5: E1 4 + L1 1 on hand at B; the 1 missing is a discrepancy on L1.

    Mutation caught: shipping the line without FEFO (409: no stock without a batch), or
    receiving at the line's dimensions instead of the batches sent (B would get a row
    without batch)."""
    wh = Actor("warehouse", ("warehouse",))
    tr = jimu.records.create(APP, "stock_transfer", {"from_warehouse": food["a"], "to_warehouse": food["b"],
                                                     "lines": [{"item": food["item"], "qty": "6"}]}, actor=wh)
    food["engine"].fire(APP, "stock_transfer", tr["id"], "ship", actor=wh)
    assert _by_batch(jimu, food["item"], food["a"], "on_hand") == {food["late"]: D(8)}
    assert _by_batch(jimu, food["item"], food["a"], "in_transit") == {food["early"]: D(4), food["late"]: D(2)}
    line = tr["lines"][0]["id"]
    food["engine"].fire(APP, "stock_transfer", tr["id"], "receive",
                        {"receipts": [{"line": line, "received_qty": "5"}]}, actor=wh)
    assert _by_batch(jimu, food["item"], food["b"], "on_hand") == {food["early"]: D(4), food["late"]: D(1)}
    assert _by_batch(jimu, food["item"], food["a"], "in_transit") == {}
    from jimu.platform.ledger import as_ledger
    from jimu.runtime.stock import discrepancies

    with jimu.db.read() as c:
        (disc,) = discrepancies(c, APP, as_ledger(jimu.apps.get(APP).spec.ledger("stock")), transfer=tr["id"])
    assert (disc["source"]["batch"], disc["sent"], disc["received"]) == (food["late"], D(2), D(1))
    assert verify(jimu.db, APP, "stock") == []  # balances equal the replayed movements


def test_quality_return_of_a_batch_lands_in_that_batch_quarantine(jimu: Any, food: dict[str, Any]) -> None:
    """Ship 3 (FEFO: E1 3, leaving E1 1, L1 10); return 2 of E1 for quality: E1 quarantine
    2, E1 on hand still 1, available of E1 1.

    Mutation caught: dropping the batch from the return's dimensions (the quarantine would
    sit on a row without batch)."""
    s, m, w = Actor("sales", ("sales",)), Actor("manager", ("manager",)), Actor("warehouse", ("warehouse",))
    cust = jimu.records.create(APP, "customer", {"name": "超市"})["id"]
    so = jimu.records.create(APP, "sales_order", {"customer": cust, "warehouse": food["a"], "lines": [
        {"item": food["item"], "qty": "3", "price": "5"}]}, actor=s)
    eng = food["engine"]
    eng.fire(APP, "sales_order", so["id"], "submit", actor=s)
    eng.fire(APP, "sales_order", so["id"], "approve", actor=m)
    eng.fire(APP, "sales_order", so["id"], "ship", {"warehouse_confirm_code": "1", "logistics_no": "L"}, actor=w)
    ret = jimu.records.create(APP, "sales_return", {"sales_order": so["id"], "lines": [
        {"item": food["item"], "qty": "2", "reason": "quality", "batch": food["early"]}]}, actor=s)
    eng.fire(APP, "sales_return", ret["id"], "approve", actor=m)
    eng.fire(APP, "sales_return", ret["id"], "receive", actor=w)
    assert _by_batch(jimu, food["item"], food["a"], "quarantine") == {food["early"]: D(2)}
    assert _by_batch(jimu, food["item"], food["a"], "on_hand") == {food["early"]: D(1), food["late"]: D(10)}
    assert _by_batch(jimu, food["item"], food["a"], "available") == {food["early"]: D(1), food["late"]: D(10)}
    assert verify(jimu.db, APP, "stock") == []


def test_return_line_without_a_batch_comes_back_into_the_batch_the_order_shipped(jimu: Any,
                                                                                 food: dict[str, Any]) -> None:
    """Ship 3 (all from E1, the earlier expiry); a quality return of 1 without a batch lands
    in E1's quarantine (the only batch the order shipped that item in).

    Mutation caught: a batch-less return row (quarantine on a row without batch, which the
    batch's quality status would never see)."""
    s, m, w = Actor("sales", ("sales",)), Actor("manager", ("manager",)), Actor("warehouse", ("warehouse",))
    cust = jimu.records.create(APP, "customer", {"name": "便利店"})["id"]
    so = jimu.records.create(APP, "sales_order", {"customer": cust, "warehouse": food["a"], "lines": [
        {"item": food["item"], "qty": "3", "price": "5"}]}, actor=s)
    eng = food["engine"]
    eng.fire(APP, "sales_order", so["id"], "submit", actor=s)
    eng.fire(APP, "sales_order", so["id"], "approve", actor=m)
    eng.fire(APP, "sales_order", so["id"], "ship", {"warehouse_confirm_code": "1", "logistics_no": "L"}, actor=w)
    ret = jimu.records.create(APP, "sales_return", {"sales_order": so["id"], "lines": [
        {"item": food["item"], "qty": "1", "reason": "quality"}]}, actor=s)
    eng.fire(APP, "sales_return", ret["id"], "approve", actor=m)
    eng.fire(APP, "sales_return", ret["id"], "receive", actor=w)
    assert _by_batch(jimu, food["item"], food["a"], "quarantine") == {food["early"]: D(1)}
    assert verify(jimu.db, APP, "stock") == []

"""The standard template (no batches) writes quarantined stock off: a quality return puts
goods in ``quarantine``; ``stock_adjustment`` with ``bucket: "quarantine"`` scraps them.

Figures by hand (milk opens at 100 on hand): ship 10 → on hand 90. A quality return of 4
→ on hand 90, quarantine 4. Writing off 5 is 409 (only 4 quarantined) and moves nothing.
Writing off 3 → quarantine 1, on hand still 90, movement kind ``scrap`` from quarantine
of 3. An ordinary adjustment of −2 (bucket left at its default) → on hand 88, quarantine 1.

Mutations tried, each seen to fail this test: the ``adjustment_writeoff`` posting removed
from the stock unit (the write-off of 3 leaves quarantine at 4 — and 5 is not refused);
``adjustment_post`` back on ``quantity: qty`` (the write-off also takes 3 off on hand: 87).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.scenarios.conftest import Scenario

D = Decimal


def _bal(s: Scenario, item: int, wh: int) -> tuple[Decimal, Decimal]:
    r = s.get("admin", "ledgers/stock/balances", item=item, warehouse=wh)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["data"]
    return sum((D(x["on_hand"]) for x in rows), D(0)), sum((D(x["quarantine"]) for x in rows), D(0))


def test_quality_return_then_quarantine_write_off(scenario: Scenario) -> None:
    s = scenario
    c1 = s.ids["customers"][0]
    milk = s.ids["items"][0]
    wh = s.ids["warehouse"]
    so = s.create("sales", "sales_order", {"customer": c1, "warehouse": wh, "lines": [
        {"item": milk, "qty": "10", "price": "12.80"}]})
    s.fire_ok("sales", "sales_order", so["id"], "submit")
    s.fire_ok("manager", "sales_order", so["id"], "approve")
    s.fire_ok("warehouse", "sales_order", so["id"], "ship", {"warehouse_confirm_code": "1234", "logistics_no": "SF1"})
    ret = s.create("sales", "sales_return", {"sales_order": so["id"], "lines": [
        {"item": milk, "qty": "4", "reason": "quality"}]})
    s.fire_ok("manager", "sales_return", ret["id"], "approve")
    s.fire_ok("warehouse", "sales_return", ret["id"], "receive")
    assert _bal(s, milk, wh) == (D(90), D(4))

    too_much = s.post("warehouse", "data/stock_adjustment", {
        "item": milk, "warehouse": wh, "qty": "-5", "bucket": "quarantine", "reason": "damage"})
    assert too_much.status_code == 409, too_much.text
    assert _bal(s, milk, wh) == (D(90), D(4))

    off = s.create("warehouse", "stock_adjustment", {
        "item": milk, "warehouse": wh, "qty": "-3", "bucket": "quarantine", "reason": "damage"})
    assert _bal(s, milk, wh) == (D(90), D(1))
    moves = s.get("admin", "ledgers/stock/movements", entity="stock_adjustment", record=off["id"]).json()["data"]
    assert [(m["kind"], D(m["qty"]), m["from_bucket"], m["to_bucket"]) for m in moves] == [
        ("scrap", D(3), "quarantine", None)]

    plain = s.create("warehouse", "stock_adjustment", {"item": milk, "warehouse": wh, "qty": "-2", "reason": "damage"})
    assert plain["bucket"] == "on_hand"
    assert _bal(s, milk, wh) == (D(88), D(1))

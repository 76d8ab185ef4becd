"""One operator's day on the standard template over HTTP (issue 18's proof), on SQLite and
PostgreSQL: order -> approval -> partial ship -> quality return -> PO -> partial receipt ->
transfer with two lines -> stocktake with a receipt in the middle -> accuracy report ->
the rest shipped -> ``ledger verify``. Every balance is checked against the figures
computed by hand in the comments (master data: 上海主仓 holds 100 of A001 and of A002).

Mutations tried (each made this test fail):
- a partial ship consuming the whole reservation (``take = r["open_qty"]`` in
  ``postings._consume_per_line``): A001 reserved 0 instead of 12 after shipping 18 of 30.
- receipts not draining on_order (``po_receive`` kind ``receipt``): A001 on_order 50
  instead of 20 after receiving 30.
- the stocktake variance taken against the frozen figure (``book_at_post`` removed from
  the stocktake's ``post``): variance 39 (104 - 65) instead of -1, which would leave
  on_hand at 144 (105 + 39) instead of 104.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jimu.platform.ledger import verify
from tests.scenarios.conftest import APP, Scenario

D = Decimal


def _bal(s: Scenario, item: int, wh: int) -> dict[str, Decimal]:
    r = s.get("admin", "ledgers/stock/balances", item=item, warehouse=wh)
    assert r.status_code == 200, r.text
    out = dict.fromkeys(("on_hand", "reserved", "in_transit", "on_order", "quarantine", "available"), D(0))
    for row in r.json()["data"]:
        for k in out:
            out[k] += D(row[k])
    return out


def _b(on_hand: int, reserved: int = 0, in_transit: int = 0, on_order: int = 0, quarantine: int = 0
       ) -> dict[str, Decimal]:
    return {"on_hand": D(on_hand), "reserved": D(reserved), "in_transit": D(in_transit), "on_order": D(on_order),
            "quarantine": D(quarantine), "available": D(on_hand - reserved)}


def _lines(rec: dict[str, Any]) -> dict[int, int]:
    """item id -> line id of a document."""
    return {ln["item"]: ln["id"] for ln in rec["lines"]}


def test_standard_day(scenario: Scenario) -> None:
    s = scenario
    sh, (a, b) = s.ids["warehouse"], s.ids["items"]
    bj = s.create("admin", "warehouse", {"name": "北京仓", "code": "WH-BJ", "confirm_code": "5678"})["id"]

    # 1. An order of 30 A001 + 20 A002, prices from the items: 30 x 12.80 + 20 x 9.90 = 582.00.
    so = s.create("sales", "sales_order", {"customer": s.ids["customers"][0], "warehouse": sh,
                                           "lines": [{"item": a, "qty": "30"}, {"item": b, "qty": "20"}]})
    assert so["amount"] == "582.00"
    s.fire_ok("sales", "sales_order", so["id"], "submit")
    assert s.fire_ok("manager", "sales_order", so["id"], "approve")["state"] == "approved"
    assert _bal(s, a, sh) == _b(100, reserved=30) and _bal(s, b, sh) == _b(100, reserved=20)

    # 2. Ship 18 A001 and all 20 A002: A001 100 - 18 = 82 with 30 - 18 = 12 still held.
    so_lines = _lines(so)
    shipped = s.fire_ok("warehouse", "sales_order", so["id"], "ship", {
        "warehouse_confirm_code": "1234", "logistics_no": "SF-DAY-1",
        "lines": [{"line": so_lines[a], "qty": "18"}, {"line": so_lines[b], "qty": "20"}]})
    assert shipped["state"] == "partially_shipped"
    assert _bal(s, a, sh) == _b(82, reserved=12) and _bal(s, b, sh) == _b(80)

    # 3. The customer returns 3 A001 for quality: they go to quarantine, on_hand stays 82.
    ret = s.create("sales", "sales_return", {"sales_order": so["id"],
                                             "lines": [{"item": a, "qty": "3", "reason": "quality"}]})
    s.fire_ok("manager", "sales_return", ret["id"], "approve")
    s.fire_ok("warehouse", "sales_return", ret["id"], "receive")
    assert _bal(s, a, sh) == _b(82, reserved=12, quarantine=3)

    # 4. A purchase order of 50 A001 + 40 A002 (prices 8.40 / 5.10 from the items): on order.
    po = s.create("purchasing", "purchase_order", {"supplier": s.ids["supplier"], "warehouse": sh,
                                                   "lines": [{"item": a, "qty": "50"}, {"item": b, "qty": "40"}]})
    assert po["amount"] == "624.00"  # 50 x 8.40 + 40 x 5.10
    s.fire_ok("purchasing", "purchase_order", po["id"], "submit")
    assert s.fire_ok("manager", "purchase_order", po["id"], "approve")["state"] == "approved"
    assert _bal(s, a, sh) == _b(82, reserved=12, on_order=50, quarantine=3)
    assert _bal(s, b, sh) == _b(80, on_order=40)

    # 5. 30 A001 arrive: on_hand 82 + 30 = 112, on_order 50 - 30 = 20.
    got = s.fire_ok("warehouse", "purchase_order", po["id"], "receive",
                    {"lines": [{"line": _lines(po)[a], "qty": "30"}]})
    assert got["state"] == "partially_received"
    assert _bal(s, a, sh) == _b(112, reserved=12, on_order=20, quarantine=3)

    # 6. A transfer of 10 A001 + 15 A002 to 北京仓: in transit, then received in full.
    tr = s.create("warehouse", "stock_transfer", {"from_warehouse": sh, "to_warehouse": bj,
                                                  "lines": [{"item": a, "qty": "10"}, {"item": b, "qty": "15"}]})
    s.fire_ok("warehouse", "stock_transfer", tr["id"], "ship")
    assert _bal(s, a, sh) == _b(102, reserved=12, in_transit=10, on_order=20, quarantine=3)
    assert _bal(s, b, sh) == _b(65, in_transit=15, on_order=40)
    s.fire_ok("warehouse", "stock_transfer", tr["id"], "receive")
    assert _bal(s, a, sh) == _b(102, reserved=12, on_order=20, quarantine=3)
    assert _bal(s, a, bj) == _b(10) and _bal(s, b, bj) == _b(15)

    # 7. Count A002 at 上海主仓: 65 on the books at start; the rest of the PO (20 A001, 40
    #    A002) arrives during the count (book 105); the shelf is counted at 104: variance
    #    104 - 105 = -1 and on_hand ends at the count, 104 (the receipt is not counted twice).
    st = s.create("warehouse", "stocktake", {"warehouse": sh, "stocktake_line": [{"item": b, "warehouse": sh}]})
    s.fire_ok("warehouse", "stocktake", st["id"], "start")
    assert s.fire_ok("warehouse", "purchase_order", po["id"], "receive")["state"] == "received"
    assert _bal(s, b, sh) == _b(105)
    doc = s.record("warehouse", "stocktake", st["id"])
    r = s.client.patch(f"/api/apps/{APP}/data/stocktake/{st['id']}", headers={
        **s.as_("warehouse"), "If-Match": f'"{doc["version"]}"'},
        json={"stocktake_line": [{"id": doc["stocktake_line"][0]["id"], "counted_qty": "104"}]})
    assert r.status_code == 200, r.text
    s.fire_ok("warehouse", "stocktake", st["id"], "submit_count")
    s.fire_ok("manager", "stocktake", st["id"], "post")
    line = s.record("manager", "stocktake", st["id"])["stocktake_line"][0]
    assert D(line["variance"]) == -1
    assert _bal(s, b, sh) == _b(104)
    assert _bal(s, a, sh) == _b(122, reserved=12, quarantine=3)  # 102 + 20, on_order 0

    # 8. Accuracy of 上海主仓: Σ|variance| 1 over Σ book 105 = 0.0095 (1/105 = 0.00952...).
    r = s.get("manager", "reports/inventory-accuracy", warehouse=sh)
    assert r.status_code == 200, r.text
    (row,) = r.json()["data"]
    assert (D(row["absolute_variance"]), D(row["system"]), D(row["rate"])) == (D(1), D(105), D("0.0095"))

    # 9. The rest of the order (12 A001) ships without naming lines: 122 - 12 = 110.
    done = s.fire_ok("warehouse", "sales_order", so["id"], "ship",
                     {"warehouse_confirm_code": "1234", "logistics_no": "SF-DAY-2"})
    assert done["state"] == "shipped"
    assert {ln["item"]: D(ln["shipped_qty"]) for ln in done["lines"]} == {a: D(30), b: D(20)}
    assert _bal(s, a, sh) == _b(110, quarantine=3) and _bal(s, b, sh) == _b(104)

    # 10. The balances equal the movements replayed.
    assert verify(s.jimu.db, APP) == []

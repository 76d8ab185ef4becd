"""A lunch peak on the catering template over HTTP (issue 19's proof), on SQLite and PostgreSQL.

Master data (no sample data): a central kitchen K, store A (``oversell_policy:
record_shortfall``) and store B (the default, ``refuse``); one dish, 牛肉面, whose recipe per
bowl is 0.2 kg NOODLE + 0.1 kg BEEF. Opening books: A NOODLE 30, BEEF 6 (short: lunch needs
10); B NOODLE 30, BEEF 12; K BEEF 20. Every figure below is worked out by hand:

- Lunch: 200 sales of one bowl at 32.00, 100 per store, alternating dine-in/takeaway.
  A: NOODLE 100 x 0.2 = 20 -> 30 - 20 = 10. BEEF: the first 60 sales take 0.1 each (6 -> 0),
  the last 40 find nothing on the book: 40 shortfall records of 0.1 = 4.0, never a negative
  balance. B: NOODLE 30 - 20 = 10, BEEF 12 - 10 = 2. Each store sells 50 dine-in and 50
  takeaway bowls: 50 x 32.00 = 1600.00 per store and channel.
- A second wave at B of 25 bowls needs 2.5 BEEF > 2: refused whole (409), B unchanged.
- Requisition A <- K: 8 BEEF, issued from K's batch (K 20 -> 12, 8 in transit); A counts 7:
  A BEEF 0 + 7 = 7, the missing 1 leaves in transit (transfer_short) and opens a discrepancy
  (sent 8, received 7, difference -1).
- Count at A: lines NOODLE (book 10) and BEEF (book 7, sold beyond the book 4.0). Counted
  NOODLE 9.8 and BEEF 6.5: variances -0.2 and -0.5; after post A holds 9.8 and 6.5, the 40
  shortfalls are ``counted`` by this stocktake. ``ledger verify`` is clean.

Mutations tried (each made this test fail):
- the oversell policy ignored (``_beyond_the_book`` returning every row whole): sale 61 at A
  is refused with 409 (BEEF short) instead of posted.
- the short delivery ignored (``requisition_receive`` passing ``receipts: None``): A holds
  8 BEEF received on the line, not 7 (and would have no discrepancy).
- the count not listing shortfalls (``stock_shortfalls`` removed from the stocktake's
  ``start``): BEEF's line shows no shortfall (0), not 4.0.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from jimu.core import clock as clock_mod
from jimu.platform.ledger import verify
from tests.bearer import BearerClient
from tests.scenarios.conftest import START

APP = "lunch"
D = Decimal


class Http(BearerClient):
    """The shared bearer client (tokens cached per demo user), with paths under the app."""

    def __init__(self, jimu: Any, client: TestClient) -> None:
        super().__init__(client)
        self.jimu = jimu

    def get(self, user: str, path: str, **params: Any) -> httpx.Response:
        return self.client.get(f"/api/apps/{APP}/{path}", params=params, headers=self.h(user))

    def create(self, user: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post(f"/api/apps/{APP}/data/{entity}", json=body, headers=self.h(user))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def fire(self, user: str, entity: str, rid: Any, transition: str, inputs: dict[str, Any] | None = None
             ) -> httpx.Response:
        return self.client.post(f"/api/apps/{APP}/data/{entity}/{rid}/transitions/{transition}",
                                json={"inputs": inputs or {}}, headers=self.h(user))

    def fire_ok(self, user: str, entity: str, rid: Any, transition: str, inputs: dict[str, Any] | None = None
                ) -> dict[str, Any]:
        r = self.fire(user, entity, rid, transition, inputs)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def record(self, user: str, entity: str, rid: Any) -> dict[str, Any]:
        r = self.get(user, f"data/{entity}/{rid}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def stock(self, item: int, wh: int, bucket: str = "on_hand") -> Decimal:
        r = self.get("admin", "ledgers/stock/balances", item=item, warehouse=wh)
        assert r.status_code == 200, r.text
        return sum((D(row[bucket]) for row in r.json()["data"]), D(0))


def _build(jimu: Any) -> dict[str, Any]:
    from jimu.cli.basics import ensure_demo_users
    from jimu.platform.actor import Actor
    from jimu.runtime.workflow.engine import WorkflowEngine
    from jimu.templates_market.installer import install_template

    ensure_demo_users(jimu)
    install_template(jimu, APP, "catering", sample_data=False)
    rec = jimu.records
    ids: dict[str, Any] = {}
    for key, name, policy, site in (("K", "中央厨房", "refuse", "central_kitchen"), ("A", "人民广场店", "record_shortfall", "store"),
                                    ("B", "徐家汇店", "refuse", "store")):
        ids[key] = rec.create(APP, "warehouse", {"name": name, "code": f"WH-{key}", "confirm_code": "1",
                                                 "site_type": site, "oversell_policy": policy})["id"]
    for key, sku, name, unit in (("NOODLE", "CT-NOODLE", "手工拉面", "kg"), ("BEEF", "SEMI-BEEF", "卤牛肉", "kg"),
                                 ("DISH", "DISH-BEEFNOODLE", "牛肉面", "碗")):
        ids[key] = rec.create(APP, "item", {"sku": sku, "name": name, "unit": unit})["id"]
    for sku, wh, qty in (("NOODLE", "A", 30), ("BEEF", "A", 6), ("NOODLE", "B", 30), ("BEEF", "B", 12), ("BEEF", "K", 20)):
        batch = rec.create(APP, "batch", {"item": ids[sku], "batch_no": f"{sku}-{wh}", "expiry_date": "2026-01-20"})
        rec.create(APP, "stock_adjustment", {"item": ids[sku], "warehouse": ids[wh], "batch": batch["id"], "qty": qty,
                                             "reason": "opening"})
    bom = rec.create(APP, "bom", {"product": ids["DISH"], "qty": 1, "lines": [
        {"item": ids["NOODLE"], "qty": "0.2"}, {"item": ids["BEEF"], "qty": "0.1"}]})
    WorkflowEngine(jimu).fire(APP, "bom", bom["id"], "activate", actor=Actor("mgr", ("manager",)))
    return ids


@pytest.fixture
def lunch(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Http, dict[str, Any]]]:
    from jimu.runtime.api.app import create_app
    from jimu.runtime.context import Jimu

    monkeypatch.setenv("JIMU_TEST_CLOCK", "1")
    previous = clock_mod.set_clock(clock_mod.ManualClock(frozen=START))
    jimu = Jimu.open(db_url)
    try:
        ids = _build(jimu)
        with TestClient(create_app(jimu)) as client:
            yield Http(jimu, client), ids
    finally:
        jimu.close()
        clock_mod.set_clock(previous)


def test_catering_lunch(lunch: tuple[Http, dict[str, Any]]) -> None:
    s, ids = lunch
    A, B, K, NOODLE, BEEF = ids["A"], ids["B"], ids["K"], ids["NOODLE"], ids["BEEF"]

    # 1. The lunch peak: 200 one-bowl sales, A and B in turn, dine-in and takeaway in turn.
    for n in range(200):
        store = A if n % 2 == 0 else B
        channel = "dine_in" if (n // 2) % 2 == 0 else "takeaway"
        sale = s.create("sales", "dish_sale", {"store": store, "channel": channel,
                                               "lines": [{"dish": ids["DISH"], "qty": "1", "price": "32.00"}]})
        assert s.fire_ok("sales", "dish_sale", sale["id"], "post")["state"] == "posted", n
    assert (s.stock(NOODLE, A), s.stock(BEEF, A)) == (D(10), D(0))  # 30 - 20; 6 - 6 (never below 0)
    assert (s.stock(NOODLE, B), s.stock(BEEF, B)) == (D(10), D(2))  # 30 - 20; 12 - 10
    r = s.get("manager", "data/stock_shortfall", limit=100)
    assert r.status_code == 200, r.text
    short = r.json()["data"]
    assert len(short) == 40  # sales 61..100 at A
    assert {(x["store"], x["item"], D(x["qty"]), x["state"]) for x in short} == {(A, BEEF, D("0.1"), "open")}
    assert sum(D(x["qty"]) for x in short) == D("4.0")
    turnover: dict[tuple[int, str], Decimal] = {}
    cursor = None
    while True:
        r = s.get("manager", "data/dish_sale", filter='state == "posted"', limit=100, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        for x in r.json()["data"]:
            turnover[(x["store"], x["channel"])] = turnover.get((x["store"], x["channel"]), D(0)) + D(x["amount"])
        cursor = r.json().get("next_cursor")
        if not cursor:
            break
    assert turnover == {(A, "dine_in"): D("1600.00"), (A, "takeaway"): D("1600.00"),
                        (B, "dine_in"): D("1600.00"), (B, "takeaway"): D("1600.00")}

    # 2. B refuses a second wave it cannot cover (25 x 0.1 = 2.5 BEEF > 2): nothing moves.
    wave = s.create("sales", "dish_sale", {"store": B, "lines": [{"dish": ids["DISH"], "qty": "25", "price": "32.00"}]})
    r = s.fire("sales", "dish_sale", wave["id"], "post")
    assert r.status_code == 409, r.text
    assert (s.stock(NOODLE, B), s.stock(BEEF, B)) == (D(10), D(2))

    # 3. Requisition A <- K of 8 BEEF; 7 arrive.
    req = s.create("warehouse", "store_requisition", {"store": A, "kitchen": K, "lines": [{"item": BEEF, "qty": "8"}]})
    s.fire_ok("warehouse", "store_requisition", req["id"], "submit")
    issued = s.fire_ok("warehouse", "store_requisition", req["id"], "issue")["issued"]
    assert [D(x["qty"]) for x in issued] == [D(8)]
    assert (s.stock(BEEF, K), s.stock(BEEF, K, "in_transit")) == (D(12), D(8))
    done = s.fire_ok("warehouse", "store_requisition", req["id"], "receive",
                     {"receipts": [{"line": issued[0]["id"], "received_qty": "7"}]})
    assert [D(ln["received_qty"]) for ln in done["lines"]] == [D(7)]
    assert (s.stock(BEEF, A), s.stock(BEEF, K, "in_transit")) == (D(7), D(0))
    r = s.get("warehouse", "ledgers/stock/discrepancies", entity="store_requisition")
    assert r.status_code == 200, r.text
    assert [(D(x["sent"]), D(x["received"]), D(x["difference"]), x["state"]) for x in r.json()["data"]] == [
        (D(8), D(7), D(-1), "open")]

    # 4. The count at A lists what was sold beyond the book and finds the variance.
    # (lines per batch: a stocktake started empty gets one line per item with batches summed,
    # whose negative variance a batch ledger cannot post)
    batches = {x["batch_no"]: x["id"] for x in s.get("warehouse", "data/batch", limit=100).json()["data"]}
    st = s.create("warehouse", "stocktake", {"warehouse": A, "stocktake_line": [
        {"item": NOODLE, "warehouse": A, "batch": batches["NOODLE-A"]}, {"item": BEEF, "warehouse": A, "batch": batches["BEEF-K"]}]})
    started = s.fire_ok("warehouse", "stocktake", st["id"], "start")
    lines = {ln["item"]: ln for ln in started["stocktake_line"]}
    assert {i: (D(ln["system_qty"]), D(ln["shortfall_qty"] or 0)) for i, ln in lines.items()} == {
        NOODLE: (D(10), D(0)), BEEF: (D(7), D("4.0"))}
    counted = {NOODLE: "9.8", BEEF: "6.5"}
    doc = s.record("warehouse", "stocktake", st["id"])
    r = s.client.patch(f"/api/apps/{APP}/data/stocktake/{st['id']}", headers={
        **s.h("warehouse"), "If-Match": f'"{doc["version"]}"'},
        json={"stocktake_line": [{"id": ln["id"], "counted_qty": counted[ln["item"]]} for ln in doc["stocktake_line"]]})
    assert r.status_code == 200, r.text
    s.fire_ok("warehouse", "stocktake", st["id"], "submit_count")
    posted = s.fire_ok("manager", "stocktake", st["id"], "post")
    assert {ln["item"]: D(ln["variance"]) for ln in posted["stocktake_line"]} == {NOODLE: D("-0.2"), BEEF: D("-0.5")}
    assert (s.stock(NOODLE, A), s.stock(BEEF, A)) == (D("9.8"), D("6.5"))
    r = s.get("manager", "data/stock_shortfall", limit=100)
    assert {(x["state"], x["stocktake"]) for x in r.json()["data"]} == {("counted", st["id"])}
    assert verify(s.jimu.db, APP) == []


def test_prep_suggestion_from_the_last_four_same_weekdays(lunch: tuple[Http, dict[str, Any]]) -> None:
    """Monday 2026-01-05 at store A: on the four Mondays before, 牛肉面 sold 8 at 11:00 UTC and 2
    at 17:00, then 10 + 2, 12 + 2, 14 + 2: 10, 12, 14, 16 bowls, 52 / 4 = 13 to prepare; the
    peak hour is 11 with (8 + 10 + 12 + 14) / 4 = 11. Not counted: a Tuesday's 100, a draft
    Monday sale of 50, store B's 30.

    Mutation tried: the weekday filter off (``sale_date.in_(days)`` dropped): the Tuesday's
    100 counts (portions 38, not 13)."""
    from datetime import UTC, datetime

    from jimu.platform.actor import Actor
    from jimu.runtime.workflow.engine import WorkflowEngine

    s, ids = lunch
    eng, cashier = WorkflowEngine(s.jimu), Actor("cashier", ("sales",))

    def sold(store: int, day: str, hour: int, bowls: int, post: bool = True) -> None:
        previous = clock_mod.set_clock(clock_mod.ManualClock(frozen=datetime.fromisoformat(f"{day}T{hour:02d}:10:00")
                                                             .replace(tzinfo=UTC)))
        try:
            sale = s.jimu.records.create(APP, "dish_sale", {"store": store, "sale_date": day, "lines": [
                {"dish": ids["DISH"], "qty": bowls, "price": "32.00"}]}, actor=cashier)
            if post:
                eng.fire(APP, "dish_sale", sale["id"], "post", actor=cashier)
        finally:
            clock_mod.set_clock(previous)

    for day, lunch_bowls in (("2025-12-08", 8), ("2025-12-15", 10), ("2025-12-22", 12), ("2025-12-29", 14)):
        sold(ids["A"], day, 11, lunch_bowls)
        sold(ids["A"], day, 17, 2)
    sold(ids["A"], "2025-12-30", 11, 100)
    sold(ids["A"], "2025-12-29", 12, 50, post=False)
    sold(ids["B"], "2025-12-29", 11, 30)
    r = s.get("warehouse", "reports/prep-suggestion", store=ids["A"], date="2026-01-05")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["days"] == ["2025-12-08", "2025-12-15", "2025-12-22", "2025-12-29"]
    assert body["dishes"] == [{"dish": ids["DISH"], "portions": 13, "peak_hour": 11, "peak_portions": 11,
                               "history": ["10", "12", "14", "16"]}]
    # a role without dish sales does not see them (the gate answers 404 for an unreadable entity)
    assert s.get("purchasing", "reports/prep-suggestion", store=ids["A"]).status_code == 404
    assert s.get("warehouse", "reports/prep-suggestion").status_code == 422

"""One operator's day in a bike factory over HTTP (issue 21's proof), on SQLite and PostgreSQL.

The discrete manufacturing template without sample data, the clock frozen on Monday
2026-01-05. Master data (every figure below is worked out by hand from it):

- FG-BIKE: BOM FRAME 1, WHEEL 2, CHAIN 1; lead 2 days, safety stock 2; 2 on hand (batch
  BIKE-OPEN).
- SA-FRAME (welded and painted frame): BOM TUBE 3 with 10 % scrap; lead 3; routing 10 切管
  (6 min), 20 焊接 (18 min), 30 喷涂 (12 min).
- RM-TUBE (常州精铝): lead 7, safety 10, order multiple 2; 12 on hand (TUBE-OPEN).
- RM-WHEEL (宁波禾力): lead 5, minimum order 12; 4 on hand (WHEEL-OPEN).
- RM-CHAIN (宁波禾力): lead 5, lot for lot; none on hand; an open purchase order of 2
  expected 01-09.
- RM-FORK-RAW 10 on hand (FORK-OPEN); SA-FORK (a painted fork) is made by the coater 昆山恒彩
  from raw forks (subcontract, 1.2 kg each, tolerance 2 %).

The day:

1. Sales: 上海捷骑车行 orders 5 bikes at 999.00 for delivery 01-19.
2. MRP (day buckets from 01-05): BIKE 2 − 5 = −3 on 01-19, below safety 2 -> make 5 (not 3)
   due 01-19, released 01-17. FRAME 0 − 5 on 01-17 -> make 5 due 01-17, released 01-14.
   WHEEL 4 − 10 = −6 -> 6, raised to the minimum 12, due 01-17, released 01-12. CHAIN
   0 + 2 (01-09) − 5 = −3 -> 3 due 01-17, released 01-12; its open order is not needed
   before 01-17: defer. TUBE 5 × 3 × 1.1 = 16.5 on 01-14: 12 − 16.5 = −4.5, 14.5 short of
   safety 10 -> 16 (multiple of 2) due 01-14, released 01-07.
3. create_orders: PO 常州精铝 TUBE 16 expected 01-14; PO 宁波禾力 WHEEL 12 + CHAIN 3 expected
   01-17; WO FRAME 5 (01-14 -> 01-17), WO BIKE 5 (01-17 -> 01-19).
4. The three purchase orders are submitted, approved and received as supplier batches:
   TUBE 12 + 16 = 28, WHEEL 4 + 12 = 16, CHAIN 2 + 3 = 5.
5. The frame work order is released (TUBE 16.5 reserved: 12 from TUBE-OPEN, 4.5 from the
   received batch, first in first out) and started (issued: TUBE 28 − 16.5 = 11.5). Its
   operations are planned 30, 90, 60 minutes. Reports scanned by number: op 10 good 5 (28
   min) -> WIP 5; op 20 good 4, scrap 1 (95 min) -> WIP 4; op 30 good 3 (40 min) -> WIP 1;
   op 30 good 1 (14 min) -> WIP 0, op 30 has 54 minutes. Completed 4: batch = the WO number.
6. Subcontracting: 4 forks from 4 raw forks, counted 4, weighed 4.85 kg (4.8 ± 0.096):
   passed, SA-FORK on hand 4 in a batch numbered after the order; 3 forks from 3 raw forks,
   counted 3, weighed 3.30 (3.6 ± 0.072): quarantined 3, discrepancy sent 3 / received 3;
   raw forks 10 − 4 − 3 = 3, nothing in transit or at the coater.
7. Only 4 frames: the planner cuts the bike work order to 4 (release reserves FRAME 4, WHEEL
   8 = WHEEL-OPEN 4 + 4 received, CHAIN 4 = 2 + 2), start, complete: BIKE 2 + 4 = 6.
8. The order is submitted (reserving BIKE-OPEN 2 and 3 of the work order's batch),
   approved and shipped: BIKE 1 left.
9. Trace up from the shipped work-order batch: made by the bike work order (4) from the
   frame batch 4, WHEEL-OPEN 4, the received wheel batch 4 and chains 2 + 2; the frame batch
   was made from TUBE-OPEN 12 and 4.5 of the tube batch received on the PO from 常州精铝.
   Trace down from that supplier batch reaches the customer: 3 bikes to 上海捷骑车行.
``ledger verify`` is clean.

Mutations tried (each made this test fail):
- lead time ignored (engine ``release = due``): every release is its due date (the bike's
  01-19, not 01-17).
- scrap not applied in MRP (``_factors`` without ``× (1 + scrap_rate)``): the tube's
  planned quantity is 14 (12 − 15 → 13 short → 14), not 16.
- safety stock ignored (``ss = ZERO`` in ``_net``): the bike makes 3, not 5.
- the subcontract product received without a batch (``_product_batch`` returning None): no
  SA-FORK batch numbered after the order.
- the subcontract components sent without batches (``ship_transfer`` without ``rt``): send
  is 409, the raw forks are held in FORK-OPEN, not in the batchless row.
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

APP = "factory"
BASE = f"/api/apps/{APP}"
D = Decimal


class Day(BearerClient):
    def data(self, user: str, path: str, **params: Any) -> httpx.Response:
        return self.get(user, f"{BASE}/{path}", **params)

    def create(self, user: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(user, f"{BASE}/data/{entity}", body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def fire(self, user: str, entity: str, rid: Any, transition: str, inputs: dict[str, Any] | None = None
             ) -> dict[str, Any]:
        r = self.post(user, f"{BASE}/data/{entity}/{rid}/transitions/{transition}", {"inputs": inputs or {}})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def record(self, user: str, entity: str, rid: Any) -> dict[str, Any]:
        r = self.data(user, f"data/{entity}/{rid}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def rows(self, user: str, entity: str, filter: str) -> list[dict[str, Any]]:
        r = self.data(user, f"data/{entity}", filter=filter, limit=200)
        assert r.status_code == 200, r.text
        return sorted(r.json()["data"], key=lambda x: x["id"])

    def patch(self, user: str, entity: str, rid: Any, body: dict[str, Any]) -> dict[str, Any]:
        rec = self.record(user, entity, rid)
        r = self.client.patch(f"{BASE}/data/{entity}/{rid}", json=body,
                              headers={**self.h(user), "If-Match": f'"{rec["version"]}"'})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def stock(self, item: int, wh: int, bucket: str = "on_hand") -> Decimal:
        r = self.data("admin", "ledgers/stock/balances", item=item, warehouse=wh)
        assert r.status_code == 200, r.text
        return sum((D(row[bucket]) for row in r.json()["data"]), D(0))

    def by_batch(self, item: int, wh: int) -> dict[Any, Decimal]:
        r = self.data("admin", "ledgers/stock/balances", item=item, warehouse=wh)
        assert r.status_code == 200, r.text
        return {row["batch"]: D(row["on_hand"]) for row in r.json()["data"] if D(row["on_hand"])}


def _build(jimu: Any) -> dict[str, Any]:
    from jimu.cli.basics import ensure_demo_users
    from jimu.platform.actor import Actor
    from jimu.runtime.workflow.engine import WorkflowEngine
    from jimu.templates_market.installer import install_template

    ensure_demo_users(jimu)
    install_template(jimu, APP, "discrete_manufacturing", sample_data=False)
    rec = jimu.records
    ids: dict[str, Any] = {}
    ids["WH"] = rec.create(APP, "warehouse", {"name": "常州工厂仓", "code": "WH-CZ", "confirm_code": "6688"})["id"]
    ids["LOC"] = rec.create(APP, "warehouse", {"name": "昆山恒彩外协库位", "code": "WH-HC", "confirm_code": "6689"})["id"]
    for key, name in (("JL", "常州精铝管材有限公司"), ("HL", "宁波禾力传动件有限公司"), ("HC", "昆山恒彩表面处理有限公司")):
        ids[key] = rec.create(APP, "supplier", {"name": name})["id"]
    ids["CUST"] = rec.create(APP, "customer", {"code": "C101", "name": "上海捷骑车行"})["id"]
    for key, sku, name, extra in (
            ("BIKE", "FG-BIKE", "城市通勤自行车", {"lead_time_days": 2, "safety_stock": 2, "sale_price": "999.00"}),
            ("FRAME", "SA-FRAME", "喷涂车架", {"lead_time_days": 3}),
            ("TUBE", "RM-TUBE", "6061铝管", {"lead_time_days": 7, "safety_stock": 10, "order_multiple": 2,
                                          "default_supplier": ids["JL"]}),
            ("WHEEL", "RM-WHEEL", "700C轮组", {"lead_time_days": 5, "min_order_qty": 12, "default_supplier": ids["HL"]}),
            ("CHAIN", "RM-CHAIN", "链条", {"lead_time_days": 5, "default_supplier": ids["HL"]}),
            ("FORK_RAW", "RM-FORK-RAW", "前叉(未喷涂)", {}),
            ("FORK", "SA-FORK", "前叉(喷涂)", {})):
        ids[key] = rec.create(APP, "item", {"sku": sku, "name": name, **extra})["id"]
    for key, bno, qty in (("BIKE", "BIKE-OPEN", 2), ("TUBE", "TUBE-OPEN", 12), ("WHEEL", "WHEEL-OPEN", 4),
                          ("FORK_RAW", "FORK-OPEN", 10)):
        ids[bno] = rec.create(APP, "batch", {"item": ids[key], "batch_no": bno})["id"]
        rec.create(APP, "stock_adjustment", {"item": ids[key], "warehouse": ids["WH"], "batch": ids[bno], "qty": qty,
                                             "reason": "opening"})
    eng, mgr = WorkflowEngine(jimu), Actor("mgr", ("manager",))
    for product, lines in (("BIKE", [("FRAME", 1, 0), ("WHEEL", 2, 0), ("CHAIN", 1, 0)]),
                           ("FRAME", [("TUBE", 3, "0.1")])):
        bom = rec.create(APP, "bom", {"product": ids[product], "qty": 1, "lines": [
            {"item": ids[i], "qty": q, "scrap_rate": s} for i, q, s in lines]})
        eng.fire(APP, "bom", bom["id"], "activate", actor=mgr)
    wcs = {c: rec.create(APP, "work_center", {"code": c, "name": n})["id"]
           for c, n in (("WC-CUT", "下料"), ("WC-WELD", "焊接"), ("WC-PAINT", "喷涂"))}
    rec.create(APP, "routing", {"item": ids["FRAME"], "name": "车架工艺", "operations": [
        {"sequence": 10, "name": "切管", "work_center": wcs["WC-CUT"], "std_minutes": 6},
        {"sequence": 20, "name": "焊接", "work_center": wcs["WC-WELD"], "std_minutes": 18},
        {"sequence": 30, "name": "喷涂", "work_center": wcs["WC-PAINT"], "std_minutes": 12}]})
    ids["PO_CHAIN"] = rec.create(APP, "purchase_order", {
        "supplier": ids["HL"], "warehouse": ids["WH"], "expected_date": "2026-01-09",
        "lines": [{"item": ids["CHAIN"], "qty": 2, "price": "18.00"}]})["id"]
    return ids


@pytest.fixture
def day(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Day, dict[str, Any], Any]]:
    from jimu.runtime.api.app import create_app
    from jimu.runtime.context import Jimu

    monkeypatch.setenv("JIMU_TEST_CLOCK", "1")
    previous = clock_mod.set_clock(clock_mod.ManualClock(frozen=START))
    jimu = Jimu.open(db_url)
    try:
        ids = _build(jimu)
        with TestClient(create_app(jimu)) as client:
            yield Day(client), ids, jimu
    finally:
        jimu.close()
        clock_mod.set_clock(previous)


def _receive(s: Day, po: dict[str, Any], batches: dict[int, str]) -> None:
    s.fire("purchasing", "purchase_order", po["id"], "submit")
    s.fire("manager", "purchase_order", po["id"], "approve")
    done = s.fire("warehouse", "purchase_order", po["id"], "receive", {"lines": [
        {"line": ln["id"], "qty": ln["qty"], "batch_no": batches[ln["item"]]} for ln in po["lines"]]})
    assert done["state"] == "received", done


def test_factory_day(day: tuple[Day, dict[str, Any], Any]) -> None:
    s, ids, jimu = day
    WH, BIKE, FRAME, TUBE, WHEEL, CHAIN = ids["WH"], ids["BIKE"], ids["FRAME"], ids["TUBE"], ids["WHEEL"], ids["CHAIN"]
    sku = {ids[k]: k for k in ("BIKE", "FRAME", "TUBE", "WHEEL", "CHAIN", "FORK_RAW", "FORK")}

    # 1. The order.
    so = s.create("sales", "sales_order", {"customer": ids["CUST"], "warehouse": WH, "delivery_date": "2026-01-19",
                                           "lines": [{"item": BIKE, "qty": 5, "price": "999.00"}]})
    assert D(so["amount"]) == D("4995.00")

    # 2. MRP by day from today (2026-01-05).
    run = s.create("purchasing", "mrp_run", {"warehouse": WH, "bucket": "day", "horizon_days": 28})
    assert run["run_date"] == "2026-01-05"
    run = s.fire("purchasing", "mrp_run", run["id"], "calculate")
    lines = s.rows("purchasing", "mrp_line", f"run == {run['id']}")
    assert sorted((sku[ln["item"]], ln["level"], ln["action"], D(ln["net_qty"]), ln["due_date"], ln["release_date"],
                   ln["supplier"]) for ln in lines) == [
        ("BIKE", 0, "make", D(5), "2026-01-19", "2026-01-17", None),
        ("CHAIN", 1, "buy", D(3), "2026-01-17", "2026-01-12", ids["HL"]),
        ("FRAME", 1, "make", D(5), "2026-01-17", "2026-01-14", None),
        ("TUBE", 2, "buy", D(16), "2026-01-14", "2026-01-07", ids["JL"]),
        ("WHEEL", 1, "buy", D(12), "2026-01-17", "2026-01-12", ids["HL"])]
    gross = {sku[ln["item"]]: D(ln["gross_qty"]) for ln in lines}
    assert (gross["BIKE"], gross["FRAME"], gross["WHEEL"], gross["TUBE"]) == (D(5), D(5), D(10), D("16.5"))
    bike_line = next(ln for ln in lines if ln["item"] == BIKE)
    assert bike_line["pegging"] == f"{so['number']} @2026-01-19 ×5"
    exc = s.rows("purchasing", "mrp_exception", f"run == {run['id']}")
    chain_po = s.record("purchasing", "purchase_order", ids["PO_CHAIN"])
    assert [(sku[e["item"]], e["kind"], e["document"], e["date"], e["new_date"]) for e in exc] == [
        ("CHAIN", "defer", chain_po["number"], "2026-01-09", "2026-01-17")]

    # 3. Draft purchase orders by supplier, draft work orders with their dates.
    run = s.fire("purchasing", "mrp_run", run["id"], "create_orders")
    assert (run["state"], run["planned_orders"], run["exception_count"]) == ("ordered", 5, 1)
    pos = [s.record("purchasing", "purchase_order", p["id"])
           for p in s.rows("purchasing", "purchase_order", f'note == "MRP {run["number"]}"')]
    assert sorted((p["supplier"], p["expected_date"], p["state"], sorted((sku[ln["item"]], D(ln["qty"])) for ln in p["lines"]))
                  for p in pos) == sorted([
        (ids["JL"], "2026-01-14", "draft", [("TUBE", D(16))]),
        (ids["HL"], "2026-01-17", "draft", [("CHAIN", D(3)), ("WHEEL", D(12))])])
    wos = {sku[w["product"]]: w for w in s.rows("manager", "work_order", f'source == "{run["number"]}"')}
    assert {k: (D(w["qty"]), w["planned_start"], w["planned_end"], w["state"]) for k, w in wos.items()} == {
        "BIKE": (D(5), "2026-01-17", "2026-01-19", "draft"), "FRAME": (D(5), "2026-01-14", "2026-01-17", "draft")}

    # 4. Confirm and receive every purchase order as supplier batches.
    _receive(s, chain_po, {CHAIN: "HL-CH-0108"})
    for po in sorted(pos, key=lambda p: p["supplier"]):
        _receive(s, po, {TUBE: "JL-TUBE-0112", WHEEL: "HL-WHEEL-0115", CHAIN: "HL-CH-0115"})
    batch = {b["batch_no"]: b["id"] for b in s.data("admin", "data/batch", limit=100).json()["data"]}
    assert (s.stock(TUBE, WH), s.stock(WHEEL, WH), s.stock(CHAIN, WH)) == (D(28), D(16), D(5))
    assert s.by_batch(TUBE, WH) == {batch["TUBE-OPEN"]: D(12), batch["JL-TUBE-0112"]: D(16)}

    # 5. The frames: release, issue, operation reports by scanning the number, completion.
    frame_wo = wos["FRAME"]
    released = s.fire("manager", "work_order", frame_wo["id"], "release")
    assert [(sku[c["item"]], D(c["qty"])) for c in released["components"]] == [("TUBE", D("16.5"))]
    assert (s.stock(TUBE, WH, "reserved"), s.stock(TUBE, WH, "available")) == (D("16.5"), D("11.5"))
    assert [(o["sequence"], D(o["planned_minutes"])) for o in sorted(released["operations"], key=lambda o: o["sequence"])
            ] == [(10, D(30)), (20, D(90)), (30, D(60))]
    s.fire("warehouse", "work_order", frame_wo["id"], "start")
    assert s.by_batch(TUBE, WH) == {batch["JL-TUBE-0112"]: D("11.5")}  # first in, first out: TUBE-OPEN went first
    wip = []
    for op, good, scrap, minutes in ((10, 5, 0, 28), (20, 4, 1, 95), (30, 3, 0, 40), (30, 1, 0, 14)):
        rep = s.create("warehouse", "operation_report", {"work_order_number": frame_wo["number"], "operation": op,
                                                         "good_qty": good, "scrap_qty": scrap, "operator": "张师傅",
                                                         "minutes": minutes})
        assert rep["work_order"] == frame_wo["id"]
        wip.append(D(s.record("manager", "work_order", frame_wo["id"])["wip_qty"]))
    assert wip == [D(5), D(4), D(1), D(0)]
    ops = s.record("manager", "work_order", frame_wo["id"])["operations"]
    assert sorted((o["sequence"], D(o["good_qty"]), D(o["scrap_qty"]), D(o["actual_minutes"])) for o in ops) == [
        (10, D(5), D(0), D(28)), (20, D(4), D(1), D(95)), (30, D(4), D(0), D(54))]
    done = s.fire("warehouse", "work_order", frame_wo["id"], "complete", {"completed_qty": 4})
    assert D(done["completed_qty"]) == D(4)
    batch = {b["batch_no"]: b["id"] for b in s.data("admin", "data/batch", limit=100).json()["data"]}
    frame_batch = batch[frame_wo["number"]]
    assert s.by_batch(FRAME, WH) == {frame_batch: D(4)}

    # 6. Subcontracting: components out to the coater, product in with an inspection.
    def subcontract(qty: int, counted: str, weight: str) -> dict[str, Any]:
        sc = s.create("manager", "subcontract_order", {
            "supplier": ids["HC"], "item": ids["FORK"], "qty": qty, "unit_weight": "1.2", "warehouse": WH,
            "supplier_location": ids["LOC"], "components": [{"item": ids["FORK_RAW"], "qty": qty}]})
        s.fire("warehouse", "subcontract_order", sc["id"], "send")
        assert (s.stock(ids["FORK_RAW"], WH, "in_transit"), s.stock(ids["FORK_RAW"], ids["LOC"])) == (D(qty), D(0))
        return s.fire("warehouse", "subcontract_order", sc["id"], "receive",
                      {"received_qty": counted, "received_weight": weight})

    one = subcontract(4, "4", "4.85")
    assert one["inspection"] == "passed"
    forks = {b["batch_no"]: b["id"] for b in s.data("admin", "data/batch", filter=f"item == {ids['FORK']}").json()["data"]}
    assert s.by_batch(ids["FORK"], WH) == {forks[one["number"]]: D(4)}
    two = subcontract(3, "3", "3.30")
    assert two["inspection"] == "quarantined"
    assert (s.stock(ids["FORK"], WH), s.stock(ids["FORK"], WH, "quarantine")) == (D(4), D(3))
    assert (s.stock(ids["FORK_RAW"], WH), s.stock(ids["FORK_RAW"], WH, "in_transit"),
            s.stock(ids["FORK_RAW"], ids["LOC"])) == (D(3), D(0), D(0))
    disc = []
    for sc in (one, two):
        r = s.data("manager", "ledgers/stock/discrepancies", entity="subcontract_order", transfer=sc["id"])
        assert r.status_code == 200, r.text
        disc.append([(D(x["sent"]), D(x["received"]), x["state"]) for x in r.json()["data"]])
    assert disc == [[], [(D(3), D(3), "open")]]

    # 7. The bikes: four frames only, so the planner cuts the work order to 4.
    bike_wo = s.patch("manager", "work_order", wos["BIKE"]["id"], {"qty": 4})
    released = s.fire("manager", "work_order", bike_wo["id"], "release")
    assert sorted((sku[c["item"]], D(c["qty"])) for c in released["components"]) == [
        ("CHAIN", D(4)), ("FRAME", D(4)), ("WHEEL", D(8))]
    s.fire("warehouse", "work_order", bike_wo["id"], "start")
    assert s.by_batch(WHEEL, WH) == {batch["HL-WHEEL-0115"]: D(8)}  # WHEEL-OPEN 4 and 4 received went in
    assert s.by_batch(CHAIN, WH) == {batch["HL-CH-0115"]: D(1)}
    s.fire("warehouse", "work_order", bike_wo["id"], "complete")
    bike_batch = next(b["id"] for b in s.data("admin", "data/batch", limit=100).json()["data"]
                      if b["batch_no"] == bike_wo["number"])
    assert s.by_batch(BIKE, WH) == {batch["BIKE-OPEN"]: D(2), bike_batch: D(4)}

    # 8. Ship the bikes.
    s.fire("sales", "sales_order", so["id"], "submit")
    s.fire("manager", "sales_order", so["id"], "approve")
    shipped = s.fire("warehouse", "sales_order", so["id"], "ship",
                     {"warehouse_confirm_code": "6688", "logistics_no": "SF1234567890"})
    assert shipped["state"] in ("shipped", "completed"), shipped["state"]
    alloc = sorted((int(a["batch"]), D(a["qty"])) for a in shipped["lines"][0]["allocations"])
    assert alloc == sorted([(batch["BIKE-OPEN"], D(2)), (bike_batch, D(3))])
    assert s.by_batch(BIKE, WH) == {bike_batch: D(1)}

    # 9. Trace the shipped bike back to its component batches and the supplier's batch.
    r = s.get("manager", f"{BASE}/trace/batch/{bike_batch}", direction="up")
    assert r.status_code == 200, r.text
    up = r.json()
    made = up["produced_from"]
    assert [(m["document"]["entity"], m["document"]["number"], D(m["qty"])) for m in made] == [
        ("work_order", bike_wo["number"], D(4))]
    assert sorted((c["batch"]["id"], D(c["qty"])) for c in made[0]["components"]) == sorted([
        (frame_batch, D(4)), (batch["WHEEL-OPEN"], D(4)), (batch["HL-WHEEL-0115"], D(4)),
        (batch["HL-CH-0108"], D(2)), (batch["HL-CH-0115"], D(2))])
    assert [(x["customer"]["name"], D(x["qty"])) for x in up["shipped"]] == [("上海捷骑车行", D(3))]
    frame = next(p for p in up["parents"] if p["batch"]["id"] == frame_batch)
    assert sorted((c["batch"]["id"], D(c["qty"])) for c in frame["produced_from"][0]["components"]) == sorted([
        (batch["TUBE-OPEN"], D(12)), (batch["JL-TUBE-0112"], D("4.5"))])
    tube = next(p for p in frame["parents"] if p["batch"]["id"] == batch["JL-TUBE-0112"])
    assert [(x["document"]["entity"], x["supplier"]["name"], D(x["qty"])) for x in tube["received"]] == [
        ("purchase_order", "常州精铝管材有限公司", D(16))]
    r = s.get("manager", f"{BASE}/trace/batch/{batch['JL-TUBE-0112']}", direction="down")
    assert r.status_code == 200, r.text
    (frames,) = r.json()["children"]
    (bikes,) = frames["children"]
    assert bikes["batch"]["id"] == bike_batch
    assert [(x["customer"]["name"], D(x["qty"])) for x in bikes["shipped"]] == [("上海捷骑车行", D(3))]
    assert verify(jimu.db, APP) == []

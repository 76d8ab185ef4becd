"""A food recall over HTTP on the food template (DESIGN 16, issue 19).

Two flour batches are received (A: 100 expiring first, B: 60), three customers buy, a
work order mixes 80 flour into 10 bags of mix (FEFO: 50 of A, 30 of B), the mix is sold,
then batch A is recalled. Every figure below is worked out by hand:

- A: received 100; shipped C1 30 (SO1) and C2 20 (SO2); consumed 50 by the work order;
  0 left.  B: received 60; consumed 30 by the work order; shipped C3 10 (SO4); 20 left.
- MIX (made from A and B): 10 produced; shipped C3 5 (SO3), C1 2 (SO5); 1 held by an
  approved, unshipped order of C2 (SO6); 3 on hand.
- Recall of A reaches A and the mix (not B: going down never climbs to B), so the
  customers are C1 (30 flour + 2 mix), C2 (20 flour), C3 (5 mix) — not C3's 10 of B —
  shipped 57 in all; SO6's hold of 1 is released and all 3 bags left go to quarantine,
  B's 20 stay on hand.

Mutations tried and seen failing: the walk following components as well as consumption
(B and C3's 10 of B show up), the recall quarantining only available stock without
releasing holds (1 bag stays on hand), shipments classed as consumption (no customers),
no role check on recall (sales gets 201)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.core import clock
from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.templates_market.installer import install_template
from tests.bearer import BearerClient

APP = "food"
USERS = ("admin", "manager", "warehouse", "sales", "finance", "purchasing")
BASE = f"/api/apps/{APP}/data"


class Http(BearerClient):
    def create(self, user: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(user, f"{BASE}/{entity}", body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def fire(self, user: str, entity: str, rid: int, name: str, **inputs: Any) -> dict[str, Any]:
        r = self.post(user, f"{BASE}/{entity}/{rid}/transitions/{name}", {"inputs": inputs})
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture
def http(db_url: str) -> Iterator[tuple[Http, Jimu, str]]:
    jimu = Jimu.open(db_url)
    install_template(jimu, APP, "food", {"approvals": False}, sample_data=False)
    for user in USERS:
        jimu.users.create(user, user, [user])
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        yield Http(client), jimu, db_url
    jimu.close()


def _world(api: Http) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    ids["wh"] = api.create("admin", "warehouse", {"name": "Cold store", "confirm_code": "9"})["id"]
    ids["flour"] = api.create("admin", "item", {"sku": "FL-1", "name": "Flour"})["id"]
    ids["mix"] = api.create("admin", "item", {"sku": "MX-1", "name": "Cake mix"})["id"]
    ids["supplier"] = api.create("admin", "supplier", {"name": "Mill"})["id"]
    for c in ("C1", "C2", "C3"):
        ids[c] = api.create("admin", "customer", {"name": c})["id"]
    today = clock.today()
    for batch, qty, days in (("A", 100, 30), ("B", 60, 90)):
        po = api.create("purchasing", "purchase_order", {
            "supplier": ids["supplier"], "warehouse": ids["wh"],
            "lines": [{"item": ids["flour"], "qty": qty, "price": "2", "batch_no": batch,
                       "expiry_date": (today + timedelta(days=days)).isoformat()}]})
        api.fire("purchasing", "purchase_order", po["id"], "submit")
        api.fire("warehouse", "purchase_order", po["id"], "receive")
        ids[f"po_{batch}"] = po["id"]
    r = api.get("admin", f"{BASE}/batch", filter='batch_no == "A"')
    ids["A"] = r.json()["data"][0]["id"]
    ids["B"] = api.get("admin", f"{BASE}/batch", filter='batch_no == "B"').json()["data"][0]["id"]
    return ids


def _sell(api: Http, ids: dict[str, Any], customer: str, item: str, qty: int, *, ship: bool = True) -> int:
    so = api.create("sales", "sales_order", {"customer": ids[customer], "warehouse": ids["wh"],
                                             "lines": [{"item": ids[item], "qty": qty, "price": "5"}]})
    api.fire("sales", "sales_order", so["id"], "submit")
    if ship:
        api.fire("warehouse", "sales_order", so["id"], "ship", warehouse_confirm_code="9", logistics_no="L")
    return int(so["id"])


def _produce(api: Http, ids: dict[str, Any]) -> int:
    bom = api.create("manager", "bom", {"product": ids["mix"], "qty": 1, "lines": [{"item": ids["flour"], "qty": 8}]})
    api.fire("manager", "bom", bom["id"], "activate")
    wo = api.create("manager", "work_order", {"product": ids["mix"], "qty": 10, "warehouse": ids["wh"]})
    api.fire("manager", "work_order", wo["id"], "release")
    api.fire("warehouse", "work_order", wo["id"], "start")
    api.fire("warehouse", "work_order", wo["id"], "complete")
    return int(wo["id"])


def _balances(api: Http, batch: int) -> dict[str, Decimal]:
    rows = api.get("admin", f"/api/apps/{APP}/ledgers/stock/balances", batch=batch).json()["data"]
    out: dict[str, Decimal] = {}
    for r in rows:
        for bucket in ("on_hand", "reserved", "quarantine"):
            out[bucket] = out.get(bucket, Decimal(0)) + Decimal(r[bucket])
    return out


def test_recall_reaches_exactly_the_customers_and_quarantines_the_rest(http: tuple[Http, Jimu, str]) -> None:
    api, jimu, url = http
    ids = _world(api)
    so = {"SO1": _sell(api, ids, "C1", "flour", 30), "SO2": _sell(api, ids, "C2", "flour", 20)}
    wo = _produce(api, ids)
    mix = api.get("admin", f"{BASE}/batch", filter=f"item == {ids['mix']}").json()["data"]
    assert len(mix) == 1, mix  # the work order's number became the batch number
    ids["MIX"] = mix[0]["id"]
    so.update(SO3=_sell(api, ids, "C3", "mix", 5), SO4=_sell(api, ids, "C3", "flour", 10),
              SO5=_sell(api, ids, "C1", "mix", 2), SO6=_sell(api, ids, "C2", "mix", 1, ship=False))

    down = api.get("manager", f"/api/apps/{APP}/trace/batch/{ids['A']}", direction="down").json()
    assert [r["qty"] for r in down["received"]] == ["100.0000"]
    assert down["received"][0]["supplier"]["name"] == "Mill"
    assert {(s["customer"]["name"], s["qty"]) for s in down["shipped"]} == {("C1", "30.0000"), ("C2", "20.0000")}
    assert [(c["qty"], c["produced_batch"]["id"]) for c in down["consumed"]] == [("50.0000", ids["MIX"])]
    assert [c["batch"]["id"] for c in down["children"]] == [ids["MIX"]]
    child = down["children"][0]
    assert {(s["customer"]["name"], s["qty"]) for s in child["shipped"]} == {("C3", "5.0000"), ("C1", "2.0000")}
    assert {(c["batch"]["id"], c["qty"]) for c in child["produced_from"][0]["components"]} == {
        (ids["A"], "50.0000"), (ids["B"], "30.0000")}
    up = api.get("manager", f"/api/apps/{APP}/trace/batch/{ids['MIX']}", direction="up").json()
    assert {p["batch"]["id"] for p in up["parents"]} == {ids["A"], ids["B"]}
    made = up["produced_from"][0]
    assert (made["document"]["entity"], made["document"]["id"], made["qty"]) == ("work_order", wo, "10.0000")
    assert made["document"]["number"] == mix[0]["batch_no"]  # the work order's number

    # Sales may not read purchase or work orders: those entries stay out of its answer,
    # its own documents and the genealogy stay in.
    seen = api.get("sales", f"/api/apps/{APP}/trace/batch/{ids['A']}", direction="down").json()
    assert seen["received"] == [] and seen["consumed"] == [] and len(seen["shipped"]) == 2
    assert [c["batch"]["id"] for c in seen["children"]] == [ids["MIX"]]
    assert api.get("sales", f"/api/apps/{APP}/trace/batch/{ids['A']}", direction="sideways").status_code == 422

    url_recall = f"/api/apps/{APP}/trace/batch/{ids['A']}/recall"
    assert api.post("sales", url_recall, {"reason": "x"}).status_code == 403
    assert api.post("manager", url_recall, {}).status_code == 422
    assert api.post("manager", f"/api/apps/{APP}/trace/batch/999999/recall", {"reason": "x"}).status_code == 404
    r = api.post("manager", url_recall, {"reason": "Salmonella in lot A"})
    assert r.status_code == 201, r.text
    rec = r.json()
    shipped = sorted((x["customer"], x["batch"], Decimal(x["qty"])) for x in rec["lines"] if x["kind"] == "shipped")
    assert shipped == sorted([(ids["C1"], ids["A"], 30), (ids["C2"], ids["A"], 20),
                              (ids["C3"], ids["MIX"], 5), (ids["C1"], ids["MIX"], 2)])
    assert rec["customers_count"] == 3 and Decimal(rec["shipped_qty"]) == 57
    assert rec["batches_count"] == 2 and Decimal(rec["quarantined_qty"]) == 3
    assert _balances(api, ids["MIX"]) == {"on_hand": 0, "reserved": 0, "quarantine": 3}
    assert _balances(api, ids["A"]) == {"on_hand": 0, "reserved": 0, "quarantine": 0}
    assert _balances(api, ids["B"]) == {"on_hand": 20, "reserved": 0, "quarantine": 0}
    released = [line for line in rec["lines"] if line["kind"] == "released"]
    assert [(x["document"], Decimal(x["qty"])) for x in released] == [(f"sales_order#{so['SO6']}", 1)]
    status = {b["id"]: b["quality_status"] for b in api.get("admin", f"{BASE}/batch").json()["data"]}
    assert status[ids["A"]] == status[ids["MIX"]] == "quarantine" and status[ids["B"]] == "released"
    for user in ("sales", "finance"):
        inbox = api.get(user, f"/api/apps/{APP}/inbox").json()["data"]
        assert any(e["entity"] == "recall" and e["record"] == rec["id"] for e in inbox), inbox
    verify = subprocess.run([sys.executable, "-m", "jimu", "--database", url, "ledger", "verify", APP],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr

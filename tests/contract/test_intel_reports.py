"""Intelligence reports over HTTP on ``jimu demo`` (both backends): a real order flow (submit,
approve, ship 7 of an item with 8 in stock, in a warehouse of its own), then the
replenishment row, the forecast's last week and the rights, figures computed by hand.

By hand, window of 7 days ending today, the 7 shipped today: avg = 7 / 7 = 1.0000;
sample σ of (0, 0, 0, 0, 0, 0, 7) = √((6 × 1 + 36) / 6) = √7 = 2.6458; service level 0.5
→ z = 0, safety 0; L = 1: reorder point 1.0000; position = 8 − 7 = 1 ≤ 1, cover 3 days:
target 1 + 3 = 4, suggested 4 − 1 = 3.
Mutation tried: ``position < rop`` for ``position <= rop`` (suggested 0) fails.
"""

from __future__ import annotations

import uuid

from tests.contract.conftest import Server
from tests.contract.helpers import APP, add_stock, fire, new_item, new_order

BASE = f"/api/apps/{APP}/reports"


def test_reports_on_the_demo(server: Server) -> None:
    item = new_item(server)
    with server.client("admin") as c:
        r = c.post(f"/api/apps/{APP}/data/warehouse", json={"name": "补货仓-" + uuid.uuid4().hex[:8],
                                                              "confirm_code": "RP1"})
        assert r.status_code == 201, r.text
        wh = r.json()
    add_stock(server, item["id"], wh["id"], "8")
    so = new_order(server, [(item["id"], "7", "10.00")], warehouse=wh)
    assert fire(server, "sales", so, "submit").status_code == 200
    assert fire(server, "manager", so, "approve").status_code == 200
    r = fire(server, "warehouse", so, "ship", {"warehouse_confirm_code": "RP1", "logistics_no": "SF-RP"})
    assert r.status_code == 200, r.text
    with server.client("manager") as c:
        r = c.get(BASE + "/replenishment", params={"warehouse": wh["id"], "days": 7, "lead_time_days": 1,
                                                    "cover_days": 3, "service_level": "0.5"})
        assert r.status_code == 200, r.text
        row = next(x for x in r.json()["data"] if x["item"] == item["id"])
        assert {k: row[k] for k in ("on_hand", "avg_daily_demand", "demand_stdev", "safety_stock", "reorder_point",
                                    "suggested_qty")} == {
            "on_hand": "1.0000", "avg_daily_demand": "1.0000", "demand_stdev": "2.6458", "safety_stock": "0.0000",
            "reorder_point": "1.0000", "suggested_qty": "3.0000"}
        r = c.get(BASE + "/forecast", params={"item": item["id"], "history_weeks": 2})
        assert r.status_code == 200, r.text
        assert r.json()["history"][-1]["qty"] == "7.00"
        r = c.get(BASE + "/abc", params={"by": "movement"})
        assert any(x["item"] == item["id"] and x["measure"] == 1 for x in r.json()["data"])
        r = c.get(BASE + "/bri")
        assert r.status_code == 200 and len(r.json()["dimensions"]) == 4
    with server.client("purchasing") as c:
        r = c.get(BASE + "/replenishment")
        assert r.status_code == 403 and r.json()["code"] == "forbidden.report"
        r = c.post(BASE + "/replenishment/orders", json={"warehouse": wh["id"], "rows": [{"item": item["id"], "qty": "3"}]})
        assert r.status_code == 422 and r.json()["code"] == "replenishment.no_supplier", r.text
    with server.client("sales") as c:
        assert c.get(BASE + "/bri").json()["code"] == "forbidden.report"

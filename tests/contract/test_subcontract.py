"""Subcontracting over HTTP (DESIGN 16, Manufacturing: outsourcing), on every backend.

Sample stock at 上海一号仓: SA-FRAME 2, RM-TUBE 10, RM-RIM 20; tolerance param 2 %. By hand:

1. 4 frames (2.5 kg each) from 6 tubes: send -> tubes on hand 4, in transit 6. Received 4,
   weighed 10.1 kg (expected 4 × 2.5 = 10, |0.1| ≤ 0.2): passed -> frames on hand 6; the
   tubes leave transit (0) and the supplier location keeps nothing (arrived, consumed).
2. 2 frames from 3 rims, counted 1 (|1 − 2| > 0.04), weighed 2.5 (= 1 × 2.5): quarantined
   -> frames on hand 6, quarantine 1; a discrepancy ordered 2, counted 1 (−1).
3. 2 frames from 2 rims, counted 2, weighed 4.5 (expected 5, |0.5| > 0.1): quarantined ->
   quarantine 3, on hand 6; a discrepancy ordered 2, counted 2.
Rims: 20 − 3 − 2 = 15 on hand.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.contract.conftest import Server, first


def _app(server: Server) -> str:
    app = f"subc_{server.backend}"
    with server.client("admin") as c:
        r = c.post("/api/apps", json={"name": app, "label": {"zh": "委外", "en": "Subcontracting"},
                                      "template": "discrete_manufacturing"})
        assert r.status_code in (200, 201), r.text
    return app


def _bal(c: httpx.Client, app: str, item: int, wh: int) -> tuple[Decimal, Decimal, Decimal]:
    rows = c.get(f"/api/apps/{app}/ledgers/stock/balances", params={"item": item, "warehouse": wh}).json()["data"]
    return (sum((Decimal(r["on_hand"]) for r in rows), Decimal(0)), sum((Decimal(r["in_transit"]) for r in rows), Decimal(0)),
            sum((Decimal(r.get("quarantine") or 0) for r in rows), Decimal(0)))


def _order(c: httpx.Client, app: str, ids: dict[str, Any], qty: int, comp: str, comp_qty: int, counted: str, weight: str
           ) -> dict[str, Any]:
    r = c.post(f"/api/apps/{app}/data/subcontract_order", json={
        "supplier": ids["supplier"], "item": ids["SA-FRAME"], "qty": qty, "unit_weight": "2.5", "warehouse": ids["wh"],
        "supplier_location": ids["loc"], "components": [{"item": ids[comp], "qty": comp_qty}]})
    assert r.status_code == 201, r.text
    sc = r.json()
    assert sc["tolerance_pct"] == "2.0000"
    r = c.post(f"/api/apps/{app}/data/subcontract_order/{sc['id']}/transitions/send", json={"inputs": {}})
    assert r.status_code == 200, r.text
    if comp == "RM-TUBE":
        assert _bal(c, app, ids[comp], ids["wh"])[:2] == (Decimal(4), Decimal(6))
    r = c.post(f"/api/apps/{app}/data/subcontract_order/{sc['id']}/transitions/receive",
               json={"inputs": {"received_qty": counted, "received_weight": weight}})
    assert r.status_code == 200, r.text
    return dict(c.get(f"/api/apps/{app}/data/subcontract_order/{sc['id']}").json())


def test_subcontract_round_trip_with_inspection(server: Server) -> None:
    """Mutations tried: no weight check (order 3 passes: quarantine 1, not 3), the
    components not consumed at the supplier location (its tubes stay at 6), the product
    received without the quarantine move (quarantine 0), no discrepancy opened."""
    app = _app(server)
    with server.client("admin") as c:
        r = c.post(f"/api/apps/{app}/data/warehouse", json={"name": "飞轮委外库位", "code": "WH-SUB", "confirm_code": "0000"})
        assert r.status_code == 201, r.text
        loc = r.json()["id"]
    with server.client("manager") as c:
        ids: dict[str, Any] = {s: first(c, "item", app, filter=f'sku == "{s}"')["id"] for s in ("SA-FRAME", "RM-TUBE", "RM-RIM")}
        ids.update(wh=first(c, "warehouse", app, filter='name == "上海一号仓"')["id"], loc=loc,
                   supplier=first(c, "supplier", app, filter='name == "天津飞轮车业零部件有限公司"')["id"])
        one = _order(c, app, ids, 4, "RM-TUBE", 6, "4", "10.1")
        assert (one["state"], one["inspection"]) == ("received", "passed")
        assert _bal(c, app, ids["SA-FRAME"], ids["wh"]) == (6, 0, 0)
        assert _bal(c, app, ids["RM-TUBE"], ids["wh"]) == (4, 0, 0)
        assert _bal(c, app, ids["RM-TUBE"], loc) == (0, 0, 0)
        two = _order(c, app, ids, 2, "RM-RIM", 3, "1", "2.5")
        assert two["inspection"] == "quarantined"
        assert _bal(c, app, ids["SA-FRAME"], ids["wh"]) == (6, 0, 1)
        three = _order(c, app, ids, 2, "RM-RIM", 2, "2", "4.5")
        assert three["inspection"] == "quarantined"
        assert _bal(c, app, ids["SA-FRAME"], ids["wh"]) == (6, 0, 3)
        assert _bal(c, app, ids["RM-RIM"], ids["wh"]) == (15, 0, 0)
        got = []
        for sc in (one, two, three):
            r = c.get(f"/api/apps/{app}/ledgers/stock/discrepancies", params={"entity": "subcontract_order", "transfer": sc["id"]})
            assert r.status_code == 200, r.text
            got.append([(d["sent"], d["received"], d["state"]) for d in r.json()["data"]])
        assert got == [[], [("2.0000", "1.0000", "open")], [("2.0000", "2.0000", "open")]]

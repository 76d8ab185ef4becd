"""Routings and operation reports over HTTP (DESIGN 16, Manufacturing: the ``routing``
unit of the discrete manufacturing template), on every backend.

The demo's bike routing (sample data): 10 传动与刹车安装 12 min, 20 整车装配调校 25 min,
30 终检包装 8 min per bike. A work order for 5 bikes, released, gets three operations with planned minutes
60, 125, 40. Reports, by hand:

- op 10 by scanning the number: good 5, scrap 0, 30 min -> op 10 good 5; WIP 5 − 0 − 0 = 5
- op 20: good 4, scrap 1 -> op 20 reported 5 of the 5 op 10 delivered; WIP 5 − 1 − 0 = 4
- op 30: good 3 -> WIP 5 − 1 − 3 = 1
- op 30 again: 2 more -> 3 + 2 = 5 > 4 delivered by op 20: 422 operation_report.exceeds,
  available 1, nothing changes
- op 30: good 1 -> op 30 good 4, WIP 5 − 1 − 4 = 0.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.contract.conftest import Server, first, problem


def _app(server: Server) -> str:
    app = f"routing_{server.backend}"
    with server.client("admin") as c:
        r = c.post("/api/apps", json={"name": app, "label": {"zh": "制造", "en": "Manufacturing"},
                                      "template": "discrete_manufacturing"})
        assert r.status_code in (200, 201), r.text
    return app


def _report(c: httpx.Client, app: str, **body: Any) -> httpx.Response:
    return c.post(f"/api/apps/{app}/data/operation_report", json=body)


def _ops(c: httpx.Client, app: str, wo: dict[str, Any]) -> tuple[list[tuple[Any, ...]], str]:
    rec = c.get(f"/api/apps/{app}/data/work_order/{wo['id']}").json()
    return ([(o["sequence"], o["planned_minutes"], o["good_qty"], o["scrap_qty"], o["actual_minutes"])
             for o in sorted(rec["operations"], key=lambda o: o["sequence"])], rec["wip_qty"])


def test_release_copies_routing_and_reports_add_up(server: Server) -> None:
    """Mutations tried: copying std_minutes without × qty (planned 12/25/8 instead of
    60/125/40), checking against the work order qty instead of the previous operation
    (the 422 becomes 201), WIP without the later scrap (5 instead of 4 after op 20) all fail."""
    app = _app(server)
    with server.client("manager") as c:
        bike = first(c, "item", app, filter='sku == "FG-BIKE"')
        seat = first(c, "item", app, filter='sku == "RM-SADDLE"')
        wh = first(c, "warehouse", app, filter='name == "常州工厂仓"')
        # one component typed by hand: the reports need the routing, not the whole BOM
        r = c.post(f"/api/apps/{app}/data/work_order", json={"product": bike["id"], "qty": 5, "warehouse": wh["id"],
                                                             "components": [{"item": seat["id"], "qty": 5}]})
        assert r.status_code == 201, r.text
        wo = r.json()
        # a draft work order takes no reports
        problem(_report(c, app, work_order=wo["id"], operation=10, good_qty=1), 409)
        r = c.post(f"/api/apps/{app}/data/work_order/{wo['id']}/transitions/release", json={"inputs": {}})
        assert r.status_code == 200, r.text
        assert _ops(c, app, wo) == ([(10, "60.0000", "0.0000", "0.0000", "0.0000"),
                                     (20, "125.0000", "0.0000", "0.0000", "0.0000"),
                                     (30, "40.0000", "0.0000", "0.0000", "0.0000")], None)

    with server.client("warehouse") as c:  # the shop floor scans the work order's number
        r = _report(c, app, work_order_number=wo["number"], operation=10, good_qty=5, operator="张师傅", minutes=30)
        assert r.status_code == 201, r.text
        assert r.json()["work_order"] == wo["id"]
        assert _ops(c, app, wo)[1] == "5.0000"
        assert _report(c, app, work_order=wo["id"], operation=20, good_qty=4, scrap_qty=1, minutes=35).status_code == 201
        assert _ops(c, app, wo)[1] == "4.0000"
        assert _report(c, app, work_order=wo["id"], operation=30, good_qty=3, minutes=70).status_code == 201
        assert _ops(c, app, wo)[1] == "1.0000"

        body = problem(_report(c, app, work_order_number=wo["number"], operation=30, good_qty=2), 422)
        assert body["code"] == "operation_report.exceeds"
        assert (body["reported"], body["qty"], body["available"], body["limit"]) == ("3.0000", "2.0000", "1.0000", "4.0000")
        assert "3" in body["detail"] and "4" in body["detail"]
        problem(_report(c, app, work_order=wo["id"], operation=40, good_qty=1), 422)
        problem(_report(c, app, work_order_number="WO-NOPE", operation=10, good_qty=1), 422)

        assert _report(c, app, work_order=wo["id"], operation=30, good_qty=1, minutes=20).status_code == 201
        assert _ops(c, app, wo) == ([(10, "60.0000", "5.0000", "0.0000", "30.0000"),
                                     (20, "125.0000", "4.0000", "1.0000", "35.0000"),
                                     (30, "40.0000", "4.0000", "0.0000", "90.0000")], "0.0000")
        reports = c.get(f"/api/apps/{app}/data/operation_report", params={"filter": f"work_order == {wo['id']}"}).json()
        assert len(reports["data"]) == 4  # the refused ones left nothing

    with server.client("sales") as c:  # not a production role: the entity is not there for it
        assert _report(c, app, work_order=wo["id"], operation=10, good_qty=0).status_code == 404

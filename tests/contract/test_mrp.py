"""MRP over HTTP (DESIGN 16, Manufacturing): ``calculate`` and ``create_orders`` of an
``mrp_run`` in a discrete manufacturing app made from the market, on every backend.

The demo's bike order (10, no delivery date: wanted on its order date, the run date) with
the sample stock, safety stocks and lead times, computed by hand:
bikes 3 on hand, safety 2 -> make 9; frames 2 - 9 -> make 9 (safety 2); wheels 5 - 18
-> make 17 (safety 4); tubes 10 - 9 - 27 -> buy 46 (safety 20); spokes 100 - 612 -> 712
-> buy 800 (multiple 100); rims 20 - 17 -> buy 7 (safety 10); seats and chains stay
above their safety stock. All three bought items have the same default supplier and the
same due date (the run date): one purchase order with three lines."""

from __future__ import annotations

from typing import Any

import httpx

from tests.contract.conftest import Server, first, problem


def _app(server: Server, suffix: str) -> str:
    app = f"mrp_{suffix}_{server.backend}"
    with server.client("admin") as c:
        r = c.post("/api/apps", json={"name": app, "label": {"zh": "制造", "en": "Manufacturing"},
                                      "template": "discrete_manufacturing"})
        assert r.status_code in (200, 201), r.text
    return app


def _fire(c: httpx.Client, app: str, run: dict[str, Any], name: str) -> httpx.Response:
    return c.post(f"/api/apps/{app}/data/mrp_run/{run['id']}/transitions/{name}", json={"inputs": {}})


def _rows(c: httpx.Client, app: str, run: dict[str, Any], entity: str = "mrp_line") -> list[dict[str, Any]]:
    r = c.get(f"/api/apps/{app}/data/{entity}", params={"filter": f"run == {run['id']}", "limit": 200})
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def _skus(c: httpx.Client, app: str) -> dict[int, str]:
    r = c.get(f"/api/apps/{app}/data/item", params={"limit": 200, "filter": 'CONTAINS(sku, "-")'})
    assert r.status_code == 200, r.text
    return {i["id"]: i["sku"] for i in r.json()["data"]}


def test_calculate_and_create_orders(server: Server) -> None:
    app = _app(server, "calc")
    with server.client("manager") as c:
        run = first(c, "mrp_run", app)
        r = _fire(c, app, run, "calculate")
        assert r.status_code == 200, r.text
        run = c.get(f"/api/apps/{app}/data/mrp_run/{run['id']}").json()
        sku = _skus(c, app)
        got = sorted((sku[ln["item"]], ln["action"], ln["net_qty"], ln["level"], ln["due_date"] == run["run_date"])
                     for ln in _rows(c, app, run))
        assert got == [("FG-BIKE", "make", "9.0000", 0, True), ("RM-RIM", "buy", "7.0000", 2, True),
                       ("RM-SPOKE", "buy", "800.0000", 2, True), ("RM-TUBE", "buy", "46.0000", 2, True),
                       ("SA-FRAME", "make", "9.0000", 1, True), ("SA-WHEEL", "make", "17.0000", 1, True)]
        bike = next(ln for ln in _rows(c, app, run) if sku[ln["item"]] == "FG-BIKE")
        order = first(c, "sales_order", app, filter="state == \"draft\"")
        # on hand 3 keeps the safety stock of 2 and gives 1: the planned 9 cover the rest of the order
        assert bike["pegging"] == f"{order['number']} @{order['order_date']} ×9"
        # lead times of 5-7 days before a due date of today: every release is past due
        assert sorted(sku[e["item"]] for e in _rows(c, app, run, "mrp_exception") if e["kind"] == "past_due") == [
            "FG-BIKE", "RM-RIM", "RM-SPOKE", "RM-TUBE", "SA-FRAME", "SA-WHEEL"]

        r = _fire(c, app, run, "create_orders")
        assert r.status_code == 200, r.text
        done = c.get(f"/api/apps/{app}/data/mrp_run/{run['id']}").json()
        assert done["state"] == "ordered" and all(ln["document"] for ln in _rows(c, app, done))
        assert (done["planned_orders"], done["exception_count"]) == (6, 6)
        pos = c.get(f"/api/apps/{app}/data/purchase_order",
                    params={"filter": f'note == "MRP {run["number"]}"', "limit": 10}).json()["data"]
        assert len(pos) == 1 and pos[0]["expected_date"] == run["run_date"]
        po = c.get(f"/api/apps/{app}/data/purchase_order/{pos[0]['id']}").json()
        assert sorted((sku[ln["item"]], ln["qty"]) for ln in po["lines"]) == [
            ("RM-RIM", "7.0000"), ("RM-SPOKE", "800.0000"), ("RM-TUBE", "46.0000")]
        wos = c.get(f"/api/apps/{app}/data/work_order",
                    params={"filter": f'source == "{run["number"]}"', "limit": 10}).json()["data"]
        assert sorted((sku[w["product"]], w["qty"], w["planned_end"], w["state"]) for w in wos) == [
            ("FG-BIKE", "9.0000", run["run_date"], "draft"), ("SA-FRAME", "9.0000", run["run_date"], "draft"),
            ("SA-WHEEL", "17.0000", run["run_date"], "draft")]
        lines = {ln["item"]: ln for ln in _rows(c, app, done)}
        assert {lines[w["product"]]["document"] for w in wos} == {w["number"] for w in wos}


def test_create_orders_refuses_a_line_without_supplier(server: Server) -> None:
    """The rims lose their default supplier and were never bought: 422 ``mrp.supplier``
    naming ``RM-RIM 铝合金轮圈``, nothing created; skipping the line lets the rest through."""
    app = _app(server, "nosup")
    with server.client("manager") as c:
        rim = first(c, "item", app, filter='sku == "RM-RIM"')
        r = c.patch(f"/api/apps/{app}/data/item/{rim['id']}", json={"default_supplier": None},
                    headers={"If-Match": f'"{rim["version"]}"'})
        assert r.status_code == 200, r.text
        run = first(c, "mrp_run", app)
        assert _fire(c, app, run, "calculate").status_code == 200
        run = c.get(f"/api/apps/{app}/data/mrp_run/{run['id']}").json()
        assert next(ln for ln in _rows(c, app, run) if ln["item"] == rim["id"])["supplier"] is None
        body = problem(_fire(c, app, run, "create_orders"), 422)
        assert body["code"] == "mrp.supplier" and "RM-RIM 铝合金轮圈" in body["detail"]
        assert c.get(f"/api/apps/{app}/data/mrp_run/{run['id']}").json()["state"] == "calculated"
        assert c.get(f"/api/apps/{app}/data/work_order", params={"filter": f'source == "{run["number"]}"'}
                     ).json()["data"] == []
        line = next(ln for ln in _rows(c, app, run) if ln["item"] == rim["id"])
        r = c.patch(f"/api/apps/{app}/data/mrp_line/{line['id']}", json={"status": "skipped"},
                    headers={"If-Match": f'"{line["version"]}"'})
        assert r.status_code == 200, r.text
        assert _fire(c, app, run, "create_orders").status_code == 200
        done = c.get(f"/api/apps/{app}/data/mrp_run/{run['id']}").json()
        assert {(ln["item"] == rim["id"], ln["status"], bool(ln["document"])) for ln in _rows(c, app, done)} == {
            (True, "skipped", False), (False, "ordered", True)}

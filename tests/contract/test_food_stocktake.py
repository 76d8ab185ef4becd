"""FEFO on the food template and the stocktake trace (DESIGN 15)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from tests.contract.conftest import Server, first, problem
from tests.contract.helpers import APP, add_stock, fire, get, new_item, start_stocktake


def test_food_template_allocates_first_expiry_first_out(server: Server) -> None:
    app = "food_" + uuid.uuid4().hex[:6]
    with server.client("admin") as c:
        r = c.post("/api/apps", json={"name": app, "label": {"zh": "食品", "en": "Food"}, "template": "food"})
        assert r.status_code == 201, r.text
        wh = first(c, "warehouse", app=app)
        supplier = first(c, "supplier", app=app)
        customer = first(c, "customer", app=app)
        item = c.post(f"/api/apps/{app}/data/item", json={"sku": "F-" + uuid.uuid4().hex[:8], "name": "鲜牛奶",
                                                         "unit": "盒", "cost_price": "3.00", "sale_price": "5.00"}).json()
    with server.client("purchasing") as c:
        po = c.post(f"/api/apps/{app}/data/purchase_order", json={
            "supplier": supplier["id"], "warehouse": wh["id"], "lines": [
                {"item": item["id"], "qty": "5", "price": "3.00", "batch_no": "LATE",
                 "production_date": "2026-11-01", "expiry_date": "2027-03-01"},
                {"item": item["id"], "qty": "5", "price": "3.00", "batch_no": "EARLY",
                 "production_date": "2026-10-01", "expiry_date": "2027-01-01"}]})
        assert po.status_code == 201, po.text
        po = po.json()
    for user, t in (("purchasing", "submit"), ("manager", "approve"), ("warehouse", "receive")):
        assert fire(server, user, po, t, entity="purchase_order", app=app).status_code == 200
    with server.client("sales") as c:
        so = c.post(f"/api/apps/{app}/data/sales_order", json={
            "customer": customer["id"], "warehouse": wh["id"],
            "lines": [{"item": item["id"], "qty": "7", "price": "5.00"}]}).json()
    assert fire(server, "sales", so, "submit", app=app).status_code == 200
    assert fire(server, "manager", so, "approve", app=app).status_code == 200
    ok = fire(server, "warehouse", so, "ship", {"warehouse_confirm_code": wh["confirm_code"], "logistics_no": "SF9"},
              app=app)
    assert ok.status_code == 200, ok.text
    with server.client("admin") as c:
        rows = c.get(f"/api/apps/{app}/ledgers/stock/balances", params={"item": item["id"]}).json()["data"]
        batches = {b["id"]: b["batch_no"] for b in c.get(f"/api/apps/{app}/data/batch", params={"limit": 500}).json()["data"]}
    by_batch = {batches.get(r["batch"]): Decimal(r["on_hand"]) for r in rows}
    assert by_batch["EARLY"] == Decimal(0) and by_batch["LATE"] == Decimal(3)
    assert all("batch" in r for r in rows)
    # the line says which batches went out (EARLY 5, then LATE 2), and so does the log
    line = ok.json()["lines"][0]
    assert [(batches[a["batch"]], Decimal(a["qty"])) for a in line["allocations"]] == [
        ("EARLY", Decimal(5)), ("LATE", Decimal(2))]
    assert line["batch"] is None  # two batches: none single
    with server.client("warehouse") as c:
        r = c.get(f"/api/apps/{app}/ledgers/stock/movements", params={"entity": "sales_order", "record": so["id"]})
        assert r.status_code == 200, r.text
        moves = r.json()["data"]
    shipped = [(batches[m["batch"]], Decimal(m["qty"]), m["from_bucket"]) for m in moves if m["kind"] == "ship"]
    assert shipped == [("EARLY", Decimal(5), "on_hand"), ("LATE", Decimal(2), "on_hand")]
    assert {m["document"]["number"] for m in moves} == {so["number"]}


def test_stocktake_trace(server: Server) -> None:
    with server.client("admin") as c:
        wh = first(c, "warehouse")
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "10")
    st = start_stocktake(server, wh["id"], item["id"])
    st = get(server, "warehouse", "stocktake", st["id"])
    line = st["stocktake_line"][0]
    assert Decimal(line["system_qty"]) == Decimal(10)
    with server.client("warehouse") as c:
        r = c.patch(f"/api/apps/{APP}/data/stocktake/{st['id']}", headers={"If-Match": f'"{st["version"]}"'},
                    json={"stocktake_line": [{"id": line["id"], "counted_qty": "8"}]})
        assert r.status_code == 200, r.text
        line = r.json()["stocktake_line"][0]
    assert Decimal(line["variance"]) == Decimal(-2)
    assert Decimal(line["variance_rate"]).quantize(Decimal("0.01")) == Decimal("0.20")
    assert fire(server, "warehouse", st, "submit_count", entity="stocktake").status_code == 200
    problem(fire(server, "warehouse", st, "post", entity="stocktake"), 403)
    assert fire(server, "manager", st, "post", entity="stocktake").status_code == 200
    with server.client("manager") as c:
        trace = c.get(f"/api/apps/{APP}/data/stocktake_line/{line['id']}/trace").json()
    assert set(trace) >= {"data", "next_cursor"} and trace["data"]
    assert {"user", "at"} <= set(trace["data"][0])

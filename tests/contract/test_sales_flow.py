"""The standard template's sales-order workflow, reservations and roles (DESIGN 15)."""

from __future__ import annotations

from decimal import Decimal

from tests.contract.conftest import Server, first, problem
from tests.contract.helpers import APP, add_stock, balance, fire, get, new_item, new_order


def _warehouse(server: Server) -> dict:
    with server.client("admin") as c:
        return first(c, "warehouse")


def test_full_flow_reserve_approve_ship(server: Server) -> None:
    wh = _warehouse(server)
    a, b = new_item(server), new_item(server)
    add_stock(server, a["id"], wh["id"], "10")
    add_stock(server, b["id"], wh["id"], "5")
    so = new_order(server, [(a["id"], "3", "100.00"), (b["id"], "2", "50.00")], warehouse=wh)
    assert so["state"] == "draft" and so["amount"] == "400.00"
    with server.client("sales") as c:
        problem(c.patch(f"/api/apps/{APP}/data/sales_order/{so['id']}", json={"state": "approved"},
                        headers={"If-Match": f'"{so["version"]}"'}), 409)
    assert fire(server, "sales", so, "submit").status_code == 200
    assert balance(server, a["id"], wh["id"])["reserved"] == Decimal(3)
    assert balance(server, a["id"], wh["id"])["available"] == Decimal(7)
    problem(fire(server, "sales", so, "approve"), 403)
    r = fire(server, "manager", so, "approve")
    assert r.status_code == 200, r.text
    assert get(server, "sales", "sales_order", so["id"])["state"] == "approved"
    wrong = problem(fire(server, "warehouse", so, "ship", {"warehouse_confirm_code": "nope", "logistics_no": "SF1"}), 422)
    assert any(e["field"] == "warehouse_confirm_code" for e in wrong["errors"])
    problem(fire(server, "warehouse", so, "ship", {"warehouse_confirm_code": wh["confirm_code"]}), 422)
    ok = fire(server, "warehouse", so, "ship", {"warehouse_confirm_code": wh["confirm_code"], "logistics_no": "SF123"})
    assert ok.status_code == 200, ok.text
    shipped = get(server, "sales", "sales_order", so["id"])
    assert shipped["state"] == "shipped" and shipped["logistics_no"] == "SF123"
    bal = balance(server, a["id"], wh["id"])
    assert bal["on_hand"] == Decimal(7) and bal["reserved"] == Decimal(0)
    assert fire(server, "sales", so, "complete").status_code == 200


def test_illegal_jump_lists_allowed_transitions(server: Server) -> None:
    wh = _warehouse(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "5")
    so = new_order(server, [(item["id"], "1", "10.00")], warehouse=wh)
    fire(server, "sales", so, "submit")
    fire(server, "manager", so, "approve")
    body = problem(fire(server, "sales", so, "complete"), 409)
    assert "allowed" in body and "complete" not in body["allowed"]


def test_second_approval_above_5000(server: Server) -> None:
    wh = _warehouse(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "100")
    so = new_order(server, [(item["id"], "60", "100.00")], warehouse=wh)
    assert Decimal(so["amount"]) > 5000
    fire(server, "sales", so, "submit")
    assert fire(server, "manager", so, "approve").status_code == 200
    assert get(server, "sales", "sales_order", so["id"])["state"] == "pending_approval"
    assert fire(server, "vp", so, "approve").status_code == 200
    assert get(server, "sales", "sales_order", so["id"])["state"] == "approved"


def test_submit_without_stock_is_409_and_cancel_releases(server: Server) -> None:
    wh = _warehouse(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "2")
    too_many = new_order(server, [(item["id"], "3", "1.00")], warehouse=wh)
    problem(fire(server, "sales", too_many, "submit"), 409)
    assert get(server, "sales", "sales_order", too_many["id"])["state"] == "draft"
    so = new_order(server, [(item["id"], "2", "1.00")], warehouse=wh)
    assert fire(server, "sales", so, "submit").status_code == 200
    assert balance(server, item["id"], wh["id"])["reserved"] == Decimal(2)
    assert fire(server, "sales", so, "cancel").status_code == 200
    bal = balance(server, item["id"], wh["id"])
    assert bal["reserved"] == Decimal(0) and bal["available"] == Decimal(2)


def test_purchase_receive_posts_on_hand(server: Server) -> None:
    wh = _warehouse(server)
    item = new_item(server)
    with server.client("admin") as c:
        supplier = first(c, "supplier")
    with server.client("purchasing") as c:
        r = c.post(f"/api/apps/{APP}/data/purchase_order", json={
            "supplier": supplier["id"], "warehouse": wh["id"],
            "lines": [{"item": item["id"], "qty": "8", "price": "3.00"}]})
        assert r.status_code == 201, r.text
        po = r.json()
    assert fire(server, "purchasing", po, "submit", entity="purchase_order").status_code == 200
    assert fire(server, "manager", po, "approve", entity="purchase_order").status_code == 200
    problem(fire(server, "purchasing", po, "receive", entity="purchase_order"), 403)
    assert fire(server, "warehouse", po, "receive", entity="purchase_order").status_code == 200
    assert balance(server, item["id"], wh["id"])["on_hand"] == Decimal(8)


def test_stock_adjustment_posts_when_created(server: Server) -> None:
    wh = _warehouse(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "4")
    with server.client("warehouse") as c:
        r = c.post(f"/api/apps/{APP}/data/stock_adjustment",
                   json={"item": item["id"], "warehouse": wh["id"], "qty": "-1", "reason": "damage"})
        assert r.status_code == 201, r.text
    assert balance(server, item["id"], wh["id"])["on_hand"] == Decimal(3)
    with server.client("sales") as c:  # sales has no right on stock adjustments: they do not exist for it
        problem(c.post(f"/api/apps/{APP}/data/stock_adjustment",
                       json={"item": item["id"], "warehouse": wh["id"], "qty": "1", "reason": "opening"}), 404)
    with server.client("purchasing") as c:  # purchasing may read them, not create them
        r = c.post(f"/api/apps/{APP}/data/stock_adjustment",
                   json={"item": item["id"], "warehouse": wh["id"], "qty": "1", "reason": "opening"})
        assert r.status_code in (403, 404), r.text


def test_states_lock_what_they_do_not_list_as_editable(server: Server) -> None:
    """An approved order keeps its lines and amount: the state's editable_fields (note,
    payment_status) are all the API lets change; a final state locks everything."""
    wh = _warehouse(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "10")
    so = new_order(server, [(item["id"], "2", "10.00")], warehouse=wh)
    fire(server, "sales", so, "submit")
    assert fire(server, "manager", so, "approve").status_code == 200
    url = f"/api/apps/{APP}/data/sales_order/{so['id']}"
    with server.client("admin") as c:
        current = c.get(url).json()
        etag = {"If-Match": f'"{current["version"]}"'}
        lines = [{"item": item["id"], "qty": "200", "price": "10.00"}]
        body = problem(c.patch(url, json={"lines": lines, "note": "x"}, headers=etag), 409)
        assert body["code"] == "workflow.state_locked" and [e["field"] for e in body["errors"]] == ["lines"]
        assert body["state"] == "approved" and "note" in body["editable"]
        assert c.get(url).json()["amount"] == "20.00"  # nothing written
        same = c.patch(url, json={"customer": current["customer"], "note": "call first"}, headers=etag)
        assert same.status_code == 200, same.text  # an unchanged value sent back is fine
        assert fire(server, "warehouse", same.json(), "ship",
                    {"warehouse_confirm_code": wh["confirm_code"], "logistics_no": "SF9"}).status_code == 200
        assert fire(server, "sales", same.json(), "complete").status_code == 200
        done = c.get(url).json()
        body = problem(c.patch(url, json={"note": "late"}, headers={"If-Match": f'"{done["version"]}"'}), 409)
        assert body["code"] == "workflow.state_locked" and body["state"] == "completed"

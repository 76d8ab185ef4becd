"""Sales and purchase returns over HTTP (DESIGN 16 "Stock operations"): a return never
takes back more than its order moved less earlier returns (422 ``return.exceeds`` with the
numbers), quality returns land in quarantine, and every stock error names the item as
``sku name`` in the caller's language. Every balance below is computed by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.contract.conftest import Server, first, problem
from tests.contract.helpers import APP, add_stock, fire, get, new_item, new_order

D = Decimal


def _wh(server: Server) -> dict[str, Any]:
    with server.client("admin") as c:
        return first(c, "warehouse")


def _bal(server: Server, item: int, wh: int) -> dict[str, Decimal]:
    with server.client("admin") as c:
        r = c.get(f"/api/apps/{APP}/ledgers/stock/balances", params={"item": item, "warehouse": wh})
        assert r.status_code == 200, r.text
        (row,) = r.json()["data"]
    return {k: D(row[k]) for k in ("on_hand", "reserved", "quarantine", "available")}


def _shipped_order(server: Server, wh: dict[str, Any], lines: list[tuple[int, str, str]]) -> dict[str, Any]:
    so = new_order(server, lines, warehouse=wh)
    for user, name, inputs in (("sales", "submit", None), ("manager", "approve", None),
                               ("warehouse", "ship", {"warehouse_confirm_code": wh["confirm_code"],
                                                      "logistics_no": "SF-RET"})):
        r = fire(server, user, so, name, inputs)
        assert r.status_code == 200, r.text
    return so


def _sales_return(server: Server, so: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    with server.client("sales") as c:
        r = c.post(f"/api/apps/{APP}/data/sales_return", json={"sales_order": so["id"], "lines": lines})
        assert r.status_code == 201, r.text
        return dict(r.json())


def test_quality_return_lands_in_quarantine_and_the_rest_on_hand(server: Server) -> None:
    """Opening 20, ship 8 -> on_hand 12. Return 3 for quality + 2 other -> on_hand 14,
    quarantine 3, available 14 (quarantine is never available).

    Mutation caught: routing quality lines to on_hand (on_hand 17, quarantine 0), or
    counting quarantine as available (available 17)."""
    wh = _wh(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "20")
    so = _shipped_order(server, wh, [(item["id"], "8", "10.00")])
    assert _bal(server, item["id"], wh["id"]) == {"on_hand": D(12), "reserved": D(0), "quarantine": D(0),
                                                  "available": D(12)}
    ret = _sales_return(server, so, [{"item": item["id"], "qty": "3", "reason": "quality"},
                                     {"item": item["id"], "qty": "2", "reason": "other"}])
    assert ret["state"] == "draft"
    problem(fire(server, "sales", ret, "approve", entity="sales_return"), 403)  # the manager approves
    r = fire(server, "manager", ret, "approve", entity="sales_return")
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["state"] == "approved"
    assert approved["customer"] == so["customer"] and approved["warehouse"] == wh["id"]  # taken from the order
    assert _bal(server, item["id"], wh["id"])["on_hand"] == D(12)  # nothing moves before the goods arrive
    problem(fire(server, "manager", ret, "receive", entity="sales_return"), 403)  # the warehouse receives
    r = fire(server, "warehouse", ret, "receive", entity="sales_return")
    assert r.status_code == 200, r.text
    assert get(server, "warehouse", "sales_return", ret["id"])["state"] == "received"
    assert _bal(server, item["id"], wh["id"]) == {"on_hand": D(14), "reserved": D(0), "quarantine": D(3),
                                                  "available": D(14)}


def test_sales_return_above_shipped_less_earlier_returns_is_422_with_the_numbers(server: Server) -> None:
    """Shipped 5; a first return of 4 is received; a second of 2 asks more than 5 - 4 = 1.

    Mutation caught: not subtracting earlier returns (the second return would pass) or
    reading the ordered instead of the shipped quantity."""
    wh = _wh(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "10")
    so = _shipped_order(server, wh, [(item["id"], "5", "10.00")])
    # Never shipped: an item not on the order has nothing to return.
    other = new_item(server)
    stray = _sales_return(server, so, [{"item": other["id"], "qty": "1"}])
    body = problem(fire(server, "manager", stray, "approve", entity="sales_return"), 422)
    assert body["code"] == "return.exceeds" and body["lines"][0]["returnable"] == "0.0000"

    first_ret = _sales_return(server, so, [{"item": item["id"], "qty": "4"}])
    assert fire(server, "manager", first_ret, "approve", entity="sales_return").status_code == 200
    assert fire(server, "warehouse", first_ret, "receive", entity="sales_return").status_code == 200
    second = _sales_return(server, so, [{"item": item["id"], "qty": "2"}])
    with server.client("manager") as c:
        r = c.post(f"/api/apps/{APP}/data/sales_return/{second['id']}/transitions/approve",
                   json={"inputs": {}}, headers={"Accept-Language": "en-US,en;q=0.9"})
    body = problem(r, 422)
    assert body["code"] == "return.exceeds"
    (line,) = body["lines"]
    assert (line["requested"], line["moved"], line["returned"], line["returnable"]) == (
        "2.0000", "5.0000", "4.0000", "1.0000")
    label = f"{item['sku']} {item['name']}"
    assert body["detail"] == (f"Return of {label} exceeds what was shipped: requested 2, shipped 5, "
                              f"already returned 4, returnable 1")
    assert body["errors"][0]["field"] == "lines.0.qty"
    assert get(server, "manager", "sales_return", second["id"])["state"] == "draft"  # nothing applied
    # 10 - 5 + 4 back on hand
    assert _bal(server, item["id"], wh["id"])["on_hand"] == D(9)


def _received_po(server: Server, wh: dict[str, Any], item: int, qty: str) -> dict[str, Any]:
    with server.client("admin") as admin:
        supplier = first(admin, "supplier")
    with server.client("purchasing") as c:
        r = c.post(f"/api/apps/{APP}/data/purchase_order", json={
            "supplier": supplier["id"], "warehouse": wh["id"], "lines": [{"item": item, "qty": qty, "price": "3.00"}]})
        assert r.status_code == 201, r.text
        po = dict(r.json())
    for user, name in (("purchasing", "submit"), ("manager", "approve"), ("warehouse", "receive")):
        r = fire(server, user, po, name, entity="purchase_order")
        assert r.status_code == 200, r.text
    return po


def test_purchase_return_ships_stock_out_and_refuses_above_received(server: Server) -> None:
    """Received 10 (on_hand 10, nothing quarantined); a return of 6 (quality 4 + other 2)
    ships out: on_hand 4. A second return of 5 exceeds 10 - 6 = 4 (zh message).

    Mutation caught: not taking the stock out (on_hand stays 10), or allowing a return
    above received less earlier returns."""
    wh = _wh(server)
    item = new_item(server)
    po = _received_po(server, wh, item["id"], "10")
    with server.client("purchasing") as c:
        r = c.post(f"/api/apps/{APP}/data/purchase_return", json={"purchase_order": po["id"], "lines": [
            {"item": item["id"], "qty": "4", "reason": "quality"}, {"item": item["id"], "qty": "2"}]})
        assert r.status_code == 201, r.text
        pr = r.json()
    r = fire(server, "manager", pr, "approve", entity="purchase_return")
    assert r.status_code == 200, r.text
    assert r.json()["supplier"] == po["supplier"]
    r = fire(server, "warehouse", pr, "ship", {"logistics_no": "YT-9"}, entity="purchase_return")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "shipped" and r.json()["logistics_no"] == "YT-9"
    assert _bal(server, item["id"], wh["id"]) == {"on_hand": D(4), "reserved": D(0), "quarantine": D(0),
                                                  "available": D(4)}
    with server.client("purchasing") as c:
        more = c.post(f"/api/apps/{APP}/data/purchase_return", json={"purchase_order": po["id"], "lines": [
            {"item": item["id"], "qty": "5"}]}).json()
    with server.client("manager") as c:
        r = c.post(f"/api/apps/{APP}/data/purchase_return/{more['id']}/transitions/approve", json={"inputs": {}},
                   headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    body = problem(r, 422)
    assert body["code"] == "return.exceeds"
    assert (body["lines"][0]["moved"], body["lines"][0]["returned"], body["lines"][0]["returnable"]) == (
        "10.0000", "6.0000", "4.0000")
    assert body["detail"].startswith(f"{item['sku']} {item['name']} 退货数量超过可退数量：申请退货 5，原订单已收货 10，"
                                     f"此前已退 6，最多还可退 4")


def test_purchase_return_of_quarantined_goods_takes_quarantine_first(server: Server) -> None:
    """on_hand 10 from a PO; a customer's quality return of 3 puts 3 in quarantine (a sales
    order shipped 3 first: on_hand 7, then quarantine 3). A purchase return of 5 for
    quality takes the 3 quarantined and 2 from on_hand: on_hand 5, quarantine 0.

    Mutation caught: taking a quality purchase return from on_hand only (on_hand 2,
    quarantine 3)."""
    wh = _wh(server)
    item = new_item(server)
    po = _received_po(server, wh, item["id"], "10")
    so = _shipped_order(server, wh, [(item["id"], "3", "9.00")])
    ret = _sales_return(server, so, [{"item": item["id"], "qty": "3", "reason": "quality"}])
    assert fire(server, "manager", ret, "approve", entity="sales_return").status_code == 200
    assert fire(server, "warehouse", ret, "receive", entity="sales_return").status_code == 200
    assert _bal(server, item["id"], wh["id"]) == {"on_hand": D(7), "reserved": D(0), "quarantine": D(3),
                                                  "available": D(7)}
    with server.client("purchasing") as c:
        pr = c.post(f"/api/apps/{APP}/data/purchase_return", json={"purchase_order": po["id"], "lines": [
            {"item": item["id"], "qty": "5", "reason": "quality"}]}).json()
    assert fire(server, "manager", pr, "approve", entity="purchase_return").status_code == 200
    assert fire(server, "warehouse", pr, "ship", entity="purchase_return").status_code == 200
    assert _bal(server, item["id"], wh["id"]) == {"on_hand": D(5), "reserved": D(0), "quarantine": D(0),
                                                  "available": D(5)}


def test_short_stock_names_the_item_in_the_callers_language(server: Server) -> None:
    """The 409 for short stock names the item as ``sku name`` and the warehouse by name,
    with the quantity asked and the quantity available: in Chinese by default and for
    ``Accept-Language: zh-CN``, in English for ``en``. The numbers stay exact in ``lines``.

    Mutation caught: the ledger's id-only text ("item 169, warehouse 1") reaching the
    caller, or the language ignored."""
    wh = _wh(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "2")
    label = f"{item['sku']} {item['name']}"
    for lang, expected in (
        ("zh-CN,zh;q=0.9", f"{label}（仓库 {wh['name']}）库存不足：需要 5，可用 2"),
        ("en-GB,en;q=0.9,zh;q=0.5", f"Not enough stock of {label} at {wh['name']}: requested 5, available 2"),
        (None, f"{label}（仓库 {wh['name']}）库存不足：需要 5，可用 2"),
    ):
        so = new_order(server, [(item["id"], "5", "1.00")], warehouse=wh)
        headers = {"Accept-Language": lang} if lang else {}
        with server.client("sales") as c:
            r = c.post(f"/api/apps/{APP}/data/sales_order/{so['id']}/transitions/submit", json={"inputs": {}},
                       headers=headers)
        body = problem(r, 409)
        assert body["code"] == "stock.insufficient"
        assert body["detail"] == expected, body
        assert body["errors"][0]["message"] == expected
        assert body["lines"][0]["requested"] == "5.0000" and body["lines"][0]["available"] == "2.0000"
        assert body["lines"][0]["item_label"] == label
        assert body["messages"]["en" if lang and lang.startswith("en") else "zh"] == expected

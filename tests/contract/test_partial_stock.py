"""Partial receipts and shipments, on_order, line prices from the item (DESIGN 16 "Stock
operations", issue 18), over HTTP on both backends. Every balance below is computed by
hand in the comments; each test uses fresh items, so the figures are this test's alone.

Mutations tried (each made at least one test here fail):
- receipts no longer drain on_order (``po_receive`` kind ``receipt`` instead of
  ``order_receipt`` in purchase_order/cbu.yaml): on_order stays 10 after receiving 4.
- cancel does not release on_order (``po_cancel_on_order`` removed): on_order 3 left after
  the cancel instead of 0.
- the per-line input ignored (``input: lines`` removed from ``po_receive``/``so_ship``):
  a partial receipt receives everything, state ``received`` instead of
  ``partially_received``.
- the rest check dropped (``over = []`` in ``progress._plan``): receiving 7 of 6 left
  answers 200.
- a partial ship consuming the whole reservation (``take = r["open_qty"]`` in
  ``_consume_per_line``): reserved 0 instead of 4 after shipping 2 of 6.
- the input's batch fields not accepted (``input_fields`` removed from ``po_receive``):
  the food receipt naming batches P1 and P2 is refused (422 input.unknown).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.contract.conftest import Server, first, problem
from tests.contract.helpers import APP, add_stock, fire, get, new_item


def _bal(srv: Server, item: int, warehouse: int) -> dict[str, Decimal]:
    """Every bucket of one item in one warehouse (rows summed), on_order included."""
    with srv.client("admin") as c:
        r = c.get(f"/api/apps/{APP}/ledgers/stock/balances", params={"item": item, "warehouse": warehouse})
        assert r.status_code == 200, r.text
    out = dict.fromkeys(("on_hand", "reserved", "on_order", "available"), Decimal(0))
    for row in r.json()["data"]:
        for k in out:
            out[k] += Decimal(row[k])
    return out


def _b(on_hand: str, reserved: str = "0", on_order: str = "0") -> dict[str, Decimal]:
    oh, rs = Decimal(on_hand), Decimal(reserved)
    return {"on_hand": oh, "reserved": rs, "on_order": Decimal(on_order), "available": oh - rs}


def _wh(srv: Server) -> dict[str, Any]:
    with srv.client("admin") as c:
        return first(c, "warehouse")


def _po(srv: Server, wh: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    with srv.client("admin") as c:
        supplier = first(c, "supplier")
    with srv.client("purchasing") as c:
        r = c.post(f"/api/apps/{APP}/data/purchase_order",
                   json={"supplier": supplier["id"], "warehouse": wh["id"], "lines": lines})
        assert r.status_code == 201, r.text
        return dict(r.json())


def _approved_po(srv: Server, wh: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    po = _po(srv, wh, lines)
    assert fire(srv, "purchasing", po, "submit", entity="purchase_order").status_code == 200
    r = fire(srv, "manager", po, "approve", entity="purchase_order")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"
    return po


def _receive(srv: Server, po: dict[str, Any], lines: list[dict[str, Any]] | None = None) -> Any:
    return fire(srv, "warehouse", po, "receive", {"lines": lines} if lines is not None else {},
                entity="purchase_order")


def _customer(srv: Server, limit: str | None = None) -> dict[str, Any]:
    import uuid

    with srv.client("sales") as c:
        body: dict[str, Any] = {"name": "部分发货客户-" + uuid.uuid4().hex[:8]}
        if limit is not None:
            body["credit_limit"] = limit
        r = c.post(f"/api/apps/{APP}/data/customer", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


def _approved_so(srv: Server, wh: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    with srv.client("sales") as c:
        r = c.post(f"/api/apps/{APP}/data/sales_order",
                   json={"customer": _customer(srv)["id"], "warehouse": wh["id"], "lines": lines})
        assert r.status_code == 201, r.text
        so = dict(r.json())
    assert fire(srv, "sales", so, "submit").status_code == 200
    assert fire(srv, "manager", so, "approve").status_code == 200
    return so


def _ship(srv: Server, so: dict[str, Any], wh: dict[str, Any], lines: list[dict[str, Any]] | None) -> Any:
    inputs: dict[str, Any] = {"warehouse_confirm_code": wh["confirm_code"], "logistics_no": "SF-PART"}
    if lines is not None:
        inputs["lines"] = lines
    return fire(srv, "warehouse", so, "ship", inputs)


def test_partial_receipts_drain_on_order_and_cancel_releases_the_rest(server: Server) -> None:
    wh = _wh(server)
    a, b = new_item(server, cost="12.50"), new_item(server)
    po = _approved_po(server, wh, [{"item": a["id"], "qty": "10"}, {"item": b["id"], "qty": "5", "price": "2.00"}])
    la, lb = (ln["id"] for ln in get(server, "purchasing", "purchase_order", po["id"])["lines"])
    # Approval put every line on order: a 10, b 5; nothing on hand yet.
    assert _bal(server, a["id"], wh["id"]) == _b("0", on_order="10")
    assert _bal(server, b["id"], wh["id"]) == _b("0", on_order="5")

    r = _receive(server, po, [{"line": la, "qty": "4"}])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "partially_received"
    # a: 4 received -> on_hand 4, on_order 10 - 4 = 6; b untouched.
    assert _bal(server, a["id"], wh["id"]) == _b("4", on_order="6")
    assert _bal(server, b["id"], wh["id"]) == _b("0", on_order="5")

    body = problem(_receive(server, po, [{"line": la, "qty": "7"}]), 422)
    assert body["code"] == "qty.exceeds_rest"
    assert body["errors"][0]["field"] == "lines[0].qty"
    assert "7" in body["detail"] and "6" in body["detail"] and a["sku"] in body["detail"]
    assert body["lines"] == [{"line": la, "asked": "7", "left": "6"}]
    assert _bal(server, a["id"], wh["id"]) == _b("4", on_order="6")  # refused: nothing moved

    r = _receive(server, po, [{"line": la, "qty": "6"}, {"line": lb, "qty": "2"}])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "partially_received"  # b still has 3 left
    assert [Decimal(ln["received_qty"]) for ln in r.json()["lines"]] == [Decimal(10), Decimal(2)]
    # a: 4 + 6 = 10 on hand, on_order 0; b: 2 on hand, on_order 5 - 2 = 3.
    assert _bal(server, a["id"], wh["id"]) == _b("10")
    assert _bal(server, b["id"], wh["id"]) == _b("2", on_order="3")

    r = fire(server, "purchasing", po, "cancel", entity="purchase_order")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled"
    # Cancel releases exactly what was left on order (b: 3); what was received stays.
    assert _bal(server, a["id"], wh["id"]) == _b("10")
    assert _bal(server, b["id"], wh["id"]) == _b("2")


def test_receive_without_lines_takes_the_rest(server: Server) -> None:
    """DESIGN 15 behaviour kept: ``receive`` with no input receives everything (left)."""
    wh = _wh(server)
    a = new_item(server)
    po = _approved_po(server, wh, [{"item": a["id"], "qty": "8", "price": "1.00"}])
    (la,) = (ln["id"] for ln in get(server, "purchasing", "purchase_order", po["id"])["lines"])
    assert _receive(server, po, [{"line": la, "qty": "3"}]).status_code == 200
    r = _receive(server, po)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "received" and Decimal(r.json()["lines"][0]["received_qty"]) == 8
    assert _bal(server, a["id"], wh["id"]) == _b("8")  # 3 + the rest 5; on_order 8 - 8 = 0
    problem(_receive(server, po), 409)  # received is final


def test_receive_refuses_a_foreign_line_and_a_non_positive_quantity(server: Server) -> None:
    wh = _wh(server)
    a = new_item(server)
    po = _approved_po(server, wh, [{"item": a["id"], "qty": "2", "price": "1.00"}])
    (la,) = (ln["id"] for ln in get(server, "purchasing", "purchase_order", po["id"])["lines"])
    assert problem(_receive(server, po, [{"line": 999999999, "qty": "1"}]), 422)["code"] == "line.unknown"
    assert problem(_receive(server, po, [{"line": la, "qty": "0"}]), 422)["code"] == "qty.positive"
    assert problem(_receive(server, po, [{"line": la, "qty": "0.00001"}]), 422)["code"] == "qty.invalid"  # scale 4
    assert problem(_receive(server, po, [{"line": la, "qty": "1e999"}]), 422)["code"] == "qty.invalid"
    assert problem(_receive(server, po, [{"line": la, "qty": "1", "item": 1}]), 422)["code"] == "input.unknown"
    assert problem(_receive(server, po, "not a list"), 422)["errors"][0]["field"] == "lines"  # type: ignore[arg-type]
    assert _bal(server, a["id"], wh["id"]) == _b("0", on_order="2")


def test_partial_shipments_keep_the_rest_reserved_and_cancel_releases_it(server: Server) -> None:
    wh = _wh(server)
    a, b = new_item(server), new_item(server)
    add_stock(server, a["id"], wh["id"], "10")
    add_stock(server, b["id"], wh["id"], "5")
    so = _approved_so(server, wh, [{"item": a["id"], "qty": "6", "price": "3.00"},
                                   {"item": b["id"], "qty": "4", "price": "1.00"}])
    la, lb = (ln["id"] for ln in get(server, "sales", "sales_order", so["id"])["lines"])
    assert _bal(server, a["id"], wh["id"]) == _b("10", reserved="6")

    r = _ship(server, so, wh, [{"line": la, "qty": "2"}])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "partially_shipped" and r.json()["logistics_no"] == "SF-PART"
    # a: 2 shipped -> on_hand 8, reserved 6 - 2 = 4 (the rest stays held); b: 4 held.
    assert _bal(server, a["id"], wh["id"]) == _b("8", reserved="4")
    assert _bal(server, b["id"], wh["id"]) == _b("5", reserved="4")

    body = problem(_ship(server, so, wh, [{"line": la, "qty": "5"}]), 422)
    assert body["code"] == "qty.exceeds_rest" and body["lines"] == [{"line": la, "asked": "5", "left": "4"}]

    r = _ship(server, so, wh, [{"line": la, "qty": "1"}, {"line": lb, "qty": "4"}])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "partially_shipped"
    assert [Decimal(ln["shipped_qty"]) for ln in r.json()["lines"]] == [Decimal(3), Decimal(4)]
    # a: 3 shipped in all -> on_hand 7, reserved 3; b: all 4 shipped -> on_hand 1, reserved 0.
    assert _bal(server, a["id"], wh["id"]) == _b("7", reserved="3")
    assert _bal(server, b["id"], wh["id"]) == _b("1")

    r = fire(server, "sales", so, "cancel")
    assert r.status_code == 200, r.text
    # Cancel releases exactly the 3 still reserved for a; the shipped goods stay shipped.
    assert _bal(server, a["id"], wh["id"]) == _b("7")
    assert _bal(server, b["id"], wh["id"]) == _b("1")


def test_ship_without_lines_after_a_partial_ships_the_rest(server: Server) -> None:
    wh = _wh(server)
    a = new_item(server)
    add_stock(server, a["id"], wh["id"], "9")
    so = _approved_so(server, wh, [{"item": a["id"], "qty": "5", "price": "3.00"}])
    (la,) = (ln["id"] for ln in get(server, "sales", "sales_order", so["id"])["lines"])
    assert _ship(server, so, wh, [{"line": la, "qty": "1.5"}]).status_code == 200
    assert _bal(server, a["id"], wh["id"]) == _b("7.5", reserved="3.5")
    r = _ship(server, so, wh, None)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "shipped" and Decimal(r.json()["lines"][0]["shipped_qty"]) == 5
    assert _bal(server, a["id"], wh["id"]) == _b("4")  # 9 - 5, nothing left reserved
    assert fire(server, "sales", so, "complete").status_code == 200


def test_line_prices_default_to_the_item(server: Server) -> None:
    wh = _wh(server)
    a = new_item(server, cost="7.25", price="11.90")
    with server.client("sales") as c:
        r = c.post(f"/api/apps/{APP}/data/sales_order", json={
            "customer": _customer(server)["id"], "warehouse": wh["id"],
            "lines": [{"item": a["id"], "qty": "2"}, {"item": a["id"], "qty": "1", "price": "10.00"}]})
        assert r.status_code == 201, r.text
        assert [ln["price"] for ln in r.json()["lines"]] == ["11.90", "10.00"]
        assert r.json()["amount"] == "33.80"  # 2 x 11.90 + 10.00
    po = _po(server, wh, [{"item": a["id"], "qty": "3"}])
    assert po["lines"][0]["price"] == "7.25" and po["amount"] == "21.75"  # 3 x 7.25


def _batches(srv: Server, app: str, item: int, warehouse: int) -> dict[Any, dict[str, Decimal]]:
    """batch number (None: no batch) -> on_hand / reserved / on_order of one item."""
    with srv.client("admin") as c:
        rows = c.get(f"/api/apps/{app}/ledgers/stock/balances", params={"item": item, "warehouse": warehouse}).json()
        numbers = {b["id"]: b["batch_no"] for b in c.get(f"/api/apps/{app}/data/batch",
                                                         params={"filter": f"item == {item}"}).json()["data"]}
    out: dict[Any, dict[str, Decimal]] = {}
    for row in rows["data"]:
        got = {k: Decimal(row[k]) for k in ("on_hand", "reserved", "on_order")}
        if any(got.values()):
            out[numbers.get(row["batch"])] = got
    return out


def test_food_partial_receipts_into_batches_and_a_partial_fefo_shipment(server: Server) -> None:
    """Batch receipts keep working with partial receive: each entry may name its own batch
    (one line received as two batches); FEFO reservations are shipped oldest first."""
    import uuid

    app = "food_" + uuid.uuid4().hex[:6]
    with server.client("admin") as c:
        r = c.post("/api/apps", json={"name": app, "label": {"zh": "食品", "en": "Food"}, "template": "food"})
        assert r.status_code == 201, r.text
        wh, supplier = first(c, "warehouse", app=app), first(c, "supplier", app=app)
        item = c.post(f"/api/apps/{app}/data/item", json={"sku": "F-" + uuid.uuid4().hex[:8], "name": "酸奶",
                                                         "unit": "盒", "cost_price": "3.00", "sale_price": "5.00"}).json()
    with server.client("purchasing") as c:
        po = c.post(f"/api/apps/{app}/data/purchase_order", json={
            "supplier": supplier["id"], "warehouse": wh["id"], "lines": [
                {"item": item["id"], "qty": "10", "batch_no": "P1", "expiry_date": "2027-06-01"}]}).json()
    for user, t in (("purchasing", "submit"), ("manager", "approve")):
        assert fire(server, user, po, t, entity="purchase_order", app=app).status_code == 200
    line = po["lines"][0]["id"]
    assert _batches(server, app, item["id"], wh["id"]) == {None: {"on_hand": 0, "reserved": 0, "on_order": 10}}

    r = fire(server, "warehouse", po, "receive", {"lines": [
        {"line": line, "qty": "4", "batch_no": "P1", "expiry_date": "2027-06-01"},
        {"line": line, "qty": "3", "batch_no": "P2", "production_date": "2026-11-20", "expiry_date": "2027-05-01"}]},
        entity="purchase_order", app=app)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "partially_received" and Decimal(r.json()["lines"][0]["received_qty"]) == 7
    # 4 into P1, 3 into P2; on_order 10 - 7 = 3 (kept on the batch-less row it was ordered on).
    assert _batches(server, app, item["id"], wh["id"]) == {
        None: {"on_hand": 0, "reserved": 0, "on_order": 3},
        "P1": {"on_hand": 4, "reserved": 0, "on_order": 0},
        "P2": {"on_hand": 3, "reserved": 0, "on_order": 0}}
    r = fire(server, "warehouse", po, "receive", entity="purchase_order", app=app)  # the rest, into the line's P1
    assert r.status_code == 200 and r.json()["state"] == "received"
    assert _batches(server, app, item["id"], wh["id"]) == {
        "P1": {"on_hand": 7, "reserved": 0, "on_order": 0}, "P2": {"on_hand": 3, "reserved": 0, "on_order": 0}}

    with server.client("admin") as c:
        customer = first(c, "customer", app=app)
    with server.client("sales") as c:
        so = c.post(f"/api/apps/{app}/data/sales_order", json={
            "customer": customer["id"], "warehouse": wh["id"], "lines": [{"item": item["id"], "qty": "8"}]}).json()
    assert fire(server, "sales", so, "submit", app=app).status_code == 200
    assert fire(server, "manager", so, "approve", app=app).status_code == 200
    # FEFO: P2 (expires 2027-05-01) 3, then P1 5.
    r = fire(server, "warehouse", so, "ship", {"warehouse_confirm_code": wh["confirm_code"], "logistics_no": "SF-F1",
                                               "lines": [{"line": so["lines"][0]["id"], "qty": "4"}]}, app=app)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "partially_shipped"
    # Shipping 4 takes P2's 3 then 1 of P1: P2 0/0, P1 on_hand 7 - 1 = 6, still reserved 5 - 1 = 4.
    assert _batches(server, app, item["id"], wh["id"]) == {"P1": {"on_hand": 6, "reserved": 4, "on_order": 0}}
    assert fire(server, "sales", so, "cancel", app=app).status_code == 200
    assert _batches(server, app, item["id"], wh["id"]) == {"P1": {"on_hand": 6, "reserved": 0, "on_order": 0}}

"""Issue 17, as the reviewer ran it on the standard demo: a sales order line obeys its
order (DESIGN 8: a child row has no rights of its own), and line prices and quantities
cannot be negative (a validation in the CBU spec, checked on new and changed rows)."""

from __future__ import annotations

from decimal import Decimal

from tests.contract.conftest import Server, first, problem
from tests.contract.helpers import APP, add_stock, balance, fire, get, new_item, new_order


def test_a_line_of_an_approved_order_cannot_be_changed_or_deleted_directly(server: Server) -> None:
    """The reproduction of the finding: order approved at 92.88, then ``PATCH
    sales_order_line/{id}`` {"price": "9999.00", "qty": "80"} as sales answered 200 (the
    order still said 92.88), ``ship`` took 80 units while 2 were reserved, and ``DELETE``
    of the line after shipping answered 204. Now both are 409 ``record.child_direct``
    pointing to the order's child list, the order keeps its line, and ship moves 2.

    Mutations caught: today's main (no child handling in ``AccessPolicy`` nor
    ``RecordService``: the PATCH answers 200 with amount 799920.00 on line 67); dropping
    only the refusal in ``AccessPolicy.require``/``load`` (403 ``forbidden.update`` from
    the stripped child grant, or a 409 without the order's id, instead of this 409)."""
    with server.client("admin") as c:
        wh = first(c, "warehouse")
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "100")
    so = new_order(server, [(item["id"], "2", "46.44")], warehouse=wh)
    assert so["amount"] == "92.88"
    assert fire(server, "sales", so, "submit").status_code == 200
    assert fire(server, "manager", so, "approve").status_code == 200
    order_url = f"/api/apps/{APP}/data/sales_order/{so['id']}"
    line = so["lines"][0]
    line_url = f"/api/apps/{APP}/data/sales_order_line/{line['id']}"
    with server.client("sales") as c:
        current = c.get(order_url).json()
        assert current["state"] == "approved"
        body = problem(c.patch(order_url, json={"lines": [{"item": item["id"], "qty": "80", "price": "9999.00"}]},
                               headers={"If-Match": f'"{current["version"]}"'}), 409)
        assert body["code"] == "workflow.state_locked"
        seen = c.get(line_url)
        assert seen.status_code == 200, seen.text  # reading the line of a visible order is fine
        body = problem(c.patch(line_url, json={"price": "9999.00", "qty": "80"},
                               headers={"If-Match": seen.headers["etag"]}), 409)
        assert body["code"] == "record.child_direct"
        assert body["parent"] == {"entity": "sales_order", "id": so["id"], "field": "lines", "href": order_url}
        problem(c.post(f"/api/apps/{APP}/data/sales_order_line",
                       json={"item": item["id"], "qty": "1", "price": "1.00"}), 422)
    after = get(server, "sales", "sales_order", so["id"])
    assert after["amount"] == "92.88" and after["version"] == current["version"]
    assert [(Decimal(x["qty"]), Decimal(x["price"])) for x in after["lines"]] == [(Decimal(2), Decimal("46.44"))]
    assert balance(server, item["id"], wh["id"])["reserved"] == Decimal(2)
    shipped = fire(server, "warehouse", so, "ship", {"warehouse_confirm_code": wh["confirm_code"],
                                                     "logistics_no": "SF-CHILD"})
    assert shipped.status_code == 200, shipped.text
    bal = balance(server, item["id"], wh["id"])
    assert bal["on_hand"] == Decimal(98) and bal["reserved"] == Decimal(0)
    for user in ("sales", "admin"):
        with server.client(user) as c:
            body = problem(c.delete(line_url), 409)
            assert body["code"] == "record.child_direct" and body["parent"]["id"] == so["id"]
    assert len(get(server, "sales", "sales_order", so["id"])["lines"]) == 1


def test_negative_line_prices_and_quantities_are_422(server: Server) -> None:
    """Negative prices were accepted on sales and purchase lines, and a changed existing
    line skipped the line's validation rules (``qty > 0``) altogether.

    Mutations caught: removing ``price >= 0`` from sales_order/purchase_order cbu.yaml
    (the POSTs answer 201); dropping ``run_validations`` on kept rows in
    ``RecordService._replace_children`` (the PATCHes of an existing line answer 200)."""
    with server.client("admin") as c:
        wh = first(c, "warehouse")
        customer = first(c, "customer")
        supplier = first(c, "supplier")
    item = new_item(server)
    with server.client("sales") as c:
        for qty, price, field in (("1", "-0.01", "lines[0].price"), ("-2", "5.00", "lines[0].qty")):
            body = problem(c.post(f"/api/apps/{APP}/data/sales_order", json={
                "customer": customer["id"], "warehouse": wh["id"],
                "lines": [{"item": item["id"], "qty": qty, "price": price}]}), 422)
            assert [e["field"] for e in body["errors"]] == [field], body
    so = new_order(server, [(item["id"], "2", "5.00")], warehouse=wh)
    url = f"/api/apps/{APP}/data/sales_order/{so['id']}"
    line = so["lines"][0]
    with server.client("sales") as c:
        for change, field in (({"price": "-5.00"}, "lines[0].price"), ({"qty": "-3"}, "lines[0].qty")):
            body = problem(c.patch(url, json={"lines": [{"id": line["id"], **change}]},
                                   headers={"If-Match": f'"{so["version"]}"'}), 422)
            assert [e["field"] for e in body["errors"]] == [field], body
        kept = c.get(url).json()
    assert kept["amount"] == "10.00" and kept["version"] == so["version"]
    with server.client("purchasing") as c:
        for qty, price, field in (("8", "-3.00", "lines[0].price"), ("-8", "3.00", "lines[0].qty")):
            body = problem(c.post(f"/api/apps/{APP}/data/purchase_order", json={
                "supplier": supplier["id"], "warehouse": wh["id"],
                "lines": [{"item": item["id"], "qty": qty, "price": price}]}), 422)
            assert [e["field"] for e in body["errors"]] == [field], body

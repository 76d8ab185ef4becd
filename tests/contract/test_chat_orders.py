"""Chat orders in `jimu demo` (DESIGN 16, issue 22), black box: the sample items carry
aliases (可乐, 辣条) and the sample customer 杭州鲜邻优选便利店 the nickname 李姐.

By hand: "李姐：可乐6罐+辣条2袋，榴莲1个" -> customer 杭州鲜邻优选便利店, SKU-0001 × 6 at
2.00 and SKU-0085 × 2 at 9.72; 榴莲 is not sold, so it is flagged and stays off the
order: amount = 6 × 2.00 + 2 × 9.72 = 31.44."""

from __future__ import annotations

from decimal import Decimal

from tests.contract.conftest import Server, first, problem
from tests.contract.helpers import APP

MESSAGE = "李姐：可乐6罐+辣条2袋，榴莲1个"


def test_parse_and_create_in_the_demo(server: Server) -> None:
    with server.client("admin") as admin:
        coke = first(admin, "item", filter='sku == "SKU-0001"')
        strips = first(admin, "item", filter='sku == "SKU-0085"')
        shop = first(admin, "customer", filter='code == "C0003"')
    with server.client("sales") as c:
        r = c.post(f"/api/apps/{APP}/chat-orders/parse", json={"text": MESSAGE})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["customer"] == shop["id"]
        assert [(ln["item"], ln["qty"], ln["flagged"]) for ln in body["lines"]] == [
            (coke["id"], "6", False), (strips["id"], "2", False), (None, "1", True)]
        r = c.post(f"/api/apps/{APP}/chat-orders", json={"text": MESSAGE})
        assert r.status_code == 201, r.text
        order = c.get(r.headers["location"]).json()
        assert (order["state"], order["customer"], order["channel"]) == ("draft", shop["id"], "wechat")
        assert [(ln["item"], Decimal(ln["qty"]), Decimal(ln["price"])) for ln in order["lines"]] == [
            (coke["id"], Decimal(6), Decimal("2.00")), (strips["id"], Decimal(2), Decimal("9.72"))]
        assert Decimal(order["amount"]) == Decimal("31.44")
        problem(c.post(f"/api/apps/{APP}/chat-orders", json={"text": "榴莲1个", "customer": shop["id"]}), 422)

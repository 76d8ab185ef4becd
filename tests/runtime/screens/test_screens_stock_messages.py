"""Screens speak the user's language for stock errors too: a short-stock refusal on the
order screen names the item as ``sku name`` and the warehouse, in zh or en by the screen's
language; the return screens are generated with their reasons."""

from __future__ import annotations

import html
import uuid
from decimal import Decimal
from typing import Any

from tests.runtime.screens.test_screens_pages import find


def _item_with_stock(std: Any, wh: int, qty: str) -> dict[str, Any]:
    item = std.records.create("standard", "item", {"sku": "T-" + uuid.uuid4().hex[:8], "name": "屏幕测试螺丝",
                                                   "unit": "个", "sale_price": "1.00"})
    std.records.create("standard", "stock_adjustment", {"item": item["id"], "warehouse": wh, "qty": qty,
                                                        "reason": "opening"})
    return dict(item)


def test_short_stock_on_screen_names_the_item_in_the_screen_language(login: Any, std: Any) -> None:
    """Mutation caught: the screens showing the ledger's id-only English text."""
    wh = find(std, "warehouse", 'code == "WH-SH"')
    cust = find(std, "customer", 'code == "C-001"')["id"]
    item = _item_with_stock(std, wh["id"], "2")
    label = f"{item['sku']} {item['name']}"
    for lang, expected in (("zh", f"{label}（仓库 {wh['name']}）库存不足：需要 5，可用 2"),
                           ("en", f"Not enough stock of {label} at {wh['name']}: requested 5, available 2")):
        s = login("sales", lang)
        r = s.post("/app/standard/sales_order/new", data={
            "csrf_token": s.cookies.get("jimu_csrf"), "customer": cust, "warehouse": wh["id"], "lines-present": "1",
            "lines-0-item": item["id"], "lines-0-qty": "5", "lines-0-price": "1.00"})
        assert r.status_code == 303, r.text[:2000]
        refused = s.post(r.headers["location"] + "/transition/submit", data={"csrf_token": s.cookies.get("jimu_csrf")})
        assert refused.status_code == 409
        assert expected in html.unescape(refused.text), html.unescape(refused.text)[:3000]


def test_return_screens_are_generated_with_their_reasons(login: Any, std: Any) -> None:
    s = login("sales")
    page = s.get("/app/standard/sales_return/new")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "原销售订单" in text and "退货明细" in text and "质量问题(入隔离)" in text
    assert login("purchasing").get("/app/standard/purchase_return").status_code == 200
    en = html.unescape(login("warehouse", "en").get("/app/standard/sales_return").text)
    assert "Sales returns" in en


def test_return_dialog_from_a_shipped_order_is_prefilled_with_the_returnable_lines(login: Any, std: Any) -> None:
    """A shipped order of 3 x + 2 y, one approved return of 1 x: the order's detail page
    links "退货" and the return form opens with the order and lines x 2, y 2.

    Mutation caught: prefilling the ordered instead of the still returnable quantities
    (x would read 3)."""
    from jimu.platform.actor import Actor
    from jimu.runtime.workflow.engine import WorkflowEngine

    wh = find(std, "warehouse", 'code == "WH-SH"')
    cust = find(std, "customer", 'code == "C-001"')["id"]
    x, y = _item_with_stock(std, wh["id"], "10"), _item_with_stock(std, wh["id"], "10")
    eng = WorkflowEngine(std)
    so = std.records.create("standard", "sales_order", {"customer": cust, "warehouse": wh["id"], "lines": [
        {"item": x["id"], "qty": "3", "price": "1"}, {"item": y["id"], "qty": "2", "price": "1"}]},
        actor=Actor("sales", ("sales",)))
    eng.fire("standard", "sales_order", so["id"], "submit", actor=Actor("sales", ("sales",)))
    eng.fire("standard", "sales_order", so["id"], "approve", actor=Actor("manager", ("manager",)))
    eng.fire("standard", "sales_order", so["id"], "ship", {"warehouse_confirm_code": "1234", "logistics_no": "SF9"},
             actor=Actor("warehouse", ("warehouse",)))
    ret = std.records.create("standard", "sales_return", {"sales_order": so["id"], "lines": [
        {"item": x["id"], "qty": "1"}]}, actor=Actor("sales", ("sales",)))
    eng.fire("standard", "sales_return", ret["id"], "approve", actor=Actor("manager", ("manager",)))
    s = login("sales")
    detail = s.get(f"/app/standard/sales_order/{so['id']}").text
    href = f"/app/standard/sales_return/new?sales_order={so['id']}"
    assert f'data-related="new-sales_return" href="{href}"' in html.unescape(detail)
    form = s.get(href)
    text = html.unescape(form.text)
    assert form.status_code == 200
    import json
    import re

    cfg = json.loads(html.unescape(re.search(r'data-field="lines" x-data="jimuRows" data-cfg="([^"]*)"', form.text)[1]))
    got = {r["cells"]["item"]["value"]: Decimal(r["cells"]["qty"]["value"]) for r in cfg["rows"]}
    assert got == {str(x["id"]): Decimal(2), str(y["id"]): Decimal(2)}
    assert f'value="{so["id"]}"' in text  # the order is chosen
    assert login("warehouse").get(f"/app/standard/sales_order/{so['id']}").text.count("new-sales_return") == 0

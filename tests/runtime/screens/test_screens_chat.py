"""The "paste a message" screen (issue 22): parse shows the lines with confidence, a
flagged line has no item selected, the user's choices become the draft order, and the
page works without any script (CSP: no inline script or handler).

Mutation tried: pre-selecting the best alternative on flagged lines (``selected`` set
from ``alternatives[0]``) fails ``test_parse_flags_unknown_lines`` (the 榴莲 row gets an
item selected)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tests.runtime.screens.conftest import find

URL = "/app/standard/chat-order"


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr class=\"[^\"]*\" data-flagged=\"(true|false)\">", html)


def test_page_is_script_free_and_linked_from_home(login: Any) -> None:
    c = login("sales")
    r = c.get(URL)
    assert r.status_code == 200
    assert 'name="text"' in r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", r.text) and not re.search(r"\son[a-z]+=", r.text)
    assert URL in c.get("/app/standard/").text


def test_parse_flags_unknown_lines(login: Any, std: Any) -> None:
    c = login("sales")
    coke = find(std, "item", 'sku == "SKU-0001"')
    r = c.post(URL, data={"csrf_token": c.cookies.get("jimu_csrf"), "text": "可口可乐330ml 3罐，榴莲1个",
                          "action": "parse"})
    assert r.status_code == 200, r.text[:500]
    assert _rows(r.text) == ["false", "true"]
    assert f'<option value="{coke["id"]}" selected>' in r.text
    flagged_row = r.text[r.text.index('data-flagged="true"'):]
    flagged_row = flagged_row[:flagged_row.index("</tr>")]
    assert re.search(r'<option value="" selected>', flagged_row) and " selected>" not in flagged_row.replace(
        '<option value="" selected>', "")


def test_create_from_the_users_choices(login: Any, std: Any) -> None:
    c = login("sales")
    coke = find(std, "item", 'sku == "SKU-0001"')
    pepsi = find(std, "item", 'sku == "SKU-0005"')
    customer = find(std, "customer", 'code == "C0001"')
    data = {"csrf_token": c.cookies.get("jimu_csrf"), "text": "可口可乐330ml 3罐，可乐2罐", "action": "create",
            "customer": str(customer["id"]), "line-0-item": str(coke["id"]), "line-0-qty": "3",
            "line-1-item": str(pepsi["id"]), "line-1-qty": "2.5", "line-2-item": "", "line-2-qty": "9"}
    r = c.post(URL, data=data)
    assert r.status_code == 303, r.text[:800]
    oid = int(r.headers["location"].rsplit("/", 1)[1])
    order = std.records.get("standard", "sales_order", oid)
    assert (order["customer"], order["state"], order["channel"]) == (customer["id"], "draft", "wechat")
    assert [(ln["item"], ln["qty"]) for ln in order["lines"]] == [(coke["id"], Decimal(3)), (pepsi["id"], Decimal("2.5"))]


def test_warehouse_may_parse_but_not_create(login: Any) -> None:
    c = login("warehouse")
    r = c.post(URL, data={"csrf_token": c.cookies.get("jimu_csrf"), "text": "可口可乐330ml 3罐", "action": "parse"})
    assert r.status_code == 200 and 'value="create"' not in r.text
    r = c.post(URL, data={"csrf_token": c.cookies.get("jimu_csrf"), "text": "可口可乐330ml 3罐", "action": "create",
                          "line-0-item": "1", "line-0-qty": "1"})
    assert r.status_code == 403


def test_a_flagged_line_takes_an_item_by_sku(login: Any, std: Any) -> None:
    """Mutation tried: ignoring the typed SKU leaves the flagged line out (no line: 422)."""
    c = login("sales")
    sprite = find(std, "item", 'sku == "SKU-0007"')
    customer = find(std, "customer", 'code == "C0001"')
    base = {"csrf_token": c.cookies.get("jimu_csrf"), "text": "汽水4瓶", "action": "create",
            "customer": str(customer["id"]), "line-0-item": "", "line-0-qty": "4"}
    r = c.post(URL, data={**base, "line-0-sku": "SKU-0007"})
    assert r.status_code == 303, r.text[:800]
    order = std.records.get("standard", "sales_order", int(r.headers["location"].rsplit("/", 1)[1]))
    assert [(ln["item"], ln["qty"]) for ln in order["lines"]] == [(sprite["id"], Decimal(4))]
    r = c.post(URL, data={**base, "line-0-sku": "NOPE-1"})
    assert r.status_code == 422 and "NOPE-1" in r.text


def test_item_picker_finds_items_by_alias(login: Any, std: Any) -> None:
    """The item's search fields include its aliases, so the link picker of any order form
    finds 可口可乐330ml by "coke" (a sample alias). Mutation tried: search_fields without
    aliases: no option."""
    coke = find(std, "item", 'sku == "SKU-0001"')
    r = login("sales").get("/app/standard/_options/item", params={"q": "coke"})
    assert r.status_code == 200 and f'value="{coke["id"]}"' in r.text

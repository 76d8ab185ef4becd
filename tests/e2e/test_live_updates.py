"""Live updates in a browser: sales keeps the item list and an item's detail page open;
an admin changes the item through the API (another session); both pages show the change
through SSE without navigating, and the cost price stays masked for sales."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from tests.e2e.conftest import api, login_page

pytestmark = pytest.mark.e2e


def _item(server: str, sku: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"filter": f"sku == {json.dumps(sku)}", "limit": 1})
    return dict(api(server, "GET", f"/api/apps/standard/data/item?{query}")["data"][0])


def _patch(server: str, item: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    out = api(server, "PATCH", f"/api/apps/standard/data/item/{item['id']}", body=body,
              headers={"If-Match": f'"{item["version"]}"'})
    assert isinstance(out, dict), out
    return out


def _mark(page: Any) -> None:
    """A marker that a navigation or reload would wipe."""
    page.evaluate("window.__jimuNoReload = 1")


def _not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("window.__jimuNoReload === 1"))


def _wait_stream(page: Any) -> None:
    """Wait until the page's EventSource is open (events before that are not replayed)."""
    page.wait_for_function("() => window.jimuLive && window.jimuLive.readyState === 1")


def test_list_and_detail_refresh_live(browser: Any, server: str) -> None:
    item = _item(server, "SKU-A003")
    sales_list = login_page(browser, server, "sales")
    sales_list.goto(f"{server}/app/standard/item?q=SKU-A003")
    row = sales_list.locator(f"#rows tr[data-id='{item['id']}']")
    assert row.count() == 1 and "苹果 (箱)" in row.inner_text()
    detail = login_page(browser, server, "sales")
    detail.goto(f"{server}/app/standard/item/{item['id']}")
    cost = detail.locator(".field.ro", has_text="成本价")
    assert cost.locator(".badge.mask").count() == 1
    for page in (sales_list, detail):
        _wait_stream(page)
        _mark(page)

    _patch(server, item, {"name": "苹果 (箱) 特级", "cost_price": "98765.43"})

    row.filter(has_text="特级").wait_for()
    detail.locator("h1", has_text="特级").wait_for()
    for page in (sales_list, detail):
        assert _not_reloaded(page), page.url
        html = page.content()
        assert "98765" not in html and "98,765" not in html, "the real cost reached the page"
    cost = detail.locator(".field.ro", has_text="成本价")
    assert cost.locator(".badge.mask").count() == 1
    assert "99,000" in cost.inner_text() or "99000" in cost.inner_text(), cost.inner_text()

    # a second change still arrives (the stream survives the first refresh)
    again = _item(server, "SKU-A003")
    _patch(server, again, {"name": "苹果 (箱)"})
    detail.locator("h1", has_text="特级").wait_for(state="detached")
    row.filter(has_text="特级").wait_for(state="detached")
    assert "苹果 (箱)" in row.inner_text()
    assert _not_reloaded(sales_list) and _not_reloaded(detail)
    detail.close()
    sales_list.close()

"""In a browser: an admin opens the market, installs the food template into a new app
through the params form (htmx posts it; the result shows in place), then opens the new
app's stock adjustments and its stock dashboard."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_market_install_food(browser: Any, server: str, shots: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.set_default_timeout(10000)
    page.goto(f"{server}/login?next=/market")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("admin")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r".*/market$"))
    assert page.locator("article[data-template='food']").count() == 1
    assert page.locator("article[data-template='standard']").count() == 1
    page.screenshot(path=str(shots / "market-list.png"), full_page=False)

    page.locator("article[data-template='food'] a.btn.primary").click()
    page.wait_for_url(re.compile(r".*/market/templates/food/install$"))
    page.get_by_label("应用名称（新建，或填写已有应用名）").fill("e2e_food")
    page.get_by_label("默认临期天数").fill("20")
    page.get_by_label("需要审批").select_option("true")
    page.get_by_role("button", name="安装", exact=True).click()
    result = page.locator("#install-result")
    result.wait_for(timeout=40000)
    assert "安装完成" in result.inner_text(), result.inner_text()
    assert page.url.endswith("/market/templates/food/install")  # htmx swapped the result in place
    page.screenshot(path=str(shots / "market.png"), full_page=True)

    page.goto(f"{server}/market/apps/e2e_food")
    assert page.locator("tr[data-cbu='batch_tracking']").count() == 1

    page.goto(f"{server}/app/e2e_food/stock_adjustment")
    assert page.get_by_role("heading", name="库存调整").count() == 1
    assert page.locator("main table tbody tr").count() >= 1  # the food sample data's opening stock
    page.screenshot(path=str(shots / "market-stock.png"), full_page=False)
    page.goto(f"{server}/app/e2e_food/dashboard")
    assert page.locator("main").count() == 1 and "404" not in page.title()
    page.close()

"""The dashboard in a browser: the app's own charts (KPI, bars, pie, ledger table) and the
built-in ones (stock by warehouse, turnover days, orders by state) are drawn by ECharts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import login_page

pytestmark = pytest.mark.e2e


def test_dashboard_draws_every_chart(browser: Any, server: str, shots: Any) -> None:
    page = login_page(browser, server, "manager")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/app/standard/dashboard")
    charts = page.locator(".chart[data-chart]")
    n = charts.count()
    assert n >= 5, n  # spec: pie + purchases bar; built-in: stock, turnover, orders by state
    page.wait_for_function("n => document.querySelectorAll('.chart[data-chart] canvas').length >= n", arg=n)
    for i in range(n):
        box = charts.nth(i).locator("canvas").first.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, (i, box)
    spec = page.locator("#spec-charts")
    assert spec.locator(".kpi-value").first.inner_text().startswith("¥")
    assert spec.get_by_role("heading", name="订单状态").count() == 1
    assert spec.get_by_role("heading", name="低于安全库存").count() == 1
    assert spec.locator("table tbody tr").count() >= 1
    builtin = page.locator("#builtin-charts")
    for name in ("各仓库存", "库存周转天数"):
        assert builtin.get_by_role("heading", name=name).count() == 1, name
    assert not errors, errors
    page.screenshot(path=str(shots / "dashboard-spec.png"), full_page=True)
    page.close()

"""The batch trace screen in a browser: the genealogy graph is drawn by ECharts (a graph
series with one node per batch and the links between them), the affected customers table
lists who received what, the page switches language, prints without the app chrome, and
breaks no Content-Security-Policy rule (the autouse watcher in conftest)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from jimu.core import clock
from jimu.platform.actor import Actor
from tests.e2e.conftest import login_page

pytestmark = pytest.mark.e2e

MGR, WH, SALES, BUY = (Actor("manager", ("manager",)), Actor("warehouse", ("warehouse",)),
                       Actor("sales", ("sales",)), Actor("purchasing", ("purchasing",)))


def _food_app(jimu: Any) -> dict[str, Any]:
    """A food app with batch A (flour) shipped to two customers and mixed into a batch of
    cake mix that a third customer bought."""
    from jimu.runtime.workflow.engine import WorkflowEngine
    from jimu.templates_market.installer import install_template

    app = "ft" + uuid.uuid4().hex[:6]
    install_template(jimu, app, "food", {"approvals": False}, sample_data=False)
    rec, eng = jimu.records, WorkflowEngine(jimu)
    wh = rec.create(app, "warehouse", {"name": "冷库", "confirm_code": "9"})["id"]
    flour = rec.create(app, "item", {"sku": "FL-1", "name": "面粉"})["id"]
    mix = rec.create(app, "item", {"sku": "MX-1", "name": "蛋糕预拌粉"})["id"]
    sup = rec.create(app, "supplier", {"name": "面粉厂"})["id"]
    po = rec.create(app, "purchase_order", {"supplier": sup, "warehouse": wh, "lines": [
        {"item": flour, "qty": 100, "price": "2", "batch_no": "A",
         "expiry_date": (clock.today() + timedelta(days=30)).isoformat()}]}, actor=BUY)
    eng.fire(app, "purchase_order", po["id"], "submit", actor=BUY)
    eng.fire(app, "purchase_order", po["id"], "receive", actor=WH)

    def sell(name: str, item: int, qty: int) -> None:
        cust = rec.create(app, "customer", {"name": name})["id"]
        so = rec.create(app, "sales_order", {"customer": cust, "warehouse": wh,
                                             "lines": [{"item": item, "qty": qty, "price": "5"}]}, actor=SALES)
        eng.fire(app, "sales_order", so["id"], "submit", actor=SALES)
        eng.fire(app, "sales_order", so["id"], "ship", {"warehouse_confirm_code": "9", "logistics_no": "L"}, actor=WH)

    sell("客户甲", flour, 30)
    sell("客户乙", flour, 20)
    bom = rec.create(app, "bom", {"product": mix, "qty": 1, "lines": [{"item": flour, "qty": 8}]}, actor=MGR)
    eng.fire(app, "bom", bom["id"], "activate", actor=MGR)
    wo = rec.create(app, "work_order", {"product": mix, "qty": 5, "warehouse": wh}, actor=MGR)
    for t, who in (("release", MGR), ("start", WH), ("complete", WH)):
        eng.fire(app, "work_order", wo["id"], t, actor=who)
    sell("客户丙", mix, 3)
    batch = rec.list(app, "batch", filter='batch_no == "A"').data[0]["id"]
    return {"app": app, "batch": batch}


def test_trace_screen_draws_the_genealogy(browser: Any, server: str, served_jimu: Any, shots: Any) -> None:
    world = _food_app(served_jimu)
    page = login_page(browser, server, "manager")
    errors: list[Any] = []
    page.on("pageerror", lambda exc: errors.append(exc))
    page.goto(f"{server}/app/{world['app']}/_trace/{world['batch']}")
    assert page.locator("h1").inner_text().startswith("批次追溯 · A")
    page.wait_for_function("() => document.querySelector('#trace-graph canvas') !== null")
    drawn = page.evaluate("""() => {
        const opt = echarts.getInstanceByDom(document.getElementById('trace-graph')).getOption();
        return {nodes: opt.series[0].data.map(d => d.name), links: opt.series[0].links.length,
                type: opt.series[0].type};
    }""")
    assert drawn["type"] == "graph" and drawn["links"] == 1, drawn
    assert sorted(n.split("\n")[1] for n in drawn["nodes"]) == ["FL-1 面粉", "MX-1 蛋糕预拌粉"], drawn
    box = page.locator("#trace-graph canvas").first.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200, box
    rows = page.locator("#trace-customers tbody tr")
    assert rows.count() == 3
    table = page.locator("#trace-customers tbody").inner_text()
    for name, qty in (("客户甲", "30.0000"), ("客户乙", "20.0000"), ("客户丙", "3.0000")):
        assert name in table and qty in table, (name, table)
    page.screenshot(path=str(shots / "trace-genealogy.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden() and page.locator("[data-print]").is_hidden()
    assert page.locator("#trace-graph").is_visible()
    page.emulate_media(media="screen")
    page.goto(f"{server}/lang/en?next=/app/{world['app']}/_trace/{world['batch']}%3Fdirection%3Dup")
    assert "Batch trace" in page.locator("h1").inner_text()
    page.wait_for_function("() => document.querySelector('#trace-graph canvas') !== null")
    ours = [f"{e}\n{getattr(e, 'stack', '')}" for e in errors if not _inside_echarts(e)]
    assert not ours, ours
    page.close()


def _inside_echarts(error: Any) -> bool:
    """Whether a page error was raised wholly inside the vendored ECharts (every frame of
    its stack in echarts.min.js): once, in CI under load, ECharts threw "Cannot read
    properties of null (reading '0')" from its own code while the page switched to print
    media and navigated. Any error with a frame of Jimu's scripts, or without a stack,
    still fails the test."""
    frames = [line for line in str(getattr(error, "stack", "") or "").splitlines() if line.strip().startswith("at ")]
    return bool(frames) and all("echarts.min.js" in line for line in frames)

"""The planner's MRP screen in a browser: the grid of the textbook world
(tests/runtime/mrp/planner_world.py), the chart drawn by ECharts from its data-chart
attribute, the htmx live item search, following the pegging to the parent's grid and
the exception list; no Content-Security-Policy violation (the autouse watcher).
Mutation tried and seen to fail: the chart option written with ``tojson`` instead of
``attr_json`` (its quotes end the attribute: no canvas is drawn)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import login_page
from tests.runtime.mrp.planner_world import build

pytestmark = pytest.mark.e2e


def test_planner_grid_chart_search_and_pegging(browser: Any, server: str, served_jimu: Any, shots: Any) -> None:
    w = build(served_jimu, app="mp" + uuid.uuid4().hex[:6], clients=False)
    app, rid = w["app"], w["run"]["id"]
    page = login_page(browser, server, "manager")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/app/{app}/_mrp/{rid}?item={w['b']}")
    assert page.locator("#h-grid").inner_text() == "B Wheel"
    page.wait_for_function("() => document.querySelector('#mrp-chart canvas') !== null")
    drawn = page.evaluate("""() => {
        const opt = echarts.getInstanceByDom(document.getElementById('mrp-chart')).getOption();
        return opt.series.map(s => [s.type, s.data]);
    }""")
    assert drawn[2] == ["line", [10, 10, 40, 50, 40, 40]] and drawn[0] == ["bar", [10, 0, 0, 40, 10, 0]], drawn
    cells = page.locator('#mrp-grid tr[data-row="planned_releases"] td').all_inner_texts()
    assert cells == ["0", "50", "0", "0", "0", "0"], cells
    page.screenshot(path=str(shots / "mrp-planner-grid.png"), full_page=True)
    # live search: the list narrows without a page load
    page.fill("#mrp-q", "bik")
    page.wait_for_function("() => document.querySelectorAll('#mrp-items li a').length === 1")
    assert page.locator("#mrp-items").inner_text().strip().startswith("A Bike")
    # the pegging leads to the parent's grid
    page.locator('#mrp-orders li[data-peg="parent"] a').first.click()
    page.wait_for_url(f"**/_mrp/{rid}?item={w['a']}")
    assert page.locator("#h-grid").inner_text() == "A Bike"
    page.goto(f"{server}/app/{app}/_mrp/{rid}/exceptions?kind=defer")
    assert page.locator("#mrp-exceptions tbody tr").count() == 2
    assert not errors, errors
    page.close()

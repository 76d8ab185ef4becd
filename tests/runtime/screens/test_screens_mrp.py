"""The planner's MRP screens and reports: who sees them, bad input, the exception list's
filters and links, and an item name that tries to end its HTML context. The figures are
tests/runtime/mrp/test_grid.py's (world: tests/runtime/mrp/planner_world.py)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from markupsafe import escape

from tests.runtime.mrp.planner_world import APP, build, screen_client

EVIL = '</script><script>alert(1)</script>"\'&<b>x'


def test_only_callers_who_read_the_run_see_it(jimu: Any) -> None:
    """sales has no read on mrp_run: the data API's answer (404) from both reports and
    the screens, and the
    reports are absent from its OpenAPI document; an unknown run is 404; bad parameters
    are 422 problems. Mutations tried, each seen to fail: ``open_run`` reading the run
    with ``jimu.records.get`` (no policy: sales got 200); ``add_mrp`` without the read
    check (sales's document listed the grid)."""
    w = build(jimu)
    api, rid = w["api"], w["run"]["id"]
    grid, exc = f"/api/apps/{APP}/reports/mrp-grid", f"/api/apps/{APP}/reports/mrp-exceptions"
    # sales is not granted mrp_run at all: the data API answers 404 (the entity does not
    # exist for it), and so do the reports and the screens
    gate = api.get("sales", f"/api/apps/{APP}/data/mrp_run/{rid}").status_code
    assert gate in (403, 404)
    for path, params in ((grid, {"run": rid, "item": w["a"]}), (exc, {"run": rid})):
        r = api.get("sales", path, **params)
        assert r.status_code == gate and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert api.get("warehouse", path, **params).status_code == 200  # the mrp unit lets warehouse read runs
        assert api.get("manager", path, **{**params, "run": 99999}).status_code == 404
    for params in ({"run": rid}, {"run": rid, "item": "abc"}, {"run": rid, "item": w["a"], "x": "1"}, {"item": w["a"]}):
        r = api.get("manager", grid, **params)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), (params, r.text)
    assert api.get("manager", exc, run=rid, kind="later").status_code == 422
    assert api.get("manager", grid, run=rid, item=99999).status_code == 404
    docs = {u: api.get(u, f"/api/apps/{APP}/openapi.json").json()["paths"] for u in ("sales", "purchasing")}
    assert grid not in docs["sales"] and exc not in docs["sales"]
    assert docs["purchasing"][grid]["get"]["operationId"] == "get_mrp_grid" and exc in docs["purchasing"]

    sales = screen_client(w, "sales")
    for path in (f"/app/{APP}/_mrp/{rid}", f"/app/{APP}/_mrp/{rid}/exceptions", f"/app/{APP}/_mrp/{rid}/items"):
        assert sales.get(path).status_code == gate, path
    manager = screen_client(w, "manager")
    assert manager.get(f"/app/{APP}/_mrp/99999").status_code == 404
    assert manager.get(f"/app/{APP}/_mrp/abc").status_code == 404
    detail = manager.get(f"/app/{APP}/mrp_run/{rid}")
    assert f'href="/app/{APP}/_mrp/{rid}"' in detail.text  # the run's detail links the planner's view
    line = jimu.records.list(APP, "mrp_line", filter=f"run == {rid}", limit=1).data[0]
    detail = manager.get(f"/app/{APP}/mrp_line/{line['id']}")  # a planned order links its item's grid
    assert f'href="/app/{APP}/_mrp/{rid}?item={line["item"]}"' in detail.text


def test_exception_list_filters_and_links(jimu: Any) -> None:
    """Two defers (A's work order to 01-19, B's purchase order to 01-26), nothing else:
    the kind filter keeps both, the item filter one, past_due none; each links its
    order and its item's grid; the counts per kind sit in the filter."""
    w = build(jimu)
    rid = w["run"]["id"]
    body = w["api"].get("manager", f"/api/apps/{APP}/reports/mrp-exceptions", run=rid).json()
    assert body["counts"] == {"defer": 2} and body["total"] == 2
    assert [(e["kind"], e["document"], e["new_date"], e["link"]["entity"], e["item_label"]) for e in body["data"]] == [
        ("defer", w["wo"]["number"], "2026-01-19", "work_order", "A Bike"),
        ("defer", w["po"]["number"], "2026-01-26", "purchase_order", "B Wheel")]
    c = screen_client(w, "manager")
    page = c.get(f"/app/{APP}/_mrp/{rid}/exceptions", params={"kind": "defer"})
    assert page.status_code == 200 and page.text.count('<tr data-kind="defer">') == 2
    assert f'href="/app/{APP}/work_order/{w["wo"]["id"]}">{w["wo"]["number"]}</a>' in page.text
    assert f'href="/app/{APP}/_mrp/{rid}?item={w["b"]}">B Wheel</a>' in page.text
    assert '<option value="defer" selected>Defer (2)</option>' in page.text
    one = c.get(f"/app/{APP}/_mrp/{rid}/exceptions", params={"item": w["b"]})
    assert one.text.count("<tr data-kind=") == 1 and w["po"]["number"] in one.text and w["wo"]["number"] not in one.text
    none = c.get(f"/app/{APP}/_mrp/{rid}/exceptions", params={"kind": "past_due"})
    assert "<tr data-kind=" not in none.text and "No exceptions" in none.text
    zh = screen_client(w, "manager", "zh").get(f"/app/{APP}/_mrp/{rid}/exceptions")
    assert "推迟" in zh.text and "例外信息" in zh.text
    items = c.get(f"/app/{APP}/_mrp/{rid}/items", params={"q": "whe"})
    assert items.status_code == 200 and "B Wheel" in items.text and "A Bike" not in items.text


def _scripts_ok(text: str) -> None:
    """Every script element loads a file: nothing in a value opened one of its own."""
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag, tag
    assert "alert(1)" not in text.replace(html.escape("alert(1)"), "")


def test_an_item_name_cannot_end_its_html_context(jimu: Any) -> None:
    """Item A is named ``</script><script>alert(1)</script>"'&<b>x``: on A's grid (title,
    heading, picker), on B's (the parent in the pegging) and the exception list it is
    text, every script element is a file, and the chart's ``data-chart`` attribute still
    parses as JSON. Mutation tried and seen to fail: ``{{ i.label|safe }}`` in the picker."""
    w = build(jimu, a_name=EVIL)
    rid = w["run"]["id"]
    c = screen_client(w, "manager")
    for params in ({"item": w["a"]}, {"item": w["b"]}, {"q": "script"}):
        page = c.get(f"/app/{APP}/_mrp/{rid}", params=params)
        assert page.status_code == 200
        assert EVIL not in page.text and str(escape("A " + EVIL)) in page.text, params
        _scripts_ok(page.text)
        chart = re.search(r'data-chart="([^"]*)"', page.text)
        assert ("item" not in params) or (chart is not None and json.loads(html.unescape(chart.group(1)))["series"])
    page = c.get(f"/app/{APP}/_mrp/{rid}/exceptions")
    assert EVIL not in page.text and str(escape("A " + EVIL)) in page.text
    _scripts_ok(page.text)
    grid = w["api"].get("manager", f"/api/apps/{APP}/reports/mrp-grid", run=rid, item=w["a"]).json()
    assert grid["item"]["name"] == EVIL  # JSON carries the name as it is

"""Live pages: the stream authenticates with the session cookie (no bearer token in the
page), starts from the event id the page was rendered at, and the session check the page
asks when its stream is refused answers 200 while the session holds, 401 once expired."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from jimu.core.clock import ManualClock, set_clock
from tests.runtime.screens.conftest import find


def _since(html: str) -> int:
    m = re.search(r'data-live="\w+"[^>]*data-since="(\d+)"', html)
    assert m, "no live element with data-since"
    return int(m.group(1))


@pytest.mark.parametrize("path", ["/app/standard/item", "/app/standard/sales_order/kanban", "detail"])
def test_live_pages_carry_no_token_and_start_at_the_newest_event(login, std, path):
    c = login("sales")
    if path == "detail":
        item = find(std, "item", 'sku == "SKU-A001"')
        path = f"/app/standard/item/{item['id']}"
    html = c.get(path).text
    assert "access_token" not in html and "data-token" not in html
    before = _since(html)
    std.records.create("standard", "customer", {"code": f"C-L{before}", "name": f"实时客户 {path} {before}", "city": "上海"})
    assert _since(c.get(path).text) > before


def test_session_check(login, std_app):
    from starlette.testclient import TestClient

    c = login("warehouse")
    r = c.get("/app/standard/_session")
    assert r.status_code == 200 and r.json() == {"ok": True, "user": "warehouse"}
    assert TestClient(std_app).get("/app/standard/_session").status_code == 401
    clock = ManualClock()
    before = set_clock(clock)
    try:
        clock.advance(timedelta(hours=9))  # past the session's eight hours
        r = c.get("/app/standard/_session")
        assert r.status_code == 401 and r.json()["ok"] is False
    finally:
        set_clock(before)
    assert c.get("/app/standard/_session").status_code == 200


def test_pages_have_the_session_expired_notice(login):
    html = login("sales").get("/app/standard/item?q=x").text
    assert 'id="session-expired"' in html and "hidden" in html
    assert "/login?next=%2Fapp%2Fstandard%2Fitem%3Fq%3Dx" in html or "/login?next=/app/standard/item%3Fq%3Dx" in html

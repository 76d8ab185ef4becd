"""The live stream of a page left open (a warehouse tablet) outlives the old one-hour
stream token: it lives as long as the screen session, resumes after a dropped connection
without losing what happened meanwhile, and says so when the session itself expired.

The server runs in this process, so the test moves its clock (``ManualClock``) and drops
every open stream (stopping the event hub, as a restart or a proxy timeout would)."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from jimu.core.clock import ManualClock, set_clock
from tests.e2e.conftest import api, login_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock()
    before = set_clock(manual)
    try:
        yield manual
    finally:
        set_clock(before)


def _drop_streams(jimu: Any) -> None:
    """End every open SSE stream (the next subscriber starts a new hub)."""
    from jimu.runtime.events.hub import get_hub

    get_hub(jimu.db).stop()


def _rename(server: str, sku: str, name: str) -> None:
    query = urllib.parse.urlencode({"filter": f"sku == {json.dumps(sku)}", "limit": 1})
    item = api(server, "GET", f"/api/apps/standard/data/item?{query}")["data"][0]
    out = api(server, "PATCH", f"/api/apps/standard/data/item/{item['id']}", body={"name": name},
              headers={"If-Match": f'"{item["version"]}"'})
    assert isinstance(out, dict), out


def test_stream_survives_token_expiry_and_reports_an_expired_session(browser: Any, server: str, served_jimu: Any,
                                                                     clock: ManualClock) -> None:
    page = login_page(browser, server, "warehouse")
    page.goto(f"{server}/app/standard/item?q=SKU-A002")
    row = page.locator("#rows tr", has_text="SKU-A002")
    assert row.count() == 1 and "全麦面包" in row.inner_text()
    page.wait_for_function("() => window.jimuLive && window.jimuLive.readyState === 1")
    page.evaluate("window.__jimuNoReload = 1")
    notice = page.locator("#session-expired")
    assert notice.is_hidden()
    try:
        # two hours later (a stream token lasted one, the session lasts eight) the
        # connection drops, and a change is committed before the page reconnects
        clock.advance(timedelta(hours=2))
        _drop_streams(served_jimu)
        _rename(server, "SKU-A002", "全麦面包 夜班")
        row.filter(has_text="夜班").wait_for(timeout=15000)
        page.wait_for_function("() => window.jimuLive && window.jimuLive.readyState === 1")
        # and the stream stays live after the reconnect
        _rename(server, "SKU-A002", "全麦面包 早班")
        row.filter(has_text="早班").wait_for()
        assert page.evaluate("window.__jimuNoReload === 1"), "the page was reloaded"
        assert notice.is_hidden()

        # the session itself expires: the page says so instead of going quiet
        clock.advance(timedelta(hours=7))
        _drop_streams(served_jimu)
        notice.wait_for(state="visible", timeout=15000)
        assert "重新登录" in notice.inner_text()
        link = notice.get_by_role("link", name="重新登录")
        href = link.get_attribute("href") or ""
        assert href.startswith("/login?next=")
        assert urllib.parse.unquote(href.split("=", 1)[1]) == "/app/standard/item?q=SKU-A002", href
        assert page.evaluate("window.__jimuNoReload === 1")
    finally:
        _rename(server, "SKU-A002", "全麦面包")
        page.close()

"""An open SSE stream ends when its credential stops holding (token expired, user
deactivated, API key revoked) or the caller's rights change (roles): the reconnect then
gets 401, or a stream rendered for the new rights. Checks are cheap: a heartbeat shares
one database check per credential and interval, events cost none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from jimu.core.clock import ManualClock
from jimu.runtime.api.app import create_app
from jimu.runtime.events import credentials
from jimu.runtime.events.hub import get_hub
from tests.runtime.events.helpers import SSEReader, serve

HEARTBEAT = 0.1


@pytest.fixture
def served(api: Any) -> Iterator[tuple[Any, str]]:
    """The shop served by uvicorn with a fast heartbeat; yields (api, events url)."""
    credentials.clear_cache()
    api.jimu.settings["sse_heartbeat"] = HEARTBEAT
    with serve(create_app(api.jimu)) as base:
        try:
            yield api, f"{base}/api/apps/shop/events"
        finally:
            get_hub(api.jimu.db).stop()  # ends what is still open, so the server stops at once
    credentials.clear_cache()


def _user_id(api: Any, name: str) -> int:
    user = api.jimu.users.by_name(name)
    assert user is not None
    return int(user.id)


def _still_streams(api: Any, reader: SSEReader, sku: str = "A-1") -> None:
    """The stream is open and delivers."""
    assert not reader.ended.is_set()
    api.jimu.records.update("shop", "item", api.ids["items"][sku], {"name": f"still {sku}"})
    _, kind, data, _ = reader.get()
    assert kind == "record.updated" and data["id"] == api.ids["items"][sku]


def test_stream_ends_when_the_token_expires(served: Any, manual_clock: ManualClock) -> None:
    api, url = served
    token = api.token("warehouse")  # lives 8 hours by the test clock
    reader = SSEReader(f"{url}?access_token={token}")
    assert reader.status == 200
    assert not reader.ended.wait(5 * HEARTBEAT)  # heartbeats re-check and keep it
    manual_clock.advance(timedelta(hours=7))
    assert not reader.ended.wait(5 * HEARTBEAT)
    _still_streams(api, reader)
    manual_clock.advance(timedelta(hours=2))
    assert reader.ended.wait(5), "the stream outlived its token"
    assert SSEReader(f"{url}?access_token={token}").status == 401  # what the reconnect gets


def test_stream_ends_at_the_expiry_time_between_heartbeats(served: Any) -> None:
    api, url = served
    api.jimu.settings["sse_heartbeat"] = 60.0
    api.jimu.settings["token_ttl"] = 3  # whole seconds: expires 2 to 3 s from now
    r = api.client.post("/api/auth/token", json={"username": "warehouse", "password": "warehouse"})
    token = r.json()["access_token"]
    reader = SSEReader(f"{url}?access_token={token}")
    assert reader.status == 200
    assert reader.ended.wait(8), "no heartbeat came, and the stream outlived its token"


def test_stream_ends_when_the_session_cookie_expires(served: Any, manual_clock: ManualClock) -> None:
    api, url = served
    r = api.client.post("/api/auth/session", json={"username": "sales", "password": "sales"})
    assert r.status_code == 200, r.text
    session = r.cookies["jimu_session"]
    reader = SSEReader(url, {"Cookie": f"jimu_session={session}"})
    assert reader.status == 200
    assert not reader.ended.wait(5 * HEARTBEAT)
    manual_clock.advance(timedelta(hours=9))
    assert reader.ended.wait(5), "the stream outlived its session"


def test_stream_ends_when_the_user_is_deactivated(served: Any) -> None:
    api, url = served
    reader = SSEReader(url, {"Authorization": f"Bearer {api.token('warehouse')}"})
    other = SSEReader(url, {"Authorization": f"Bearer {api.token('sales')}"})
    assert reader.status == other.status == 200
    _still_streams(api, reader)
    r = api.patch("admin", f"/api/users/{_user_id(api, 'warehouse')}", json={"active": False})
    assert r.status_code == 200, r.text
    assert reader.ended.wait(5), "a deactivated user's stream goes on"
    assert SSEReader(url, {"Authorization": f"Bearer {api.token('warehouse')}"}).status == 401
    assert not other.ended.is_set()  # another user's stream is not touched
    other.close()


def test_stream_ends_when_the_roles_change_and_the_reconnect_gets_the_new_rights(served: Any) -> None:
    api, url = served
    a1, b1 = api.ids["items"]["A-1"], api.ids["items"]["B-1"]
    headers = {"Authorization": f"Bearer {api.token('sales')}"}
    reader = SSEReader(url, headers)
    assert reader.status == 200
    api.jimu.records.update("shop", "item", b1, {"name": "Gear 1"})  # owner sales2: outside sales' rows
    api.jimu.records.update("shop", "item", a1, {"name": "Bolt 1"})
    _, _, data, _ = reader.get()
    assert data["id"] == a1
    # an unrelated change (the display name) keeps the stream
    r = api.patch("admin", f"/api/users/{_user_id(api, 'sales')}", json={"display_name": "Sally"})
    assert r.status_code == 200, r.text
    assert not reader.ended.wait(credentials.CACHE_SECONDS + 5 * HEARTBEAT)
    r = api.patch("admin", f"/api/users/{_user_id(api, 'sales')}", json={"roles": ["warehouse"]})
    assert r.status_code == 200, r.text
    assert reader.ended.wait(5), "the stream goes on with the old roles"
    again = SSEReader(url, headers)  # the same token: now with warehouse's rights
    assert again.status == 200
    api.jimu.records.update("shop", "item", b1, {"name": "Gear 2", "cost_price": "99.00"})
    _, _, data, _ = again.get()
    assert data["id"] == b1 and {c["field"] for c in data["changes"]} == {"name"}  # cost_price hidden
    again.close()


def test_stream_ends_when_the_api_key_is_revoked(served: Any) -> None:
    api, url = served
    r = api.post("admin", "/api/apps/shop/api-keys", json={"name": "tablet", "role": "warehouse"})
    assert r.status_code in (200, 201), r.text
    key = r.json()
    reader = SSEReader(url, {"X-API-Key": key["key"]})
    bearer = SSEReader(url, {"Authorization": f"Bearer {key['key']}"})
    assert reader.status == bearer.status == 200
    _still_streams(api, reader)
    assert api.delete("admin", f"/api/apps/shop/api-keys/{key['id']}").status_code in (200, 204)
    assert reader.ended.wait(5) and bearer.ended.wait(5), "a revoked key's stream goes on"
    assert SSEReader(url, {"X-API-Key": key["key"]}).status == 401


def test_checks_are_shared_per_credential_and_events_cost_none(served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    api, url = served
    calls: list[Any] = []
    real = credentials.optional_actor

    def counting(*args: Any, **kw: Any) -> Any:
        calls.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(credentials, "optional_actor", counting)
    monkeypatch.setattr(credentials, "CACHE_SECONDS", 60.0)
    token = api.token("warehouse")
    readers = [SSEReader(f"{url}?access_token={token}") for _ in range(5)]
    assert all(r.status == 200 for r in readers)
    for i in range(10):
        api.jimu.records.update("shop", "item", api.ids["items"]["A-1"], {"name": f"n{i}"})
    for r in readers:
        for _ in range(10):
            r.get()
    assert not readers[0].ended.wait(10 * HEARTBEAT)  # about 50 heartbeats in all
    assert len(calls) == 1, f"{len(calls)} credential checks for one credential within the cache interval"
    for r in readers:
        assert not r.ended.is_set()
        r.close()

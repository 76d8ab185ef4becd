"""SSE against uvicorn on a loopback port: per-caller masking, hidden fields absent, row
filter applied, token in the query string, Last-Event-ID resume from the outbox."""

from __future__ import annotations

from jimu.runtime.api.app import create_app
from jimu.runtime.events.hub import get_hub
from tests.runtime.events.helpers import SSEReader, serve


def test_sse_applies_field_and_row_permissions(api):
    jimu = api.jimu
    with serve(create_app(jimu)) as base:
        url = f"{base}/api/apps/shop/events"
        sales = SSEReader(f"{url}?access_token={api.token('sales')}")
        wh = SSEReader(url, {"Authorization": f"Bearer {api.token('warehouse')}"})
        assert sales.status == 200 and wh.status == 200
        a1, b1 = api.ids["items"]["A-1"], api.ids["items"]["B-1"]
        jimu.records.update("shop", "item", a1, {"cost_price": "45678.00", "name": "Bolt X"})
        eid, kind, data, _ = sales.get()
        assert kind == "record.updated" and set(data) == {"entity", "id", "version", "changes"}
        changes = {c["field"]: c for c in data["changes"]}
        assert data["id"] == a1 and changes["cost_price"]["new"] == "46000"  # masked: ROUND_TO(.., 1000)
        assert changes["cost_price"]["old"] == "12000" and changes["name"]["new"] == "Bolt X"
        _, kind, data, _ = wh.get()
        assert {c["field"] for c in data["changes"]} == {"name"}  # cost_price hidden for warehouse
        # a row outside sales' filter (owner sales2) reaches warehouse only
        jimu.records.update("shop", "item", b1, {"name": "Gear X"})
        _, _, data, _ = wh.get()
        assert data["id"] == b1
        assert sales.none_within(0.5)
        sales.close()
        wh.close()
        # resume: everything after the first event, from the outbox
        again = SSEReader(url, {"Authorization": f"Bearer {api.token('warehouse')}", "Last-Event-ID": str(int(eid) - 1)})
        _, _, data, _ = again.get()
        assert data["id"] == a1
        _, _, data, _ = again.get()
        assert data["id"] == b1
        again.close()
        get_hub(jimu.db).stop()  # ends the streams, so the server stops at once
        bad = SSEReader(f"{url}?access_token=forged")
        assert bad.status == 401


def test_idle_stream_pings_and_kinds_narrow_the_stream(api):
    import httpx

    jimu = api.jimu
    jimu.settings["sse_heartbeat"] = 0.3
    with serve(create_app(jimu)) as base:
        url = f"{base}/api/apps/shop/events?access_token={api.token('warehouse')}"
        with httpx.Client(timeout=10) as client, client.stream("GET", url) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            assert next(lines) == "retry: 2000"
            assert [x for x in (next(lines), next(lines)) if x] == [": ping"]
        created = SSEReader(f"{url}&kinds=record.created")
        a1 = api.ids["items"]["A-1"]
        jimu.records.update("shop", "item", a1, {"name": "not a creation"})
        rec = jimu.records.create("shop", "item", {"sku": "K-1", "name": "new"})
        _, kind, data, _ = created.get()
        assert kind == "record.created" and data["id"] == rec["id"]
        assert created.none_within(0.3)
        created.close()
        get_hub(jimu.db).stop()  # ends the streams, so the server stops at once

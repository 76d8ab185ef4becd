"""Webhooks out: signed, retried with backoff from the database, logged, re-sendable,
filtered by the webhook's role; DingTalk/WeCom formats; incoming token hooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from jimu.runtime.events.dispatcher import run_once
from tests.runtime.events.helpers import Receiver


def _create_hook(api, **body):
    r = api.post("admin", "/api/apps/shop/webhooks", json={"name": "h", "role": "warehouse", "backoff": 0.05,
                                                           **body})
    assert r.status_code == 201, r.text
    return r.json()


def _pump(jimu, until, rounds=40):
    for _ in range(rounds):
        run_once(jimu)
        if until():
            return
        time.sleep(0.03)
    raise AssertionError("condition not reached")


def test_retry_until_fourth_attempt_with_signed_filtered_payload(api):
    rx = Receiver(fail=3)
    try:
        hook = _create_hook(api, url=rx.url, secret="s3cret", kinds=["record.updated"], entities=["item"])
        item = api.ids["items"]["A-1"]
        r = api.patch("admin", f"/api/apps/shop/data/item/{item}", json={"cost_price": "13000", "name": "Bolt2"},
                      headers={"If-Match": '"1"'})
        assert r.status_code == 200, r.text
        _pump(api.jimu, lambda: len(rx.calls) >= 4)
        assert len(rx.calls) == 4
        call = rx.calls[-1]
        expected = "sha256=" + hmac.new(b"s3cret", call["body"], hashlib.sha256).hexdigest()
        assert call["headers"]["X-Jimu-Signature"] == expected
        body = json.loads(call["body"])
        assert body["event"] == "record.updated" and body["id"] == call["headers"]["X-Jimu-Event-Id"]
        fields = {c["field"] for c in body["data"]["changes"]}
        assert fields == {"name"}  # cost_price is hidden for the warehouse role
        log = api.get("admin", f"/api/apps/shop/webhooks/{hook['id']}/deliveries").json()["data"]
        assert len(log) == 1 and log[0]["status"] == "delivered"
        assert [a["status_code"] for a in log[0]["log"]] == [500, 500, 500, 200]
        # manual re-send: one more attempt, logged as manual
        d = api.post("admin", f"/api/apps/shop/webhooks/{hook['id']}/deliveries/{log[0]['id']}/resend").json()
        assert d["status"] == "delivered" and d["log"][-1]["manual"] is True and len(rx.calls) == 5
    finally:
        rx.close()


def test_dingtalk_and_wecom_formats(api):
    ding, wecom = Receiver(), Receiver()
    try:
        _create_hook(api, name="ding", url=ding.url, format="dingtalk", secret="SEC", role="admin")
        # sales sees only rows it owns (owner == $user): the hook's own user owns none, so nothing is sent
        _create_hook(api, name="wecom-sales", url=wecom.url, format="wecom", role="sales")
        _create_hook(api, name="wecom", url=wecom.url, format="wecom", role="warehouse")
        item = api.ids["items"]["A-1"]
        api.patch("admin", f"/api/apps/shop/data/item/{item}", json={"cost_price": "23456", "name": "Bolt3"}, headers={"If-Match": '"1"'})
        _pump(api.jimu, lambda: len(ding.calls) >= 1 and len(wecom.calls) >= 1)
        d = json.loads(ding.calls[-1]["body"])
        assert d["msgtype"] == "markdown" and "cost_price" in d["markdown"]["text"]
        assert "23456" in d["markdown"]["text"]
        assert "timestamp=" in ding.calls[-1]["path"] and "sign=" in ding.calls[-1]["path"]
        w = json.loads(wecom.calls[-1]["body"])
        assert w["msgtype"] == "markdown" and "cost_price" not in w["markdown"]["content"]  # hidden for warehouse
        assert len(wecom.calls) == 1
    finally:
        ding.close()
        wecom.close()


def test_admin_routes_and_problem_shapes(api):
    assert api.get("sales", "/api/apps/shop/webhooks").status_code == 403
    r = api.post("admin", "/api/apps/shop/webhooks", json={"name": "x", "role": "sales", "url": "ftp://x"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert api.get("admin", "/api/apps/shop/webhooks").json()["next_cursor"] is None
    assert api.get("admin", "/api/apps/shop/webhooks/999").status_code == 404


def test_incoming_hook_writes_through_permissions(api):
    r = api.post("admin", "/api/apps/shop/webhooks", json={"name": "in", "direction": "in", "role": "sales",
                                                           "entity": "item", "mode": "upsert", "key_field": "sku"})
    assert r.status_code == 201, r.text
    url = r.json()["hook_url"]
    r = api.client.post(url, json={"sku": "W-1", "name": "From hook"})
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == "webhook:in"
    r = api.client.post(url, json={"sku": "W-1", "name": "Renamed"})
    # the sales row filter (owner == $user) holds for the hook's actor too: its own row is updatable
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    assert api.client.post("/api/hooks/wrong", json={}).status_code == 404
    w = api.post("admin", "/api/apps/shop/webhooks", json={"name": "in2", "direction": "in", "role": "warehouse",
                                                           "entity": "item"}).json()
    assert api.client.post(w["hook_url"], json={"sku": "W-2"}).status_code == 403  # warehouse may not create

"""Tokens, API keys, sessions with CSRF, lockout, and the 401/403/404 rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jimu.core import clock

ITEMS = "/api/apps/shop/data/item"


def test_token_shape_and_me(api):
    r = api.client.post("/api/auth/token", json={"username": "sales", "password": "sales"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and body["access_token"]
    me = api.get("sales", "/api/auth/me").json()
    assert me["username"] == "sales" and me["roles"] == ["sales"]


def test_unauthenticated_and_forged_tokens_are_401(api):
    for url in (ITEMS, "/api/apps", "/api/users", "/api/apps/shop/openapi.json", "/api/apps/shop/audit"):
        r = api.client.get(url)
        assert r.status_code == 401, url
        assert r.headers["content-type"].startswith("application/problem+json")
    token = api.token("sales")
    payload, sig = token.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + sig
    for bad in (forged, token + "x", "garbage", "a.b"):
        assert api.client.get(ITEMS, headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    assert api.client.get(ITEMS, headers={"Authorization": "Basic abc"}).status_code == 401


def test_expired_token_is_401(api, manual_clock):
    token = api.token("sales")
    assert api.client.get(ITEMS, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    manual_clock.advance(timedelta(hours=9))
    assert api.client.get(ITEMS, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_deactivated_user_tokens_stop_at_once(api):
    token = api.token("sales")
    uid = api.jimu.users.by_name("sales").id
    r = api.patch("admin", f"/api/users/{uid}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert api.client.get(ITEMS, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    r = api.client.post("/api/auth/token", json={"username": "sales", "password": "sales"})
    assert r.status_code == 401


def test_users_admin_only(api):
    assert api.get("sales", "/api/users").status_code == 403
    assert api.post("sales", "/api/users", json={"username": "x", "password": "xyz"}).status_code == 403
    r = api.post("admin", "/api/users", json={"username": "buyer", "password": "buyer-pass", "roles": ["purchasing"]})
    assert r.status_code == 201 and r.json()["roles"] == ["purchasing"] and "password" not in r.json()
    page = api.get("admin", "/api/users", params={"limit": 2}).json()
    assert len(page["data"]) == 2 and page["next_cursor"]
    rest = api.get("admin", "/api/users", params={"limit": 100, "cursor": page["next_cursor"]}).json()
    assert rest["next_cursor"] is None and len(page["data"]) + len(rest["data"]) == 6
    assert api.post("admin", "/api/users", json={"username": "buyer", "password": "buyer-pass"}).status_code == 409
    assert api.patch("admin", "/api/users/9999", json={"active": True}).status_code == 404
    r = api.patch("admin", f"/api/users/{r.json()['id']}", json={"nickname": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "nickname"


def test_lockout_after_repeated_failures(api, manual_clock):
    bad = {"username": "warehouse", "password": "wrong"}
    for _ in range(5):
        assert api.client.post("/api/auth/token", json=bad).status_code == 401
    r = api.client.post("/api/auth/token", json={"username": "warehouse", "password": "warehouse"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith("application/problem+json")
    manual_clock.advance(timedelta(seconds=31))
    assert api.client.post("/api/auth/token", json=bad).status_code == 401  # 6th failure: 60 s now
    r = api.client.post("/api/auth/token", json={"username": "warehouse", "password": "warehouse"})
    assert r.status_code == 429 and 30 < int(r.headers["retry-after"]) <= 60
    manual_clock.advance(timedelta(seconds=61))
    assert api.client.post("/api/auth/token", json={"username": "warehouse", "password": "warehouse"}).status_code == 200
    # Success resets the counter.
    assert api.client.post("/api/auth/token", json=bad).status_code == 401
    assert api.client.post("/api/auth/token", json={"username": "warehouse", "password": "warehouse"}).status_code == 200


def test_api_keys_are_scoped_to_an_app_and_a_role(api):
    assert api.post("sales", "/api/apps/shop/api-keys", json={"name": "erp", "role": "sales"}).status_code == 403
    r = api.post("admin", "/api/apps/shop/api-keys", json={"name": "wms", "role": "warehouse"})
    assert r.status_code == 201
    key = r.json()["key"]
    rows = api.client.get(ITEMS, headers={"X-API-Key": key}).json()["data"]
    assert len(rows) == 3 and "cost_price" not in rows[0]
    assert api.client.get(ITEMS, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert api.client.get("/api/users", headers={"X-API-Key": key}).status_code == 403
    api.jimu.store.create_app("other")
    assert api.client.get("/api/apps/other/data/item", headers={"X-API-Key": key}).status_code == 404
    assert [a["name"] for a in api.client.get("/api/apps", headers={"X-API-Key": key}).json()["data"]] == ["shop"]
    assert api.client.get(ITEMS, headers={"X-API-Key": key[:-3] + "abc"}).status_code == 401


def test_api_keys_are_listed_without_secrets_and_revoked_at_once(api):
    keys = "/api/apps/shop/api-keys"
    made = api.post("admin", keys, json={"name": "wms", "role": "warehouse"}).json()
    other = api.post("admin", keys, json={"name": "erp", "role": "sales"}).json()
    assert api.get("sales", keys).status_code == 403
    listed = api.get("admin", keys).json()["data"]
    assert [k["name"] for k in listed] == ["erp", "wms"] and all(k["active"] for k in listed)
    assert not any("key" in k or "key_hash" in k for k in listed)
    assert all(made["key"] not in str(v) for k in listed for v in k.values())
    assert api.client.get(ITEMS, headers={"X-API-Key": made["key"]}).status_code == 200
    r = api.delete("admin", f"{keys}/{made['id']}")
    assert r.status_code == 200 and r.json()["active"] is False
    r = api.client.get(ITEMS, headers={"X-API-Key": made["key"]})
    assert r.status_code == 401 and r.json()["code"] == "api_key.invalid"
    assert api.client.get(ITEMS, headers={"X-API-Key": other["key"]}).status_code == 200  # the other still works
    assert api.delete("admin", f"{keys}/{made['id']}").status_code == 200  # twice is harmless
    assert [k["active"] for k in api.get("admin", keys).json()["data"]] == [True, False]
    trail = api.get("admin", "/api/apps/shop/audit").json()["data"]
    revoked = [e for e in trail if e["action"] == "api_key.revoke"]
    assert len(revoked) == 1 and revoked[0]["user"] == "admin" and "wms" in revoked[0]["summary"]["en"]
    for bad in ("9999", "abc"):
        r = api.delete("admin", f"{keys}/{bad}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    api.jimu.store.create_app("other")
    assert api.delete("admin", f"/api/apps/other/api-keys/{other['id']}").status_code == 404  # another app's key
    assert api.client.get(ITEMS, headers={"X-API-Key": other["key"]}).status_code == 200


def test_failed_logins_are_throttled_per_address(api, manual_clock):
    """Password spraying: one address trying many usernames is stopped even though no
    single user reaches the lockout; the window slides with the clock."""
    from jimu.runtime.api.throttle import IP_LIMIT, IP_WINDOW_SECONDS

    for i in range(IP_LIMIT):
        r = api.client.post("/api/auth/token", json={"username": f"nobody{i}", "password": "x"})
        assert r.status_code == 401, i
    r = api.client.post("/api/auth/token", json={"username": "sales", "password": "sales"})
    assert r.status_code == 429 and r.json()["code"] == "auth.throttled"
    assert 0 < int(r.headers["retry-after"]) <= IP_WINDOW_SECONDS
    assert r.headers["content-type"].startswith("application/problem+json")
    assert api.client.post("/api/auth/session", json={"username": "sales", "password": "sales"}).status_code == 429
    manual_clock.advance(timedelta(seconds=IP_WINDOW_SECONDS + 1))
    assert api.client.post("/api/auth/token", json={"username": "sales", "password": "sales"}).status_code == 200


def test_login_throttle_window_is_configurable_and_bounded():
    from jimu.core.errors import TooManyRequests
    from jimu.runtime.api import throttle as mod

    t = mod.LoginThrottle(limit=2, window_seconds=60)
    t.check("10.0.0.1")
    t.failed("10.0.0.1")
    t.failed("10.0.0.1")
    with pytest.raises(TooManyRequests) as caught:
        t.check("10.0.0.1")
    assert caught.value.extra["retry_after"] <= 60
    t.check("10.0.0.2")  # another address is not affected
    t.check(None)  # no address known: never throttled
    t.failed(None)


def test_session_cookie_needs_csrf_for_unsafe_methods(api):
    client = api.client
    r = client.post("/api/auth/session", json={"username": "sales", "password": "sales"})
    assert r.status_code == 200
    csrf = r.json()["csrf_token"]
    assert client.cookies.get("jimu_csrf") == csrf
    assert client.get(ITEMS).status_code == 200  # safe method: cookie alone
    r = client.post(ITEMS, json={"sku": "C-1"})
    assert r.status_code == 403 and r.json()["code"] == "csrf.failed"
    r = client.post(ITEMS, json={"sku": "C-1"}, headers={"X-CSRF-Token": "nope"})
    assert r.status_code == 403
    r = client.post(ITEMS, json={"sku": "C-1"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    client.delete("/api/auth/session")
    client.cookies.clear()
    assert client.get(ITEMS).status_code == 401


def test_other_apps_and_ids_are_404(api):
    a1 = api.ids["items"]["A-1"]
    assert api.get("admin", f"/api/apps/nope/data/item/{a1}").status_code == 404
    assert api.get("admin", f"{ITEMS}/999999").status_code == 404
    assert api.get("admin", f"{ITEMS}/abc").status_code == 404
    assert api.get("admin", "/api/apps/shop/data/nothing").status_code == 404
    assert api.get("sales", "/api/apps/shop/meta").status_code == 403
    assert api.get("admin", "/api/apps/nope/meta").status_code == 404


@pytest.mark.parametrize("enabled", [False, True])
def test_admin_clock(api, monkeypatch, enabled):
    from jimu.runtime.due import register_due_runner, unregister_due_runner

    calls = []

    def runner(jimu, now):
        calls.append(now)
        return 1

    previous = clock.get_clock()
    monkeypatch.setenv("JIMU_TEST_CLOCK", "1" if enabled else "0")
    register_due_runner(runner)
    try:
        r = api.post("admin", "/api/admin/clock", json={"advance": "PT48H"})
        if not enabled:
            assert r.status_code == 404
            return
        assert r.status_code == 200, r.text
        assert calls and r.json()["now"].startswith(calls[0].isoformat()[:16])
        api._tokens.clear()  # the admin's token expired when time jumped 48 h
        assert api.post("sales", "/api/admin/clock", json={"advance": "PT1H"}).status_code == 403
        assert api.post(None, "/api/admin/clock", json={"advance": "PT1H"}).status_code == 401
        assert api.post("admin", "/api/admin/clock", json={"advance": "48 hours"}).status_code == 422
    finally:
        unregister_due_runner(runner)
        clock.set_clock(previous)

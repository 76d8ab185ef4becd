"""Webhook definitions are typed and bounded, and managed only by a signed-in admin
(issue 17): negative backoff, ``max_attempts: -1``, ``timeout: 99999``, ``"abc"`` where a
number goes and non-http URLs are 422 with one error per field; an admin-role API key gets
403 ``forbidden.api_key`` on every webhook route.

Mutations caught: ``webhook_spec.check_spec`` without the ``BOUNDS`` loop (the bad numbers
are stored: 201, and ``"abc"`` a 500 on PostgreSQL), without ``_url_problem`` (ftp and
``javascript:`` URLs accepted), and ``_admin`` in ``webhook_routes`` without the API-key
check (the key lists and creates webhooks: 200/201)."""

from __future__ import annotations

URL = "/api/apps/shop/webhooks"
BASE = {"name": "h", "role": "warehouse", "url": "https://example.com/hook"}


BAD = [
    ("backoff", -1), ("backoff", 0), ("backoff", "abc"), ("backoff", 1e9), ("max_attempts", -1),
    ("max_attempts", 0), ("max_attempts", 2.5), ("max_attempts", 10_000), ("max_attempts", True),
    ("timeout", 99999), ("timeout", "abc"), ("timeout", -5), ("timeout", [1]),
    ("url", "ftp://example.com/x"), ("url", "javascript:alert(1)"), ("url", "http://"),
    ("url", "https://exa mple.com"), ("url", "http://example.com:99999/"), ("url", 42),
    ("name", "x" * 64), ("role", {"a": 1}), ("kinds", "record.created"), ("active", "yes"),
]


def test_bad_definition_is_422_naming_the_field(api):
    for field, value in BAD:
        r = api.post("admin", URL, json={**BASE, field: value})
        assert r.status_code == 422, (field, value, r.text)
        body = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert body["code"] == "webhook.invalid" and [e["field"] for e in body["errors"]] == [field], body
    assert api.get("admin", URL).json()["data"] == []


def test_bounds_apply_to_patch_too_and_good_values_are_stored(api):
    r = api.post("admin", URL, json={**BASE, "backoff": "2.5", "max_attempts": 5, "timeout": 10})
    assert r.status_code == 201, r.text
    hook = r.json()
    assert (hook["backoff"], hook["max_attempts"], hook["timeout"]) == (2.5, 5, 10.0)
    r = api.patch("admin", f"{URL}/{hook['id']}", json={"max_attempts": -1, "timeout": "abc"})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"max_attempts", "timeout"}
    r = api.patch("admin", f"{URL}/{hook['id']}", json={"url": "file:///etc/passwd"})
    assert r.status_code == 422
    r = api.patch("admin", f"{URL}/{hook['id']}", json={"max_attempts": 3})
    assert r.status_code == 200 and r.json()["max_attempts"] == 3 and r.json()["url"] == BASE["url"]


def test_admin_api_key_cannot_manage_webhooks(api):
    r = api.post("admin", "/api/apps/shop/api-keys", json={"name": "integration", "role": "admin"})
    assert r.status_code == 201, r.text
    key = {"X-API-Key": r.json()["key"]}
    hook = api.post("admin", URL, json=BASE).json()
    for method, url, body in (("GET", URL, None), ("POST", URL, BASE), ("GET", f"{URL}/{hook['id']}", None),
                              ("PATCH", f"{URL}/{hook['id']}", {"active": False}),
                              ("DELETE", f"{URL}/{hook['id']}", None), ("GET", f"{URL}/{hook['id']}/deliveries", None)):
        r = api.client.request(method, url, headers=key, json=body)
        assert r.status_code == 403, (method, url, r.text)
        assert r.json()["code"] == "forbidden.api_key" and r.headers["content-type"].startswith("application/problem+json")
    # the same key still reads data: only webhook management is refused
    assert api.client.get("/api/apps/shop/data/item", headers=key).status_code == 200
    assert api.get("admin", f"{URL}/{hook['id']}").json()["active"] is True

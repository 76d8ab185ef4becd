"""Every route, fed bad input, answers one error shape: application/problem+json with
type, title, status, detail and errors [{field, code, message}] — and never a 500."""

from __future__ import annotations

from starlette.routing import Route

from jimu.runtime.api import app as app_module

MINE = ("routes_auth", "routes_users", "routes_meta", "routes_data", "routes_admin")
PARAMS = {"app": "shop", "entity": "item", "name": "item", "kind": "roles", "field": "qty", "id": "1"}


def _check(resp, where):
    assert resp.status_code < 500, (where, resp.status_code, resp.text)
    if resp.status_code < 400:
        return
    assert resp.headers["content-type"].startswith("application/problem+json"), where
    body = resp.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body), (where, body)
    assert body["status"] == resp.status_code and isinstance(body["detail"], str), where
    assert isinstance(body["errors"], list), where
    for e in body["errors"]:
        assert set(e) >= {"field", "code", "message"}, (where, e)


def _routes():
    out = []
    for name in MINE:
        module = __import__(f"jimu.runtime.api.{name}", fromlist=["routes"])
        for route in module.routes():
            assert isinstance(route, Route)
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    out.append((method, route.path))
    return out


def test_every_route_answers_problem_json_on_bad_input(api, monkeypatch):
    monkeypatch.setenv("JIMU_TEST_CLOCK", "1")
    assert app_module.ROUTE_MODULES  # the modules under test are registered
    routes = _routes()
    assert len(routes) >= 25
    admin = api.h("admin")
    for method, path in routes:
        url = path.format(**PARAMS)
        variants = [
            ({}, None, "anonymous"),
            ({"Authorization": "Bearer forged.token"}, None, "forged"),
            (admin, None, "empty body"),
            ({**admin, "Content-Type": "application/json"}, b"{not json", "malformed"),
            ({**admin, "Content-Type": "text/plain"}, b"hello", "wrong type"),
            ({**admin, "Content-Type": "application/json"}, b'{"zzz_unknown": 1}', "unknown field"),
            ({**admin, "Content-Type": "application/json"}, b"[]", "array"),
        ]
        for headers, body, label in variants:
            r = api.client.request(method, url, headers=headers, content=body)
            _check(r, f"{method} {url} [{label}]")
            if label in ("anonymous", "forged") and not url.startswith("/api/auth/"):
                assert r.status_code == 401, (method, url, label, r.status_code)
        for bad in (url.replace("/shop", "/nope"), url.replace("/item", "/no_such").replace("/1", "/999999")):
            if bad != url:
                r = api.client.request(method, bad, headers={**admin, "Content-Type": "application/json"},
                                       content=b"{}")
                _check(r, f"{method} {bad}")
    _check(api.get("admin", "/api/nothing/here"), "unknown route")
    _check(api.client.request("PUT", "/api/auth/token"), "wrong method")

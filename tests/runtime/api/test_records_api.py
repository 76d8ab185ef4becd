"""Record routes: envelopes, ETag/If-Match, filters, cursors, request hardening."""

from __future__ import annotations

ITEMS = "/api/apps/shop/data/item"


def test_create_answers_201_with_the_object(api):
    r = api.post("admin", ITEMS, json={"sku": "N-1", "cost_price": 12.5, "qty": 3, "kind": "goods"})
    assert r.status_code == 201
    body = r.json()
    assert body["id"] and body["version"] == 1 and body["cost_price"] == "12.50"  # never a float
    assert body["created_at"].endswith("+00:00") and r.headers["etag"] == '"1"'
    assert r.headers["location"].endswith(f"/item/{body['id']}")


def test_if_match_rules(api):
    a1 = api.ids["items"]["A-1"]
    r = api.patch("admin", f"{ITEMS}/{a1}", json={"qty": 9})
    assert r.status_code == 428 and r.json()["status"] == 428
    r = api.patch("admin", f"{ITEMS}/{a1}", json={"qty": 9}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    r = api.patch("admin", f"{ITEMS}/{a1}", json={"qty": 10}, headers={"If-Match": '"1"'})
    assert r.status_code == 409 and r.json()["current_version"] == 2
    r = api.patch("admin", f"{ITEMS}/{a1}", json={"qty": 10}, headers={"If-Match": 'W/"2"'})
    assert r.status_code == 200
    assert api.patch("admin", f"{ITEMS}/{a1}", json={"qty": 1}, headers={"If-Match": "abc"}).status_code == 422
    assert api.delete("admin", f"{ITEMS}/{a1}", headers={"If-Match": '"1"'}).status_code == 409


def test_filter_sort_and_cursor(api):
    for i in range(7):
        api.post("admin", ITEMS, json={"sku": f"P-{i}", "qty": i, "owner": "sales"})
    r = api.get("admin", ITEMS, params={"filter": "qty < 3 and sku != 'A-1'", "sort": "qty", "limit": 2})
    body = r.json()
    assert [x["qty"] for x in body["data"]] == [0, 1] and body["next_cursor"]
    rest = api.get("admin", ITEMS, params={"filter": "qty < 3 and sku != 'A-1'", "sort": "qty", "limit": 2,
                                           "cursor": body["next_cursor"]}).json()
    assert [x["qty"] for x in rest["data"]] == [2] and rest["next_cursor"] is None
    seen, cursor = [], None
    while True:
        page = api.get("sales", ITEMS, params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [x["sku"] for x in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 9 and "B-1" not in seen
    r = api.get("admin", ITEMS, params={"filter": "qty >"})
    assert r.status_code == 422 and r.json()["position"] is not None
    assert r.json()["errors"][0]["field"] == "filter"
    r = api.get("admin", ITEMS, params={"filter": "nosuch == 1"})
    assert r.status_code == 422 and "position" in r.json()
    assert api.get("admin", ITEMS, params={"cursor": "!!!"}).status_code == 422
    assert api.get("admin", ITEMS, params={"limit": "0"}).status_code == 422
    assert api.get("admin", ITEMS, params={"sort": "nosuch"}).status_code == 422


def test_request_hardening(api):
    h = api.h("admin")
    r = api.client.post(ITEMS, content=b'{"sku": ', headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    r = api.client.post(ITEMS, content=b"sku=x", headers={**h, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = api.client.post(ITEMS, content=b"[1, 2]", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422
    big = b'{"sku": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    r = api.client.post(ITEMS, content=big, headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 413
    r = api.post("admin", ITEMS, json={"sku": "U-1", "colour": "red", "size": 3})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"colour", "size"}
    nasty = "x'); DROP TABLE app_shop__item; --"
    r = api.post("admin", ITEMS, json={"sku": "Q-1", "name": nasty})
    assert r.status_code == 201 and r.json()["name"] == nasty
    assert api.get("admin", f"{ITEMS}/{r.json()['id']}").json()["name"] == nasty
    r = api.get("admin", ITEMS, params={"filter": f"name == \"{nasty}\""})
    assert [x["sku"] for x in r.json()["data"]] == ["Q-1"]
    r = api.client.post(ITEMS, content=b'{"sku": "N-2", "qty": NaN}', headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400


def test_body_limit_is_configurable(jimu, make_db_url):
    from starlette.testclient import TestClient

    from jimu.runtime.api.app import create_app

    jimu.users.create("root", "root", ["admin"])
    with TestClient(create_app(jimu, max_body_bytes=100)) as client:
        token = client.post("/api/auth/token", json={"username": "root", "password": "root"}).json()["access_token"]
        r = client.post("/api/apps", json={"name": "x" * 200}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 413

"""Hostile or odd input is a 4xx problem+json, never a 500 or a dropped connection, and
valid-but-unusual requests are accepted (issue 17: the review's "500s" list).

Each test names the guard it protects; breaking that guard makes it fail:

* one id parser (``jimu.core.ids.parse_id``) behind every path id, id cursor and API key;
* one cursor codec (``jimu.runtime.records.cursor``) that type-checks what comes back;
* one body decoder (``jimu.runtime.api.util.decode_json``): surrogates, depth;
* field coercion bounds links to the INTEGER column;
* 405 lists every method of the path; ``If-Match: *`` and an empty cursor are accepted.
"""

from __future__ import annotations

import base64

HUGE = "99999999999999999999999"


def _problem(r, *statuses: int) -> dict:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    return body


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_api_key_with_an_id_past_64_bits_is_401(api):
    """Mutation caught: ``_api_key_actor`` back to ``parts[1].isdigit()`` + ``int()`` (the
    id reached the driver: OverflowError, 500)."""
    for key in (f"jimu_{HUGE}_x".encode(), "jimu_²_x".encode("latin-1"), b"jimu_-1_x"):
        r = api.client.get("/api/apps/shop/data/item", headers={"X-API-Key": key})
        assert _problem(r, 401)["code"] == "api_key.invalid"


CRAFTED = ['[{"t":"x","v":1},1]', "[1,99999999999999999999999]", '["a",{"x":1}]', '[99999999999999999999999,1]',
           '["a\\u0000b",1]', '[{"t":"Decimal","v":"NaN"},1]', '[{"t":"datetime","v":"2026-01-01T00:00:00"},1]',
           '[1]', '{"a":1}', '[1,1,1]', "not json", '["a",1]', "[true,1]", "[null,0]", "[null,1]"]


def test_crafted_list_cursor_is_422(api):
    """Mutation caught: ``decode_cursor`` without the per-kind value check (a text value
    for an integer sort is a PostgreSQL DataError, a dict a driver TypeError, an unknown
    tag a KeyError: 500s; a null for the NOT NULL created_at an SQLAlchemy ArgumentError)."""
    for sort in (None, "name", "qty", "sale_price", "created_at", "-id"):
        for raw in CRAFTED:
            params = {"cursor": _b64(raw), **({"sort": sort} if sort else {})}
            r = api.get("admin", "/api/apps/shop/data/item", params=params)
            if (raw == '["a",1]' and sort == "name") or (raw == "[null,1]" and sort in ("name", "qty", "sale_price")):
                # well-formed: text for a text sort, null for a nullable column (its NULL block)
                assert r.status_code == 200, r.text
                continue
            assert _problem(r, 422)["errors"][0]["field"] == "cursor", (sort, raw)


def _assert_pages_every_item_once(api, sort: str) -> None:
    """Walk the item list one row per page by ``sort``: every item exactly once."""
    seen, cursor = [], None
    while True:
        r = api.get("admin", "/api/apps/shop/data/item",
                    params={"limit": 1, "sort": sort, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, (sort, r.text)
        seen += [row["id"] for row in r.json()["data"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(api.ids["items"].values()), (sort, seen)


def test_list_cursor_round_trips_for_every_sort_kind(api):
    """The checked codec still pages: every row once, for text, integer, decimal, date-time,
    choice, link and id sorts (mutation caught: a kind table that refuses its own values)."""
    for sort in ("name", "-qty", "sale_price", "created_at", "-id", "kind", "supplier"):
        _assert_pages_every_item_once(api, sort)


def test_paging_a_boolean_sort(api):
    """A boolean sort pages (mutation caught: the cursor value compared unwrapped,
    ``col < True`` is an SQLAlchemy ArgumentError, 500)."""
    from tests.runtime.api.conftest import ITEM

    api.jimu.store.put_element("shop", "entity", "item",
                               {**ITEM, "fields": [*ITEM["fields"], {"name": "active", "type": "boolean"}]})
    api.jimu.store.publish("shop")
    for n, rid in enumerate(api.ids["items"].values()):
        r = api.get("admin", f"/api/apps/shop/data/item/{rid}")
        assert api.patch("admin", f"/api/apps/shop/data/item/{rid}", json={"active": n % 2 == 0},
                         headers={"If-Match": r.headers["etag"]}).status_code == 200
    for sort in ("active", "-active"):
        _assert_pages_every_item_once(api, sort)


def test_huge_and_odd_ids_are_4xx(api):
    """Mutation caught: any of the routes back to ``str.isdigit()`` + ``int()`` ("²" passes
    isdigit, a 23-digit id overflows the driver)."""
    for bad in (HUGE, "²", "0x1"):
        _problem(api.get("admin", "/api/apps/shop/audit", params={"cursor": bad}), 422)
        assert _problem(api.post("admin", f"/api/apps/shop/inbox/{bad}/read"), 404)["code"] == "inbox.not_found"
        assert _problem(api.delete("admin", f"/api/apps/shop/api-keys/{bad}"), 404)["code"] == "api_key.not_found"
        assert _problem(api.get("admin", f"/api/apps/shop/webhooks/{bad}"), 404)["code"] == "webhook.not_found"
        assert _problem(api.get("admin", f"/api/users/{bad}"), 404)["code"] == "user.not_found"
        _problem(api.get("admin", f"/api/apps/shop/data/item/{bad}"), 404)
        _problem(api.get("admin", "/api/apps/shop/events", params={"last_event_id": bad}), 422)
        _problem(api.get("admin", "/api/apps/shop/events", headers={"Last-Event-ID": bad.encode("latin-1")}), 422)
        _problem(api.get("admin", "/api/users", params={"cursor": bad}), 422)
        _problem(api.get("admin", "/api/apps/shop/inbox", params={"cursor": bad}), 422)
    # the largest id of a BIGINT table is a plain "not found", not an overflow
    _problem(api.get("admin", f"/api/apps/shop/webhooks/{2**63 - 1}"), 404)
    _problem(api.post("admin", f"/api/apps/shop/inbox/{2**63 - 1}/read"), 404)


def test_body_with_lone_surrogate_or_deep_nesting_is_400(api):
    """Mutation caught: ``parse_json`` back to a bare ``json.loads`` (a lone surrogate reached
    the database: UnicodeEncodeError 500; 50,000 nested arrays: RecursionError 500)."""
    url = "/api/apps/shop/data/item"
    json_h = {"content-type": "application/json"}
    for raw in (b'{"sku":"\\ud800","name":"x"}', b"[" * 50_000 + b"]" * 50_000,
                b'{"sku":' + b"[" * 50_000 + b"]" * 50_000 + b"}", b'{"sku":' + b"[" * 40 + b"]" * 40 + b"}"):
        assert _problem(api.post("admin", url, content=raw, headers=json_h), 400)["code"] == "json.malformed"
    # exact decimals and ordinary nesting still arrive intact
    r = api.post("admin", url, content=b'{"sku":"D-1","cost_price":0.10,"sale_price":12.345e1}', headers=json_h)
    assert r.status_code == 201, r.text
    assert (r.json()["cost_price"], r.json()["sale_price"]) == ("0.10", "123.45")


def test_link_or_integer_past_the_column_is_422(api):
    """Mutations caught: ``_integer`` without its range check for ints (2**70 reached the
    driver: OverflowError, 500); the link bound in ``values.coerce`` (2**31 into the INTEGER
    column: NumericValueOutOfRange, 500 on PostgreSQL; SQLite's 64-bit column hides it)."""
    url = "/api/apps/shop/data/item"
    for body in ({"sku": "Z1", "supplier": 22169809864765541974016}, {"sku": "Z2", "supplier": 2**31},
                 {"sku": "Z3", "qty": 2**70}, {"sku": "Z4", "supplier": {"id": 2**40}}):
        errors = _problem(api.post("admin", url, json=body), 422)["errors"]
        assert {e["field"] for e in errors} == set(body) - {"sku"}, errors


def test_405_lists_every_method_of_the_path(api):
    """Mutation caught: ``_http_error`` without :func:`allowed_methods` (Starlette answers
    from the first route of the path: ``Allow: GET, HEAD`` where POST/PATCH/DELETE exist)."""
    rid = api.ids["items"]["A-1"]
    r = api.put("admin", f"/api/apps/shop/data/item/{rid}", json={})
    assert _problem(r, 405)["code"] == "method.not_allowed"
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}
    r = api.put("admin", "/api/apps/shop/data/item", json={})
    assert set(_problem(r, 405) and r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    r = api.put("admin", "/api/apps/shop/webhooks/1", json={})
    assert set(_problem(r, 405) and r.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}


def test_valid_requests_schemathesis_found_refused(api):
    """``If-Match: *`` (RFC 9110: any current version) and an empty cursor (the first page)
    are accepted. Mutation caught: ``_if_match`` without the ``*`` case (422), audit's
    cursor check back to ``isdigit()`` (an empty cursor was 422)."""
    rid = api.ids["items"]["A-1"]
    r = api.patch("admin", f"/api/apps/shop/data/item/{rid}", json={"name": "Any"}, headers={"If-Match": "*"})
    assert r.status_code == 200 and r.json()["name"] == "Any", r.text
    assert api.patch("admin", "/api/apps/shop/data/item/99999", json={"name": "x"},
                     headers={"If-Match": "*"}).status_code == 404
    for url in ("/api/apps/shop/data/item", "/api/apps/shop/audit", "/api/apps/shop/inbox", "/api/users"):
        r = api.get("admin", url, params={"cursor": ""})
        assert r.status_code == 200, (url, r.text)


def test_bulk_delete_back_cannot_split_the_location_header(api):
    """``back`` (the list's query string) is re-encoded into the redirect. Mutation caught:
    ``bulk_delete`` pasting ``back`` as sent (CR/LF reached the Location header: uvicorn
    drops the connection, a proxy might split the response)."""
    import re

    assert api.client.post("/api/auth/session", json={"username": "admin", "password": "admin"}).status_code == 200
    page = api.client.get("/app/shop/item").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    csrf = token.group(1) if token else api.client.cookies.get("jimu_csrf")
    rid = api.ids["items"]["A-2"]
    for back in ("q=x\r\nSet-Cookie: owned=1", "q=x%0d%0aSet-Cookie:%20owned=1", "sort=-id&msg=old\n"):
        r = api.client.post("/app/shop/item/bulk-delete", data={"csrf_token": csrf, "ids": [str(rid)], "back": back},
                            follow_redirects=False)
        assert r.status_code == 303, r.text[:300]
        location = r.headers["location"]
        assert "\r" not in location and "\n" not in location, location
        assert "owned" not in r.headers.get("set-cookie", "")
        assert location.startswith("/app/shop/item?") and location.count("msg=") == 1, location
    assert "sort=-id" in location  # the list's own parameters survive the re-encoding


def test_text_longer_than_its_column_is_422(api):
    """User and attachment values are bounded by their columns (VARCHAR 150 / 1024) like
    text is by ``max_length``. Mutation caught: ``coerce`` back to ``_text_unbounded`` for
    them (a 151-character user went to the column: PostgreSQL StringDataRightTruncation, a
    500; SQLite stored it)."""
    from tests.runtime.api.conftest import ITEM

    api.jimu.store.put_element("shop", "entity", "item", {**ITEM, "fields": [
        *ITEM["fields"], {"name": "assignee", "type": "user"}, {"name": "sheet", "type": "attachment"}]})
    api.jimu.store.publish("shop")
    url = "/api/apps/shop/data/item"
    for n, (field, size) in enumerate((("assignee", 151), ("sheet", 1025))):
        r = api.post("admin", url, json={"sku": f"L-{n}", field: "x" * size})
        assert [e["field"] for e in _problem(r, 422)["errors"]] == [field]
        assert api.post("admin", url, json={"sku": f"M-{n}", field: "x" * (size - 1)}).status_code == 201


def test_kanban_move_decodes_its_body_like_the_api(api):
    """Mutations caught: ``kanban_move`` back to ``await request.json()`` (50,000 nested
    arrays: RecursionError, 500) or to ``assert wf is not None`` (an entity without a
    workflow: AssertionError, 500)."""
    import re

    assert api.client.post("/api/auth/session", json={"username": "admin", "password": "admin"}).status_code == 200
    page = api.client.get("/app/shop/item").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    csrf = token.group(1) if token else api.client.cookies.get("jimu_csrf")
    url = f"/app/shop/item/{api.ids['items']['A-1']}/move"
    headers = {"content-type": "application/json", "X-CSRF-Token": csrf}
    # a screen answers its error page (HTML), with the status of the problem
    r = api.client.post(url, content=b"[" * 50_000 + b"]" * 50_000, headers=headers)
    assert r.status_code == 400, r.text[:200]
    r = api.client.post(url, content=b'{"to": "done"}', headers=headers)
    assert r.status_code == 404, r.text[:200]

"""A list is never ordered by a value the caller may not see, so neither the row order nor
``next_cursor`` (which carries the last row's sort value in clear) gives a masked or hidden
value away (issue 17). The choice, documented in ``jimu/runtime/access/sorting.py``: an
explicit sort on such a field is 422 ``sort.invalid``; an entity's ``default_sort`` on it
falls back to ``-id`` for that caller only.

Mutation caught: ``list_sort`` returning the entity's default sort without
``may_sort_by`` (the sales cursor then holds cost_price 800.00 where sales sees 1000, and
the rows come dearest first)."""

from __future__ import annotations

import base64
import json

from tests.runtime.api.conftest import ITEM


def _cursor_values(cursor: str) -> list:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def _sorted_by_cost(api) -> None:
    api.jimu.store.put_element("shop", "entity", "item", {**ITEM, "default_sort": "-cost_price"})
    api.jimu.store.publish("shop")


def test_default_sort_on_a_masked_field_does_not_leak(api):
    _sorted_by_cost(api)
    ids = api.ids["items"]
    r = api.get("sales", "/api/apps/shop/data/item", params={"limit": 1})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [row["id"] for row in page["data"]] == [ids["A-2"]]  # newest first (-id), not dearest first
    assert page["data"][0]["cost_price"] == "1000"  # masked: ROUND_TO(800.00, 1000)
    raw = json.dumps(_cursor_values(page["next_cursor"]))
    assert "800" not in raw and "12345" not in raw, raw
    rest = api.get("sales", "/api/apps/shop/data/item", params={"limit": 5, "cursor": page["next_cursor"]}).json()
    assert [row["id"] for row in rest["data"]] == [ids["A-1"]]
    # the admin reads cost_price in full: the entity's default sort applies to them
    r = api.get("admin", "/api/apps/shop/data/item", params={"limit": 1})
    assert [row["id"] for row in r.json()["data"]] == [ids["B-1"]] and "56789" in json.dumps(
        _cursor_values(r.json()["next_cursor"]))
    r = api.get("admin", "/api/apps/shop/data/item", params={"limit": 5, "cursor": r.json()["next_cursor"]})
    assert [row["id"] for row in r.json()["data"]] == [ids["A-1"], ids["A-2"]]


def test_explicit_sort_on_masked_or_hidden_field_is_refused(api):
    for user, sort in (("sales", "cost_price"), ("sales", "-cost_price"), ("warehouse", "cost_price"),
                       ("warehouse", "+cost_price")):
        r = api.get(user, "/api/apps/shop/data/item", params={"sort": sort})
        assert r.status_code == 422 and r.json()["code"] == "sort.invalid", (user, sort, r.text)
    assert api.get("sales", "/api/apps/shop/data/item", params={"sort": "-sale_price"}).status_code == 200


def test_screens_list_drops_a_masked_sort(api):
    """The list screen falls back to the allowed order instead of an error page."""
    _sorted_by_cost(api)
    assert api.client.post("/api/auth/session", json={"username": "sales", "password": "sales"}).status_code == 200
    ids = api.ids["items"]
    for params in ({"sort": "-cost_price"}, {}):
        html = api.client.get("/app/shop/item", params=params).text
        assert html.index(f"/app/shop/item/{ids['A-2']}") < html.index(f"/app/shop/item/{ids['A-1']}")

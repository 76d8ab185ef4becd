"""The list hot path's caches and compiled encoder answer exactly what the uncached path
answers: the same JSON objects per role, a clock-reading row filter rebuilt on every
request, a remembered token still expiring on time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from jimu.core import clock
from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.util import json_bytes

ITEMS = "/api/apps/shop/data/item"


@pytest.mark.parametrize("user", ["admin", "sales", "warehouse"])
@pytest.mark.parametrize("fields", [None, "sku,sale_price,qty"])
def test_list_encoder_answers_what_render_many_answers(api, user, fields):
    """Each role's list page (masked cost_price for sales, hidden for warehouse, decimals
    as fixed-point text, datetimes ISO 8601) equals ``render_many`` over the same records.
    Mutations: the encoder writing a masked field's stored value (its mask branch
    dropped), or ignoring ``fields=``, fails here."""
    params = {"sort": "-created_at"} | ({"fields": fields} if fields else {})
    got = api.get(user, ITEMS, params=params)
    assert got.status_code == 200, got.text
    roles = {"admin": ("admin",), "sales": ("sales",), "warehouse": ("warehouse",)}[user]
    policy = AccessPolicy.for_actor(api.jimu, "shop", Actor(user, roles))
    records = api.jimu.records.list("shop", "item", where=policy.row_clause("item"), sort="-created_at").data
    wanted = json.loads(json_bytes(policy.render_many("item", records, fields=fields.split(",") if fields else None)))
    assert got.json()["data"] == wanted
    assert got.json()["data"], "the role sees some rows"
    # The same page again (cached statement and encoder) is the same answer.
    assert api.get(user, ITEMS, params=params).json() == got.json()


def test_row_filter_reading_the_clock_is_built_per_request(api, monkeypatch):
    """A row filter with ``$today`` sees the day move on: its SQL carries today's date as a
    literal, so it is never cached. Mutation: cache it like the other row clauses (drop the
    ``_CLOCK_WORDS`` test in ``AccessPolicy.row_clause``) and the row stays visible."""
    manual = clock.ManualClock()
    previous = clock.set_clock(manual)
    try:
        jimu = api.jimu
        rt = jimu.apps.get("shop")
        tomorrow = (manual.now() + timedelta(days=1)).date().isoformat()
        spec = {"name": "fresh", "entities": {"item": {"read": True, "row_filter": f'$today <= DATE("{tomorrow}")'}}}
        jimu.store.put_element("shop", "role", "fresh", spec)
        jimu.store.publish("shop")
        assert jimu.apps.get("shop").version != rt.version
        jimu.users.create("fresh", "fresh-pass", ["fresh"])
        token = api.client.post("/api/auth/token", json={"username": "fresh", "password": "fresh-pass"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert len(api.client.get(ITEMS, headers=headers).json()["data"]) == 3
        manual.advance(timedelta(days=3))  # past tomorrow (the token lived 8 h: a new one)
        token = api.client.post("/api/auth/token", json={"username": "fresh", "password": "fresh-pass"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        assert api.client.get(ITEMS, headers=headers).json()["data"] == []
    finally:
        clock.set_clock(previous)


def test_remembered_token_still_expires(api):
    """A token whose signature was checked once is remembered, but its expiry is checked
    on every request. Mutation: drop the expiry test on the remembered path
    (``auth._claims``) and the second request answers 200."""
    manual = clock.ManualClock()
    previous = clock.set_clock(manual)
    try:
        assert api.get("sales", ITEMS).status_code == 200  # signature checked, token remembered
        manual.advance(timedelta(hours=9))  # past the 8 h lifetime
        r = api.get("sales", ITEMS)
        assert r.status_code == 401 and r.json()["code"] == "token.invalid"
    finally:
        clock.set_clock(previous)


def test_remembered_token_of_another_kind_is_refused(api):
    """A session token (kind "s") is no API bearer token, remembered or not. Mutation:
    drop the kind test in ``auth._claims`` and the second bearer request is let in."""
    from jimu.runtime.api.auth import issue_token

    session = issue_token(api.jimu, api.jimu.users.by_name("sales"), kind="s", sid="some-session")
    for _ in range(2):  # the first checks the signature, the second is served from memory
        r = api.client.get(ITEMS, headers={"Authorization": f"Bearer {session}"})
        assert r.status_code == 401 and r.json()["code"] == "token.invalid"


def test_masks_run_as_closures_answer_what_render_many_answers(api):
    """A role whose masks take the closure path (``ROUND(field, n)``, a field, a constant:
    jimu/runtime/access/maskfast.py) lists what ``render_many`` renders through the
    expression engine, and the encoder really took that path (no general mask call left).
    Mutation caught: the encoder passing the wrong column to the closure
    (``r[index[field] + 1]``)."""
    from jimu.runtime.access.encoder import list_encoder
    from jimu.runtime.records.query import list_columns

    api.jimu.store.put_element("shop", "role", "buyer", {"name": "buyer", "entities": {"item": {
        "read": True, "fields": {"cost_price": {"mask": "ROUND(cost_price, 0)"}, "sale_price": {"mask": "ROUND(sale_price)"},
                                 "qty": {"mask": "qty"}, "name": {"mask": '"***"'}}}}})
    assert api.jimu.store.publish("shop").published
    api.jimu.users.create("buyer", "buyer-pass", ["buyer"])
    r = api.client.post("/api/auth/token", json={"username": "buyer", "password": "buyer-pass"})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    got = api.client.get(ITEMS, params={"sort": "-created_at"}, headers=headers)
    assert got.status_code == 200, got.text
    policy = AccessPolicy.for_actor(api.jimu, "shop", Actor("buyer", ("buyer",)))
    records = api.jimu.records.list("shop", "item", where=policy.row_clause("item"), sort="-created_at").data
    wanted = json.loads(json_bytes(policy.render_many("item", records)))
    assert got.json()["data"] == wanted and len(wanted) == 3
    assert {r["name"] for r in wanted} == {"***"} and {r["cost_price"] for r in wanted} == {"12346", "800", "56789"}
    ent = policy.rt.entity("item")
    with api.jimu.db.read() as c:
        encode = list_encoder(policy, "item", *list_columns(policy.rt, ent), dialect=c.dialect)
    assert "_mask" not in encode.__code__.co_names


def test_round_masks_inlined_on_numeric_text_answer_what_render_many_answers(api):
    """On PostgreSQL a ``ROUND(field, n)`` mask over a decimal column selected as text is
    inlined in the encoder (``Decimal(text).quantize(10 ** -n)``); on halves, negative
    values rounding to zero, n below the scale and n = 0 it lists what
    ``render_many`` renders. Mutation: the inlined quantize with ``ROUND_HALF_EVEN`` (2.5 -> "2") fails."""
    from jimu.runtime.access.encoder import list_encoder
    from jimu.runtime.records.query import list_columns

    for i, price in enumerate(["2.5", "-2.5", "-0.4", "-0.49", "1234.55", "-1234.45", "0.05", "7"]):
        api.jimu.records.create("shop", "item", {"sku": f"round-{i}", "name": f"r{i}", "cost_price": price,
                                                 "sale_price": price}, actor=Actor("admin", ("admin",)))
    api.jimu.store.put_element("shop", "role", "rounder", {"name": "rounder", "entities": {"item": {
        "read": True, "fields": {"cost_price": {"mask": "ROUND(cost_price, 1)"},
                                 "sale_price": {"mask": "ROUND(sale_price)"}}}}})
    assert api.jimu.store.publish("shop").published
    api.jimu.users.create("rounder", "rounder-pass", ["rounder"])
    r = api.client.post("/api/auth/token", json={"username": "rounder", "password": "rounder-pass"})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    got = api.client.get(ITEMS, params={"sort": "-created_at", "limit": 100}, headers=headers)
    assert got.status_code == 200, got.text
    policy = AccessPolicy.for_actor(api.jimu, "shop", Actor("rounder", ("rounder",)))
    records = api.jimu.records.list("shop", "item", where=policy.row_clause("item"), sort="-created_at",
                                    limit=100).data
    wanted = json.loads(json_bytes(policy.render_many("item", records)))
    assert got.json()["data"] == wanted
    by_sku = {r["sku"]: r for r in wanted}
    assert by_sku["round-0"]["sale_price"] == "3" and by_sku["round-1"]["sale_price"] == "-3"
    assert by_sku["round-4"]["cost_price"] == "1234.6" and by_sku["round-5"]["cost_price"] == "-1234.5"
    ent = policy.rt.entity("item")
    with api.jimu.db.read() as c:
        encode = list_encoder(policy, "item", *list_columns(policy.rt, ent), dialect=c.dialect)
        inlined = "_q" in encode.__code__.co_names
    assert inlined == (c.dialect.name == "postgresql")

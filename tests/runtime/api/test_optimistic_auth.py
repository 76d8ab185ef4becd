"""The credential check sent with the request's first statement (``credcache.assume``,
``auth.optimistically``): on PostgreSQL a list or a create with a remembered token reads
its check and its first statement in one round trip, and answers nothing built on the
remembered credentials until that check confirms them; when it does not (a deactivation,
a role change, a publish since), the request runs again with the check read first, so
the answer is exactly the one the first read would have given. On SQLite the check is
read first as before (the tests pass there too)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform import pgdirect
from jimu.runtime.api import credcache

from .conftest import SALES, Api

ITEMS = "/api/apps/shop/data/item"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Counts the pipelines sent (with their sizes) and the Stale verdicts."""
    out: dict[str, Any] = {"pipelines": [], "stale": 0}
    pipeline = pgdirect.pipeline

    def counted(raw: Any, parts: Any) -> Any:
        out["pipelines"].append([text.split()[0].decode() if text else "" for text, _params in parts])
        return pipeline(raw, parts)

    monkeypatch.setattr(pgdirect, "pipeline", counted)
    stale_init = credcache.Stale.__init__

    def counted_stale(self: Any, *args: Any) -> None:
        out["stale"] += 1
        stale_init(self, *args)

    monkeypatch.setattr(credcache.Stale, "__init__", counted_stale)
    yield out


def _deactivate(api: Api, user: str) -> None:
    with api.jimu.db.write() as c:  # by hand: as another process would
        c.execute(sa.text("UPDATE jimu_user SET active = :f WHERE username = :u"), {"f": False, "u": user})


def test_a_remembered_list_reads_its_check_with_the_page(api: Api, seen: dict[str, Any]) -> None:
    """Mutation: ``assume`` answering None (the check read alone first: no pipeline)."""
    token = api.token("sales")
    first = api.client.get(ITEMS, headers=_bearer(token))
    assert first.status_code == 200
    seen["pipelines"].clear()
    second = api.client.get(ITEMS, headers=_bearer(token))
    assert second.status_code == 200 and second.json() == first.json()
    if api.jimu.db.is_sqlite:
        assert seen["pipelines"] == []
    else:
        assert seen["pipelines"] == [["SELECT", "SELECT"]]  # the check and the page, one round trip
    assert seen["stale"] == 0


def test_a_remembered_create_reads_its_check_with_the_insert(api: Api, seen: dict[str, Any]) -> None:
    token = api.token("sales")
    assert api.client.post(ITEMS, json={"sku": "O-1", "name": "one"}, headers=_bearer(token)).status_code == 201
    seen["pipelines"].clear()
    made = api.client.post(ITEMS, json={"sku": "O-2", "name": "two"}, headers=_bearer(token))
    assert made.status_code == 201 and made.json()["owner"] == "sales"
    if not api.jimu.db.is_sqlite:
        assert seen["pipelines"][0] == ["BEGIN", "SELECT", "INSERT"]
    assert seen["stale"] == 0


def test_a_deactivated_token_is_refused_on_the_next_list_and_create(api: Api, seen: dict[str, Any]) -> None:
    """The check sent with the page (or the INSERT) finds the generation moved: the
    request runs again, reads the check first and answers 401; the INSERT of the first
    run is rolled back. Mutation: the verdict never raising (200 and 201, the row kept)."""
    token, other = api.token("sales"), api.token("sales2")
    for t in (token, other):
        assert api.client.get(ITEMS, headers=_bearer(t)).status_code == 200
        assert api.client.get(ITEMS, headers=_bearer(t)).status_code == 200
    _deactivate(api, "sales")
    assert api.client.post(ITEMS, json={"sku": "GONE", "name": "x"}, headers=_bearer(token)).status_code == 401
    with api.jimu.db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM app_shop__item WHERE sku = 'GONE'")).scalar_one() == 0
    _deactivate(api, "sales2")
    assert api.client.get(ITEMS, headers=_bearer(other)).status_code == 401
    if not api.jimu.db.is_sqlite:
        assert seen["stale"] == 2  # each first run found the generation moved, then ran again


def test_a_refusal_waits_for_the_check_too(api: Api, seen: dict[str, Any]) -> None:
    """A body refused before any statement runs (a JSON array: 422 on the remembered
    credentials) is not answered before the check: a deactivated token gets its 401.
    The same for a list refusing its parameters. Mutations: no ``credcache.settle`` in
    the create's ``finally``, or in the list's (the 422 leaves)."""
    token = api.token("sales")
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 200
    _deactivate(api, "sales")
    refused = api.client.post(ITEMS, json=[{"sku": "A-1"}], headers=_bearer(token))
    assert refused.status_code == 401, refused.text
    other = api.token("sales2")
    assert api.client.get(ITEMS, headers=_bearer(other)).status_code == 200
    _deactivate(api, "sales2")
    refused = api.client.get(ITEMS + "?fields=nope", headers=_bearer(other))  # 422 before the page's query
    assert refused.status_code == 401, refused.text


def test_a_role_change_shows_on_the_next_list(api: Api) -> None:
    """Moved to the warehouse role by hand (SQL), the very next list answers as the
    warehouse role does (every owner's rows, the cost hidden), not as the remembered
    sales role."""
    token = api.token("sales")
    rows = api.client.get(ITEMS, headers=_bearer(token)).json()["data"]
    assert {r["owner"] for r in rows} == {"sales"} and all("cost_price" in r for r in rows)
    with api.jimu.db.write() as c:
        c.execute(sa.text("UPDATE jimu_user SET roles = :r WHERE username = 'sales'"), {"r": '["warehouse"]'})
    rows = api.client.get(ITEMS, headers=_bearer(token)).json()["data"]
    assert {r["owner"] for r in rows} == {"sales", "sales2"} and all("cost_price" not in r for r in rows)


def test_a_check_that_fails_answers_nothing_it_guarded(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check sent with the page fails (a statement error: here a division by zero in
    its place): the page read after it on a retry is not answered, the request fails
    with a server error instead. Two guards stand in the way, each enough alone: the
    connection refuses to go on after a check sent and not verified (``pgdirect``), and
    ``credcache.settle`` insists that the request's assumption was verified. Mutation:
    both removed (the list's retry through SQLAlchemy answers 200); either alone: 500."""
    token = api.token("sales")
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 200
    if api.jimu.db.is_sqlite:
        return
    monkeypatch.setitem(credcache._NAMED, True, "SELECT 1 / (SELECT count(*) - count(*) FROM jimu_app WHERE name = %(app)s)")
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 500


def test_a_publish_by_another_worker_shows_on_the_next_list(api: Api, seen: dict[str, Any]) -> None:
    """Another worker (a second Jimu on the database) publishes a mask on the sales role:
    this worker serves the old version, assumes it, and its check finds the new one, so
    the very next list runs again on the new version and shows the mask. Mutation: the
    verdict ignoring the version (the list answers the names unmasked)."""
    from jimu.runtime.context import Jimu

    token = api.token("sales")
    before = api.client.get(ITEMS, headers=_bearer(token)).json()["data"]
    assert before and all(r["name"] != "***" for r in before)
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 200  # assumed from here on
    other = Jimu.open(api.jimu.db.url)
    try:
        role = copy.deepcopy(SALES)
        role["entities"]["item"]["fields"]["name"] = {"mask": '"***"'}
        other.store.put_element("shop", "role", "sales", role)
        assert other.store.publish("shop").published
    finally:
        other.close()
    after = api.client.get(ITEMS, headers=_bearer(token)).json()["data"]
    assert [r["id"] for r in after] == [r["id"] for r in before] and {r["name"] for r in after} == {"***"}
    if not api.jimu.db.is_sqlite:
        assert seen["stale"] == 1

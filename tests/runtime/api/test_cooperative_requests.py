"""Creates and lists served side by side (``jimu.platform.cooperative``): on PostgreSQL a
list waiting for its round trip, and a create waiting for its last one (its last statement
and ``COMMIT``: the transaction holds locks across the round trips before), let the event
loop serve the next request; many at once all answer what each alone would (every record
written once, with its audit row, listed by its owner only). On SQLite they run one after
the other, as before."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from jimu.platform import cooperative

from .conftest import Api

ITEMS = "/api/apps/shop/data/item"


@pytest.fixture
def waiting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The most requests waiting on the loop at once: any (``most``), and for the round
    trip that ends a write (``ending``)."""
    seen = {"now": 0, "most": 0, "now_ending": 0, "ending": 0}
    readable = cooperative.readable

    def counted(raw: Any, *, ending: bool = False) -> None:
        seen["now"] += 1
        seen["most"] = max(seen["most"], seen["now"])
        seen["now_ending"] += ending
        seen["ending"] = max(seen["ending"], seen["now_ending"])
        try:
            readable(raw, ending=ending)
        finally:
            seen["now"] -= 1
            seen["now_ending"] -= ending

    monkeypatch.setattr(cooperative, "readable", counted)
    return seen


def test_creates_and_lists_side_by_side(api: Api, waiting: dict[str, int]) -> None:
    """Mutations: the list route calling its synchronous part directly (no
    ``cooperative.run``: never more than one waiting); the same in the create route (no
    two creates' commits waiting at once)."""
    sales = {"Authorization": f"Bearer {api.token('sales')}"}
    warehouse = {"Authorization": f"Bearer {api.token('warehouse')}"}  # may not create
    before = api.get("sales", ITEMS + "?limit=200").json()["data"]

    async def load() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            creates = [client.post(ITEMS, json={"sku": f"CO-{i}", "name": f"side {i}"}, headers=sales)
                       for i in range(16)]
            lists = [client.get(ITEMS + "?limit=200", headers=sales) for _ in range(6)]
            denied = [client.post(ITEMS, json={"sku": "CO-X", "name": "no"}, headers=warehouse)]
            return list(await asyncio.gather(*creates, *lists, *denied))

    answers = asyncio.run(load())
    made, lists, denied = answers[:16], answers[16:22], answers[22]
    assert [r.status_code for r in made] == [201] * 16, [r.text for r in made if r.status_code != 201]
    assert all(r.status_code == 200 for r in lists)
    assert denied.status_code == 403
    ids = sorted(r.json()["id"] for r in made)
    assert len(set(ids)) == 16
    assert {r.json()["sku"] for r in made} == {f"CO-{i}" for i in range(16)}
    after = api.get("sales", ITEMS + "?limit=200").json()["data"]
    assert len(after) == len(before) + 16 and all(r["owner"] == "sales" for r in after)
    for rid in ids[:3]:
        trail = api.get("admin", f"/api/apps/shop/audit?entity=item&record={rid}")
        assert trail.status_code == 200, trail.text
        assert [e["action"] for e in trail.json()["data"]] == ["create"]
    if api.jimu.db.is_sqlite:
        assert waiting["most"] == 0
    else:
        assert waiting["most"] >= 2
        assert waiting["ending"] >= 2  # the creates' commits


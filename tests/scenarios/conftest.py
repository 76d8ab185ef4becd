"""Scenario fixtures: the standard template (no sample data) on each backend, a little master
data, the demo users, and a TestClient of the whole API with the test clock frozen at
2026-01-05 02:00 UTC, so every figure and date in a scenario can be computed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from jimu.core import clock as clock_mod

START = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
APP = "standard"


class Scenario:
    """The app, its TestClient, the ids of the master data and small HTTP helpers."""

    def __init__(self, jimu: Any, client: TestClient, ids: dict[str, Any]) -> None:
        self.jimu = jimu
        self.client = client
        self.ids = ids

    def as_(self, user: str) -> dict[str, str]:
        """Headers with a fresh token (moving the clock expires old ones)."""
        r = self.client.post("/api/auth/token", json={"username": user, "password": user})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def post(self, user: str, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(f"/api/apps/{APP}/{path}", json=body, headers=self.as_(user))

    def get(self, user: str, path: str, **params: Any) -> httpx.Response:
        return self.client.get(f"/api/apps/{APP}/{path}", params=params, headers=self.as_(user))

    def create(self, user: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(user, f"data/{entity}", body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def fire(self, user: str, entity: str, rid: Any, transition: str, inputs: dict[str, Any] | None = None
             ) -> httpx.Response:
        return self.post(user, f"data/{entity}/{rid}/transitions/{transition}", {"inputs": inputs or {}})

    def fire_ok(self, user: str, entity: str, rid: Any, transition: str, inputs: dict[str, Any] | None = None
                ) -> dict[str, Any]:
        r = self.fire(user, entity, rid, transition, inputs)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def record(self, user: str, entity: str, rid: Any) -> dict[str, Any]:
        r = self.get(user, f"data/{entity}/{rid}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def advance(self, duration: str) -> dict[str, Any]:
        r = self.client.post("/api/admin/clock", json={"advance": duration}, headers=self.as_("admin"))
        assert r.status_code == 200, r.text
        return dict(r.json())


def build(jimu: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Install the standard template (no sample data) with the demo users and master data."""
    from jimu.cli.basics import ensure_demo_users
    from jimu.templates_market.installer import install_template

    ensure_demo_users(jimu)
    install_template(jimu, APP, APP, params=params or {}, sample_data=False)
    rec = jimu.records
    wh = rec.create(APP, "warehouse", {"name": "上海主仓", "code": "WH-SH", "confirm_code": "1234"})
    customers = [rec.create(APP, "customer", {"code": c, "name": n})["id"]
                 for c, n in (("C-001", "华东超市"), ("C-002", "京北便利店"))]
    supplier = rec.create(APP, "supplier", {"name": "光明乳业"})["id"]
    items = [rec.create(APP, "item", {"sku": s, "name": n, "unit": "件", "cost_price": c, "sale_price": p})["id"]
             for s, n, c, p in (("SKU-A001", "有机牛奶 1L", "8.40", "12.80"), ("SKU-A002", "全麦面包", "5.10", "9.90"))]
    reason = jimu.apps.get(APP).spec.entity("stock_adjustment").field("reason")
    why = "opening" if reason is not None and "opening" in reason.choice_values else None
    for it in items:
        rec.create(APP, "stock_adjustment", {"item": it, "warehouse": wh["id"], "qty": "100", "reason": why})
    return {"warehouse": wh["id"], "customers": customers, "supplier": supplier, "items": items}


def _scenario(db_url: str, monkeypatch: pytest.MonkeyPatch, params: dict[str, Any] | None) -> Iterator[Scenario]:
    """The world of :func:`build`, built once per worker and copied per test (tests.dbcache)."""
    from jimu.runtime.api.app import create_app
    from tests.dbcache import open_built

    monkeypatch.setenv("JIMU_TEST_CLOCK", "1")
    previous = clock_mod.set_clock(clock_mod.ManualClock(frozen=START))
    try:
        jimu, ids = open_built(db_url, f"scenario:{sorted((params or {}).items())}", lambda j: build(j, params))
        try:
            with TestClient(create_app(jimu)) as client:
                yield Scenario(jimu, client, ids)
        finally:
            jimu.close()
    finally:
        clock_mod.set_clock(previous)


@pytest.fixture
def scenario(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    yield from _scenario(db_url, monkeypatch, None)


@pytest.fixture
def auto_scenario(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """The same with the invoice unit's ``auto_invoice`` on."""
    yield from _scenario(db_url, monkeypatch, {"auto_invoice": True})

"""A trading app installed with contract 1.0.0 lets a USD order skip the VP approval (its
condition ``amount > 5000`` read 1000.00 USD, 7100.00 CNY at 7.10); upgrading contract to
1.1.0 brings the orders' base amount, which the approval reads, so the next USD order of
the same size waits for the VP. Both databases, over HTTP.

Mutations tried, each seen to fail here: ``resolve_steps`` without ``in_base`` (the
condition back on the raw ``amount``: the new USD order is approved by the manager alone);
contract 1.1.0's ``base_amount`` of sales orders without ``base_of: amount`` (nothing tells
the approval which field holds the CNY amount)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.templates_market.lifecycle import installed, upgrade_cbu
from tests.templates_market.test_contract_base_amount_upgrade import APP, old_app  # noqa: F401


class _Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def _as(self, user: str) -> dict[str, str]:
        r = self.client.post("/api/auth/token", json={"username": user, "password": user})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def create(self, user: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post(f"/api/apps/{APP}/data/{entity}", json=body, headers=self._as(user))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def fire(self, user: str, rid: int, transition: str) -> None:
        r = self.client.post(f"/api/apps/{APP}/data/sales_order/{rid}/transitions/{transition}",
                             json={"inputs": {}}, headers=self._as(user))
        assert r.status_code == 200, r.text

    def state(self, rid: int) -> str:
        r = self.client.get(f"/api/apps/{APP}/data/sales_order/{rid}", headers=self._as("manager"))
        assert r.status_code == 200, r.text
        return str(r.json()["state"])


@pytest.fixture
def api(old_app: Any) -> Iterator[_Api]:  # noqa: F811
    from jimu.runtime.api.app import create_app

    with TestClient(create_app(old_app)) as client:
        yield _Api(client)


def test_upgrade_makes_usd_orders_wait_for_the_vp(old_app: Any, api: _Api) -> None:  # noqa: F811
    j = old_app
    assert {u.cbu: u.version for u in installed(j, APP)}["contract"] == "1.0.0"
    wh = api.create("admin", "warehouse", {"name": "上海港", "confirm_code": "1"})["id"]
    cust = api.create("admin", "customer", {"code": "C-1", "name": "Acme"})["id"]
    item = api.create("admin", "item", {"sku": "T-1", "name": "T恤", "unit": "件"})["id"]

    def submitted(currency: str, rate: str, price: str) -> int:
        so = api.create("sales", "sales_order", {"customer": cust, "warehouse": wh, "currency": currency,
                                                 "fx_rate": rate, "lines": [{"item": item, "qty": "1", "price": price}]})
        api.fire("sales", so["id"], "submit")
        api.fire("manager", so["id"], "approve")
        return int(so["id"])

    before = submitted("USD", "7.10", "1000.00")
    assert api.state(before) == "approved"  # 1.0.0: the manager alone let 7100.00 CNY through

    done = upgrade_cbu(j, APP, "contract")
    assert done.applied and (done.from_version, done.to_version) == ("1.0.0", "1.1.0"), done.as_dict()
    usd, cny = submitted("USD", "7.10", "1000.00"), submitted("CNY", "1", "4000.00")
    assert (api.state(usd), api.state(cny)) == ("pending_approval", "approved")
    api.fire("vp", usd, "approve")
    assert api.state(usd) == "approved"

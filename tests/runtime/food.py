"""The food template served by the Starlette TestClient, for batch tests over HTTP: demo
users (password = name, role = name), a client per user, and helpers that receive a batch,
sell from stock and read balances and movements. Approvals are off unless asked for, so an
order goes draft -> approved on submit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.templates_market.installer import install_template

APP = "food"
USERS = ("admin", "warehouse", "sales", "manager", "purchasing", "finance", "vp")


class Food:
    """A food app over HTTP; ``s`` holds the ids of the fixtures it created."""

    def __init__(self, client: TestClient, jimu: Jimu) -> None:
        self.client = client
        self.jimu = jimu
        self.tokens: dict[str, str] = {}
        self.s: dict[str, Any] = {}

    def h(self, user: str, lang: str | None = None) -> dict[str, str]:
        if user not in self.tokens:
            r = self.client.post("/api/auth/token", json={"username": user, "password": user})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["access_token"]
        out = {"Authorization": f"Bearer {self.tokens[user]}"}
        if lang:
            out["Accept-Language"] = lang
        return out

    def get(self, user: str, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/apps/{APP}{path}", params=params, headers=self.h(user))

    def post(self, user: str, path: str, body: Any = None, lang: str | None = None) -> Any:
        return self.client.post(f"/api/apps/{APP}{path}", json=body, headers=self.h(user, lang))

    def patch(self, user: str, path: str, body: Any) -> Any:
        current = self.get(user, path)
        assert current.status_code == 200, current.text
        return self.client.patch(f"/api/apps/{APP}{path}", json=body,
                                 headers={**self.h(user), "If-Match": current.headers["ETag"]})

    def create(self, user: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(user, f"/data/{entity}", body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def fire(self, user: str, entity: str, rid: Any, transition: str, inputs: dict[str, Any] | None = None,
             lang: str | None = None) -> Any:
        return self.post(user, f"/data/{entity}/{rid}/transitions/{transition}", {"inputs": inputs or {}}, lang)

    def setup(self, shelf_life: int | None = None) -> dict[str, Any]:
        """Warehouse A (code 1), B (code 2), a customer, a supplier and item MILK-1 牛奶."""
        s = self.s
        s["a"] = self.create("admin", "warehouse", {"name": "A", "confirm_code": "1"})["id"]
        s["b"] = self.create("admin", "warehouse", {"name": "B", "confirm_code": "2"})["id"]
        s["customer"] = self.create("admin", "customer", {"name": "Cust"})["id"]
        s["supplier"] = self.create("admin", "supplier", {"name": "Sup"})["id"]
        item = {"sku": "MILK-1", "name": "牛奶", "unit": "盒"}
        if shelf_life is not None:
            item["shelf_life_days"] = shelf_life
        s["item"] = self.create("admin", "item", item)["id"]
        return s

    def receive(self, batch_no: str, qty: str, expiry: str | None, production: str | None = None,
                warehouse: str = "a", item: int | None = None, inputs: dict[str, Any] | None = None,
                user: str = "warehouse", lang: str | None = None) -> Any:
        """A purchase order of one line received into ``warehouse``; returns the receive response."""
        line: dict[str, Any] = {"item": item or self.s["item"], "qty": qty, "price": "2.00", "batch_no": batch_no}
        if expiry:
            line["expiry_date"] = expiry
        if production:
            line["production_date"] = production
        po = self.create("purchasing", "purchase_order", {"supplier": self.s["supplier"],
                                                         "warehouse": self.s[warehouse], "lines": [line]})
        r = self.fire("purchasing", "purchase_order", po["id"], "submit")
        assert r.status_code == 200, r.text
        return self.fire(user, "purchase_order", po["id"], "receive", inputs, lang)

    def batch_id(self, batch_no: str) -> int:
        rows = self.get("admin", "/data/batch", filter=f'batch_no == "{batch_no}"').json()["data"]
        assert len(rows) == 1, rows
        return int(rows[0]["id"])

    def order(self, qty: str, batch: int | None = None, warehouse: str = "a") -> dict[str, Any]:
        line: dict[str, Any] = {"item": self.s["item"], "qty": qty, "price": "5.00"}
        if batch is not None:
            line["batch"] = batch
        return self.create("sales", "sales_order", {"customer": self.s["customer"], "warehouse": self.s[warehouse],
                                                    "lines": [line]})

    def ship(self, order: dict[str, Any], code: str = "1") -> Any:
        return self.fire("warehouse", "sales_order", order["id"], "ship",
                         {"warehouse_confirm_code": code, "logistics_no": "SF1"})

    def balances(self, warehouse: str = "a") -> dict[Any, dict[str, Decimal]]:
        """batch id -> buckets at ``warehouse`` for the item."""
        r = self.get("admin", "/ledgers/stock/balances", item=self.s["item"], warehouse=self.s[warehouse])
        assert r.status_code == 200, r.text
        return {row.get("batch"): {k: Decimal(v) for k, v in row.items()
                                   if k in ("on_hand", "reserved", "available", "quarantine", "in_transit")}
                for row in r.json()["data"]}


@contextmanager
def food_app(db_url: str, params: dict[str, Any] | None = None) -> Iterator[Food]:
    """The food app and its users on ``db_url``: a copy of a database built once per worker
    and ``params`` (tests.dbcache)."""
    from tests.dbcache import open_built

    def build(jimu: Jimu) -> None:
        install_template(jimu, APP, "food", {"approvals": False, **(params or {})}, sample_data=False)
        for user in USERS:
            jimu.users.create(user, user, [user])

    jimu, _ = open_built(db_url, f"food_app:{sorted((params or {}).items())!r}", build)
    try:
        with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
            yield Food(client, jimu)
    finally:
        jimu.close()

"""Small helpers for contract tests: fresh items with stock, sales orders, balances."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from tests.contract.conftest import Server, first

APP = "standard"


def new_item(srv: Server, cost: str = "1234.56", price: str = "10.00") -> dict[str, Any]:
    with srv.client("admin") as c:
        r = c.post(f"/api/apps/{APP}/data/item", json={"sku": "T-" + uuid.uuid4().hex[:10], "name": "合同测试商品",
                                                        "unit": "个", "cost_price": cost, "sale_price": price})
        assert r.status_code == 201, r.text
        return dict(r.json())


def add_stock(srv: Server, item: int, warehouse: int, qty: str, app: str = APP, **extra: Any) -> dict[str, Any]:
    with srv.client("warehouse") as c:
        r = c.post(f"/api/apps/{app}/data/stock_adjustment",
                   json={"item": item, "warehouse": warehouse, "qty": qty, "reason": "opening", **extra})
        assert r.status_code == 201, r.text
        return dict(r.json())


def balance(srv: Server, item: int, warehouse: int, app: str = APP) -> dict[str, Decimal]:
    with srv.client("admin") as c:
        r = c.get(f"/api/apps/{app}/ledgers/stock/balances", params={"item": item, "warehouse": warehouse})
        assert r.status_code == 200, r.text
        rows = r.json()["data"]
    out = {"on_hand": Decimal(0), "reserved": Decimal(0), "in_transit": Decimal(0), "available": Decimal(0)}
    for row in rows:
        for k in out:
            out[k] += Decimal(row[k])
    return out


def new_order(srv: Server, lines: list[tuple[int, str, str]], warehouse: dict[str, Any] | None = None,
              user: str = "sales", **extra: Any) -> dict[str, Any]:
    with srv.client("admin") as admin:
        wh = warehouse or first(admin, "warehouse")
        customer = first(admin, "customer")
    with srv.client(user) as c:
        r = c.post(f"/api/apps/{APP}/data/sales_order", json={
            "customer": customer["id"], "warehouse": wh["id"], **extra,
            "lines": [{"item": i, "qty": q, "price": p} for i, q, p in lines]})
        assert r.status_code == 201, r.text
        return dict(r.json())


def fire(srv: Server, user: str, record: dict[str, Any], transition: str, inputs: dict[str, Any] | None = None,
         entity: str = "sales_order", app: str = APP) -> httpx.Response:
    with srv.client(user) as c:
        return c.post(f"/api/apps/{app}/data/{entity}/{record['id']}/transitions/{transition}",
                      json={"inputs": inputs or {}, "comment": "contract test"})


def get(srv: Server, user: str, entity: str, rid: Any, app: str = APP) -> dict[str, Any]:
    with srv.client(user) as c:
        r = c.get(f"/api/apps/{app}/data/{entity}/{rid}")
        assert r.status_code == 200, r.text
        return dict(r.json())


def start_stocktake(srv: Server, warehouse: int, item: int, user: str = "warehouse") -> dict[str, Any]:
    """A stocktake of ``warehouse`` with one line for ``item``, created and started by ``user``
    (its system_qty frozen); returns the record as created."""
    with srv.client(user) as c:
        r = c.post(f"/api/apps/{APP}/data/stocktake", json={"warehouse": warehouse, "stocktake_line": [
            {"item": item, "warehouse": warehouse}]})
        assert r.status_code == 201, r.text
        st = r.json()
    assert fire(srv, user, st, "start", entity="stocktake").status_code == 200
    return st

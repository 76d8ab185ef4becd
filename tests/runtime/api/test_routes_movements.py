"""``GET .../ledgers/stock/movements`` on the food template, over HTTP on both databases:
the movement rows of two receipts and a FEFO order, filters, paging and the access gate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from jimu.core import clock
from jimu.runtime.api.routes_movements import direction
from tests.runtime.food import Food, food_app

URL = "/ledgers/stock/movements"


@pytest.fixture
def food(db_url: str) -> Iterator[Food]:
    with food_app(db_url) as f:
        f.setup()
        yield f


def _flow(food: Food) -> dict[str, Any]:
    """Receive B1 10 (expires in 100 days) and B2 5 (in 50 days), sell 7 FEFO and ship."""
    today = clock.today()
    assert food.receive("B1", "10", (today + timedelta(days=100)).isoformat()).status_code == 200
    assert food.receive("B2", "5", (today + timedelta(days=50)).isoformat()).status_code == 200
    so = food.order("7")
    assert food.fire("sales", "sales_order", so["id"], "submit").status_code == 200
    r = food.ship(so)
    assert r.status_code == 200, r.text
    return {"so": r.json(), "b1": food.batch_id("B1"), "b2": food.batch_id("B2")}


def _rows(food: Food, user: str = "admin", **params: Any) -> list[dict[str, Any]]:
    r = food.get(user, URL, **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"data", "next_cursor"}
    return list(body["data"])


def _brief(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["kind"], r["batch"], Decimal(r["qty"]), r["from_bucket"], r["to_bucket"], r["document"]["entity"])
            for r in rows]


def test_movements_of_receipts_and_a_fefo_sale(food: Food) -> None:
    """Hand-computed: receipts 10 (B1) and 5 (B2); the order of 7 takes B2's 5 (earlier
    expiry) then 2 of B1, reserved at submit and shipped. Each purchase order first puts
    its line on order (DESIGN 16: approval, here submit without approvals, posts
    ``on_order``; no batch yet) and its receipt drains it (on_order -> on_hand: two rows,
    as the batch is only known at the receipt). Mutation caught: a movement list
    without the reservation rows or with signed/unsigned qty mixed up (from/to swapped)."""
    f = _flow(food)
    b1, b2 = f["b1"], f["b2"]
    rows = _rows(food, item=food.s["item"])
    assert _brief(rows) == [
        ("on_order", None, Decimal(10), None, "on_order", "purchase_order"),
        ("receipt", None, Decimal(10), "on_order", None, "purchase_order"),
        ("receipt", b1, Decimal(10), None, "on_hand", "purchase_order"),
        ("on_order", None, Decimal(5), None, "on_order", "purchase_order"),
        ("receipt", None, Decimal(5), "on_order", None, "purchase_order"),
        ("receipt", b2, Decimal(5), None, "on_hand", "purchase_order"),
        ("reserve", b2, Decimal(5), "available", "reserved", "sales_order"),
        ("reserve", b1, Decimal(2), "available", "reserved", "sales_order"),
        ("ship", b2, Decimal(5), "on_hand", None, "sales_order"),
        ("ship", b1, Decimal(2), "on_hand", None, "sales_order"),
    ]
    so = f["so"]
    for r in rows[6:]:
        assert r["document"]["id"] == so["id"] and r["document"]["number"] == so["number"]
        assert r["document"]["line"] == so["lines"][0]["id"]
        assert r["item"] == food.s["item"] and r["warehouse"] == food.s["a"]
        assert r["user"] in ("sales", "warehouse")
    assert [r["user"] for r in rows] == ["purchasing", "warehouse", "warehouse"] * 2 + [
        "sales", "sales", "warehouse", "warehouse"]
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids)
    # batch filter: B1 only; entity + record: the order's four moves
    assert _brief(_rows(food, batch=b1)) == [
        ("receipt", b1, Decimal(10), None, "on_hand", "purchase_order"),
        ("reserve", b1, Decimal(2), "available", "reserved", "sales_order"),
        ("ship", b1, Decimal(2), "on_hand", None, "sales_order")]
    assert [r["kind"] for r in _rows(food, entity="sales_order", record=so["id"])] == ["reserve"] * 2 + ["ship"] * 2
    assert _rows(food, warehouse=food.s["b"]) == []


def test_paging_walks_every_movement_once(food: Food) -> None:
    """Mutation caught: a cursor that restarts (or skips one row) at a page boundary."""
    _flow(food)
    whole = [r["id"] for r in _rows(food)]
    assert len(whole) == 10  # 2 x (on order, drained, received) + 2 reserves + 2 ships
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        body = food.get("admin", URL, **params).json()
        seen += [r["id"] for r in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == whole and pages == 3


def test_a_caller_sees_only_documents_they_may_read(food: Food) -> None:
    """sales reads item and sales orders but not purchase orders: the receipts are left
    out. Mutation caught: listing every movement of a readable ledger."""
    f = _flow(food)
    rows = _rows(food, "sales", item=food.s["item"])
    assert [(r["kind"], r["document"]["entity"]) for r in rows] == [("reserve", "sales_order")] * 2 + [
        ("ship", "sales_order")] * 2
    r = food.get("sales", URL, entity="purchase_order")
    assert r.status_code == 404, r.text  # no right on the entity at all
    assert _rows(food, "warehouse", entity="sales_order", record=f["so"]["id"])  # warehouse reads orders


def test_bad_queries_are_problems(food: Food) -> None:
    assert food.get("admin", "/ledgers/nope/movements").status_code == 404
    for params in ({"colour": "red"}, {"item": "x"}, {"record": "1"}, {"cursor": "garbage"}, {"limit": "0"}):
        r = food.get("admin", URL, **params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert food.get("admin", URL, entity="sales_order", record="999999").status_code == 404


def test_openapi_lists_the_movements_route(food: Food) -> None:
    doc = food.get("admin", "/openapi.json").json()
    op = doc["paths"]["/api/apps/food/ledgers/stock/movements"]["get"]
    assert op["operationId"] == "list_stock_movements"
    assert {"item", "warehouse", "batch", "entity", "record", "limit", "cursor"} <= {p["name"] for p in op["parameters"]}


def test_direction_of_each_kind() -> None:
    assert direction("receipt", {"on_hand": 5}) == (5, None, "on_hand")
    assert direction("ship", {"on_hand": -3, "reserved": -3}) == (3, "on_hand", None)
    assert direction("transfer_out", {"on_hand": -2, "in_transit": 2}) == (2, "on_hand", "in_transit")
    assert direction("quarantine", {"on_hand": -4, "quarantine": 4}) == (4, "on_hand", "quarantine")
    assert direction("unquarantine", {"on_hand": 4, "quarantine": -4}) == (4, "quarantine", "on_hand")
    assert direction("release", {"reserved": -1}) == (1, "reserved", "available")
    assert direction("adjust", {"on_hand": -6}) == (6, "on_hand", None)
    assert direction("scrap", {"quarantine": -6}) == (6, "quarantine", None)
    assert direction("receipt", {"on_hand": 4, "on_order": -4}) == (4, "on_order", "on_hand")  # order_receipt

"""batch.quality_status drives the stock (food template, HTTP, both databases): a change
moves the batch's available stock between on_hand and quarantine (audited, reversible),
FEFO never takes a quarantined batch, and a stock adjustment on the quarantine bucket
writes quarantined stock off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from jimu.core import clock
from tests.runtime.food import Food, food_app


@pytest.fixture
def food(db_url: str) -> Iterator[Food]:
    with food_app(db_url) as f:
        f.setup()
        yield f


def _day(n: int) -> str:
    return (clock.today() + timedelta(days=n)).isoformat()


def _set(food: Food, batch: int, status: str, user: str = "manager") -> None:
    r = food.patch(user, f"/data/batch/{batch}", {"quality_status": status})
    assert r.status_code == 200, r.text


def _b(food: Food, batch: int) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    row = food.balances()[batch]
    return row["on_hand"], row["reserved"], row["quarantine"], row["available"]


def test_quarantine_moves_stock_and_release_moves_it_back(food: Food) -> None:
    """B1 10 (day 100), B2 5 (day 50); an order of 2 holds B2. Quarantining B2 releases
    that hold and moves all 5 on_hand -> quarantine (B2: on_hand 0, reserved 0,
    quarantine 5); the order's line no longer lists B2 and its shipment takes B1 (10-2 = 8);
    a new order of 4 takes B1 too (8, reserved 4); release moves B2's 5 back. Mutation
    caught: a status change that does not post (the issue: 'changes nothing in the
    balances'), quarantined goods still shipped on an old hold, FEFO still reserving B2."""
    assert food.receive("B1", "10", _day(100)).status_code == 200
    assert food.receive("B2", "5", _day(50)).status_code == 200
    b1, b2 = food.batch_id("B1"), food.batch_id("B2")
    first = food.order("2")
    line = food.fire("sales", "sales_order", first["id"], "submit").json()["lines"][0]
    assert [(a["batch"], Decimal(a["qty"])) for a in line["allocations"]] == [(b2, 2)]
    assert _b(food, b2) == (5, 2, 0, 3)
    _set(food, b2, "quarantine")
    assert _b(food, b2) == (0, 0, 5, 0)
    line = food.get("sales", f"/data/sales_order/{first['id']}").json()["lines"][0]
    assert line["allocations"] == []
    shipped = food.ship(first)
    assert shipped.status_code == 200, shipped.text
    line = shipped.json()["lines"][0]
    assert [(a["batch"], Decimal(a["qty"])) for a in line["allocations"]] == [(b1, 2)] and line["batch"] == b1
    assert _b(food, b1) == (8, 0, 0, 8)
    second = food.order("4")
    line = food.fire("sales", "sales_order", second["id"], "submit").json()["lines"][0]
    assert [(a["batch"], Decimal(a["qty"])) for a in line["allocations"]] == [(b1, 4)]
    assert _b(food, b1) == (8, 4, 0, 4)
    moves = food.get("admin", "/ledgers/stock/movements", batch=b2).json()["data"]
    q = [m for m in moves if m["kind"] == "quarantine"]
    assert [(Decimal(m["qty"]), m["from_bucket"], m["to_bucket"], m["document"]["entity"], m["document"]["id"],
             m["user"]) for m in q] == [(5, "on_hand", "quarantine", "batch", b2, "manager")]
    audit = food.get("admin", "/audit", entity="batch", record=b2).json()["data"]
    assert any({"field": "quality_status", "old": "released", "new": "quarantine"} in a["changes"] for a in audit)
    _set(food, b2, "released")
    assert _b(food, b2) == (5, 0, 0, 5)
    assert food.get("admin", "/ledgers/stock/movements", batch=b2).json()["data"][-1]["kind"] == "unquarantine"


def test_rejected_stays_blocked_and_is_written_off(food: Food) -> None:
    """quarantine -> rejected moves nothing; the write-off adjustment of -3 on the
    quarantine bucket leaves on_hand 0 and quarantine 0; writing off more than is
    quarantined is 409. Mutation caught: write-off posted against on_hand (the issue's
    '409 available 0'), rejected releasing the stock."""
    assert food.receive("B1", "3", _day(100)).status_code == 200
    b1 = food.batch_id("B1")
    _set(food, b1, "quarantine")
    _set(food, b1, "rejected")
    assert _b(food, b1) == (0, 0, 3, 0)
    too_much = food.post("warehouse", "/data/stock_adjustment", {
        "item": food.s["item"], "warehouse": food.s["a"], "batch": b1, "qty": "-4", "bucket": "quarantine",
        "reason": "damage"})
    assert too_much.status_code == 409, too_much.text
    r = food.post("warehouse", "/data/stock_adjustment", {
        "item": food.s["item"], "warehouse": food.s["a"], "batch": b1, "qty": "-3", "bucket": "quarantine",
        "reason": "damage"})
    assert r.status_code == 201, r.text
    assert _b(food, b1) == (0, 0, 0, 0)
    last = food.get("admin", "/ledgers/stock/movements", batch=b1).json()["data"][-1]
    assert (last["kind"], Decimal(last["qty"]), last["from_bucket"], last["to_bucket"]) == (
        "scrap", 3, "quarantine", None)
    assert last["document"]["entity"] == "stock_adjustment" and last["document"]["number"] == r.json()["number"]
    # an ordinary adjustment still moves on_hand
    ok = food.post("warehouse", "/data/stock_adjustment", {
        "item": food.s["item"], "warehouse": food.s["a"], "batch": b1, "qty": "2", "reason": "correction"})
    assert ok.status_code == 201, ok.text
    assert _b(food, b1) == (2, 0, 0, 2)


def test_quality_choices(food: Food) -> None:
    spec: Any = food.get("admin", "/meta/entities/batch").json()
    field = next(f for f in spec["fields"] if f["name"] == "quality_status")
    assert [c["value"] for c in field["options"]["choices"]] == ["released", "quarantine", "rejected"]
    created = food.create("warehouse", "batch", {"item": food.s["item"], "batch_no": "N"})
    assert created["quality_status"] == "released"


def test_fefo_never_reserves_a_quarantined_batch(food: Food) -> None:
    """B2 quarantined (its 5 moved), then 3 more booked into B2 by an adjustment: B2 has 3
    available on paper, yet the next order of 4 takes B1. Mutation caught: FEFO judging
    batches by available stock alone."""
    assert food.receive("B1", "10", _day(100)).status_code == 200
    assert food.receive("B2", "5", _day(50)).status_code == 200
    b1, b2 = food.batch_id("B1"), food.batch_id("B2")
    _set(food, b2, "quarantine")
    food.create("warehouse", "stock_adjustment", {"item": food.s["item"], "warehouse": food.s["a"], "qty": "3",
                                                  "batch": b2, "reason": "correction"})
    assert _b(food, b2) == (3, 0, 5, 3)
    line = food.fire("sales", "sales_order", food.order("4")["id"], "submit").json()["lines"][0]
    assert [(a["batch"], Decimal(a["qty"])) for a in line["allocations"]] == [(b1, 4)]

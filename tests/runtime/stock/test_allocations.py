"""Batch allocations on the food template over HTTP, both databases: FEFO recorded on
the line (``allocations``, ``batch`` when single), a typed batch pins the allocation or is
refused (quarantined, expired, short) naming sku, name and batch in zh and en."""

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


def _alloc(line: dict[str, Any]) -> list[tuple[int, Decimal]]:
    return [(a["batch"], Decimal(a["qty"])) for a in line["allocations"] or []]


def _stock(food: Food) -> dict[str, int]:
    assert food.receive("B1", "10", _day(100)).status_code == 200
    assert food.receive("B2", "5", _day(50)).status_code == 200
    return {"b1": food.batch_id("B1"), "b2": food.batch_id("B2")}


def test_fefo_split_is_recorded_on_the_line(food: Food) -> None:
    """7 from B1 (10, day 100) and B2 (5, day 50): B2 5 then B1 2, kept through shipping;
    the next order of 3 takes B1 only, so its line's batch is B1. Balances: B1 10-2-3 = 5,
    B2 0. Mutation caught: allocations not written (or written from the order, not the
    movements), batch set for a split line."""
    b = _stock(food)
    so = food.order("7")
    r = food.fire("sales", "sales_order", so["id"], "submit")
    assert r.status_code == 200, r.text
    line = r.json()["lines"][0]
    assert _alloc(line) == [(b["b2"], Decimal(5)), (b["b1"], Decimal(2))] and line["batch"] is None
    r = food.ship(so)
    assert r.status_code == 200, r.text
    line = r.json()["lines"][0]
    assert _alloc(line) == [(b["b2"], Decimal(5)), (b["b1"], Decimal(2))] and line["batch"] is None
    so2 = food.order("3")
    assert food.fire("sales", "sales_order", so2["id"], "submit").status_code == 200
    line = food.ship(so2).json()["lines"][0]
    assert _alloc(line) == [(b["b1"], Decimal(3))] and line["batch"] == b["b1"]
    bal = food.balances()
    assert bal[b["b1"]]["on_hand"] == Decimal(5) and bal[b["b2"]]["on_hand"] == Decimal(0)
    # a cancelled order gives its allocation back
    so3 = food.order("4")
    line = food.fire("sales", "sales_order", so3["id"], "submit").json()["lines"][0]
    assert _alloc(line) == [(b["b1"], Decimal(4))]
    line = food.fire("sales", "sales_order", so3["id"], "cancel").json()["lines"][0]
    assert _alloc(line) == [] and food.balances()[b["b1"]]["reserved"] == Decimal(0)


def test_a_typed_batch_pins_the_allocation(food: Food) -> None:
    """B1 typed although B2 expires first: B1 gives the 4. Balances B1 10-4 = 6, B2 5.
    Mutation caught: FEFO ignoring the typed batch (the issue's 'paperwork says B1, stock
    came from B2')."""
    b = _stock(food)
    so = food.order("4", batch=b["b1"])
    r = food.fire("sales", "sales_order", so["id"], "submit")
    assert r.status_code == 200, r.text
    assert _alloc(r.json()["lines"][0]) == [(b["b1"], Decimal(4))]
    line = food.ship(so).json()["lines"][0]
    assert _alloc(line) == [(b["b1"], Decimal(4))] and line["batch"] == b["b1"]
    bal = food.balances()
    assert (bal[b["b1"]]["on_hand"], bal[b["b2"]]["on_hand"]) == (Decimal(6), Decimal(5))


def _refused(food: Food, so: dict[str, Any], code: str, lang: str) -> str:
    r = food.fire("sales", "sales_order", so["id"], "submit", lang=lang)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    assert body["errors"][0]["field"] == "batch"
    return str(body["detail"])


def test_a_pinned_batch_that_is_short_expired_or_quarantined_is_refused(food: Food) -> None:
    """Mutation caught: a pin check that lets any of the three through (each leaves the
    order approved and stock reserved), or messages without the sku name and batch number."""
    b = _stock(food)
    short = food.order("6", batch=b["b2"])
    zh = _refused(food, short, "batch.short", "zh-CN")
    en = _refused(food, short, "batch.short", "en")
    assert "MILK-1 牛奶" in zh and "B2" in zh and "可用 5.0000" in zh and "需要 6.0000" in zh
    assert "MILK-1 牛奶" in en and "B2" in en and "5.0000 available, 6.0000 requested" in en
    # an expired batch with stock (booked by an adjustment): refused when typed
    old = food.create("warehouse", "batch", {"item": food.s["item"], "batch_no": "OLD", "expiry_date": _day(-1)})
    food.create("warehouse", "stock_adjustment", {"item": food.s["item"], "warehouse": food.s["a"], "qty": "3",
                                                  "batch": old["id"], "reason": "opening"})
    expired = food.order("1", batch=old["id"])
    assert "OLD" in _refused(food, expired, "batch.expired", "en")
    r = food.patch("warehouse", f"/data/batch/{b['b1']}", {"quality_status": "quarantine"})
    assert r.status_code == 200, r.text
    held = food.order("1", batch=b["b1"])
    msg = _refused(food, held, "batch.quarantined", "zh")
    assert "MILK-1 牛奶" in msg and "B1" in msg and "隔离" in msg
    for so in (short, expired, held):
        assert food.get("sales", f"/data/sales_order/{so['id']}").json()["state"] == "draft"
    assert all(v["reserved"] == 0 for v in food.balances().values())


def test_allocations_are_read_only(food: Food) -> None:
    """Mutation caught: a client writing its own allocations (the read_only option ignored)."""
    b = _stock(food)
    so = food.order("1")
    line = dict(so["lines"][0])
    line["allocations"] = [{"batch": b["b1"], "qty": "1"}]
    r = food.patch("sales", f"/data/sales_order/{so['id']}", {"lines": [line]})
    assert r.status_code == 403, r.text
    assert "allocations" in r.text


def test_transfer_lines_record_the_batches_that_left(food: Food) -> None:
    """A transfer of 7 without a batch and 1 of B1 typed: the first line leaves as B2 5 +
    B1 2 (FEFO), the second as B1 1; after a full receipt the lines still say so and B
    holds B2 5, B1 3. Mutation caught: transfer lines without allocations (only sales
    lines recorded)."""
    b = _stock(food)
    tr = food.create("warehouse", "stock_transfer", {"from_warehouse": food.s["a"], "to_warehouse": food.s["b"],
                                                     "lines": [{"item": food.s["item"], "qty": "7"},
                                                               {"item": food.s["item"], "qty": "1", "batch": b["b1"]}]})
    r = food.fire("warehouse", "stock_transfer", tr["id"], "ship")
    assert r.status_code == 200, r.text
    lines = r.json()["lines"]
    assert [_alloc(ln) for ln in lines] == [[(b["b2"], Decimal(5)), (b["b1"], Decimal(2))], [(b["b1"], Decimal(1))]]
    r = food.fire("warehouse", "stock_transfer", tr["id"], "receive")
    assert r.status_code == 200, r.text
    assert [_alloc(ln) for ln in r.json()["lines"]] == [[(b["b2"], Decimal(5)), (b["b1"], Decimal(2))],
                                                       [(b["b1"], Decimal(1))]]
    at_b = food.balances("b")
    assert (at_b[b["b2"]]["on_hand"], at_b[b["b1"]]["on_hand"]) == (Decimal(5), Decimal(3))


def test_a_transfer_line_pinned_to_an_expired_batch_is_refused(food: Food) -> None:
    """OLD (expired yesterday, 3 booked by an adjustment) typed on a transfer line: 409
    batch.expired naming the batch, nothing moved (A keeps OLD 3, B nothing). Mutation
    caught: typed batches on transfers bypassing the pin checks."""
    old = food.create("warehouse", "batch", {"item": food.s["item"], "batch_no": "OLD", "expiry_date": _day(-1)})
    food.create("warehouse", "stock_adjustment", {"item": food.s["item"], "warehouse": food.s["a"], "qty": "3",
                                                  "batch": old["id"], "reason": "opening"})
    tr = food.create("warehouse", "stock_transfer", {"from_warehouse": food.s["a"], "to_warehouse": food.s["b"],
                                                     "lines": [{"item": food.s["item"], "qty": "2", "batch": old["id"]}]})
    r = food.fire("warehouse", "stock_transfer", tr["id"], "ship", lang="en")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "batch.expired" and "OLD" in r.json()["detail"]
    assert food.balances()[old["id"]]["on_hand"] == Decimal(3) and food.balances("b") == {}

"""Expiry on the way in (food template, HTTP, both databases): an expired batch is not
received (422 batch.expired) unless a manager passes the override; a blank expiry date is
the production date plus the item's shelf life, for purchased and produced batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from jimu.core import clock
from tests.runtime.food import Food, food_app


@pytest.fixture
def food(db_url: str) -> Iterator[Food]:
    with food_app(db_url) as f:
        f.setup(shelf_life=30)
        f.jimu.users.create("wm", "wm", ["warehouse", "manager"])
        yield f


def _day(n: int) -> str:
    return (clock.today() + timedelta(days=n)).isoformat()


def _batches(food: Food) -> list[dict[str, object]]:
    return list(food.get("admin", "/data/batch").json()["data"])


def test_an_expired_batch_is_refused_unless_a_manager_overrides(food: Food) -> None:
    """Mutation caught: receiving an expired batch without a word (the issue), or an
    override honoured for a plain warehouse user."""
    r = food.receive("OLD", "6", _day(-1), lang="en")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "batch.expired" and body["errors"][0]["field"] == "expiry_date"
    assert "MILK-1 牛奶" in body["detail"] and "OLD" in body["detail"] and _day(-1) in body["detail"]
    assert "MILK-1 牛奶" in body["messages"]["zh"] and "过期" in body["messages"]["zh"]
    # nothing received: no batch record, nothing on hand (the order's on_order row has no batch)
    assert _batches(food) == [] and all(v["on_hand"] == 0 for v in food.balances().values())
    refused = food.receive("OLD", "6", _day(-1), inputs={"expired_override": "supplier credit note 12"})
    assert refused.status_code == 422 and refused.json()["code"] == "batch.expired"
    ok = food.receive("OLD", "6", _day(-1), inputs={"expired_override": "supplier credit note 12"}, user="wm")
    assert ok.status_code == 200, ok.text
    assert ok.json()["expired_override"] == "supplier credit note 12" and ok.json()["state"] == "received"
    assert food.balances()[food.batch_id("OLD")]["on_hand"] == Decimal(6)
    # an existing batch that has expired is refused the same way
    again = food.receive("OLD", "1", None)
    assert again.status_code == 422 and again.json()["code"] == "batch.expired"


def test_expiry_defaults_to_production_plus_shelf_life(food: Food) -> None:
    """Shelf life 30 days: produced 10 days ago -> expires in 20 days; produced 40 days ago
    -> expired 10 days ago, refused. Mutation caught: shelf_life_days never used (the
    issue), or counted from today instead of the production date."""
    assert food.receive("P1", "4", None, production=_day(-10)).status_code == 200
    batch = food.get("admin", f"/data/batch/{food.batch_id('P1')}").json()
    assert batch["expiry_date"] == _day(20) and batch["production_date"] == _day(-10)
    r = food.receive("P2", "4", None, production=_day(-40))
    assert r.status_code == 422 and r.json()["code"] == "batch.expired"
    assert _day(-10) in r.json()["messages"]["en"]
    # a typed expiry wins over the shelf life
    assert food.receive("P3", "1", _day(5), production=_day(-10)).status_code == 200
    assert food.get("admin", f"/data/batch/{food.batch_id('P3')}").json()["expiry_date"] == _day(5)


def test_a_produced_batch_gets_its_expiry_from_the_shelf_life(food: Food) -> None:
    """A work order for product SOUP (shelf life 7) made today from 2 of MILK-1: the new
    batch (the work order's number) expires in 7 days; the component line records the
    milk batch it took. Mutation caught: produced batches without expiry (the issue's
    kitchen batches)."""
    assert food.receive("M1", "5", _day(60)).status_code == 200
    soup = food.create("admin", "item", {"sku": "SOUP-1", "name": "汤", "unit": "份", "shelf_life_days": 7})
    wo = food.create("manager", "work_order", {"product": soup["id"], "qty": "3", "warehouse": food.s["a"],
                                               "components": [{"item": food.s["item"], "qty": "2"}]})
    assert food.fire("manager", "work_order", wo["id"], "release").status_code == 200
    started = food.fire("warehouse", "work_order", wo["id"], "start")
    assert started.status_code == 200, started.text
    comp = started.json()["components"][0]
    assert [(a["batch"], Decimal(a["qty"])) for a in comp["allocations"]] == [(food.batch_id("M1"), 2)]
    done = food.fire("warehouse", "work_order", wo["id"], "complete")
    assert done.status_code == 200, done.text
    made = food.get("admin", "/data/batch", filter=f"item == {soup['id']}").json()["data"]
    assert [(b["batch_no"], b["expiry_date"]) for b in made] == [(wo["number"], _day(7))]

"""The overview's "below safety stock" table in a batch-tracked app: the batches of an
item at a warehouse are summed before the comparison (``per: [item, warehouse]``), so a
used-up batch beside a full one is not listed, and an item short in total is listed once."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from jimu.runtime.screens.dash_spec import spec_dashboard
from tests.runtime.food import APP, Food, food_app


@pytest.fixture
def food(db_url: str) -> Iterator[Food]:
    with food_app(db_url) as f:
        f.setup(shelf_life=30)
        yield f


def _below(food: Food) -> dict[str, object]:
    policy = AccessPolicy.for_actor(food.jimu, APP, Actor("admin", ("admin",)))
    dash = next(d for d in policy.rt.spec.dashboards if d.name == "overview")
    charts = {c["label"]: c for c in spec_dashboard(policy, dash, "en")}
    return charts["Below safety stock"]


def test_batches_are_summed_before_the_safety_stock_comparison(food: Food) -> None:
    """Mutation: dropping ``per`` from the chart (or ignoring it in ``_ledger_table``) lists
    the used-up batch L1 at 0 although the item has 12 on hand against a safety stock of 10."""
    s = food.s
    r = food.patch("admin", f"/data/item/{s['item']}", {"safety_stock": "10"})
    assert r.status_code == 200, r.text
    assert food.receive("L1", "5", "2099-01-01").status_code == 200
    assert food.receive("L2", "12", "2099-02-01").status_code == 200
    order = food.order("5", batch=food.batch_id("L1"))
    assert food.fire("sales", "sales_order", order["id"], "submit").status_code == 200
    assert food.ship(order).status_code == 200
    by_batch = food.balances()
    assert sorted(b["on_hand"] for b in by_batch.values() if b["on_hand"]) == [Decimal(12)], by_batch
    table = _below(food)
    assert table["columns"][:2] == ["Item", "Warehouse"] and table["num_from"] == 2
    assert table["rows"] == [], table["rows"]

    # now short in total (12 - 4 = 8 < 10): one row for the item, with the summed figures
    order = food.order("4")
    assert food.fire("sales", "sales_order", order["id"], "submit").status_code == 200
    assert food.ship(order).status_code == 200
    table = _below(food)
    assert [row[:2] for row in table["rows"]] == [["牛奶", "A"]]
    assert [Decimal(v) for v in table["rows"][0][2:]] == [Decimal(8), Decimal(0), Decimal(8)]

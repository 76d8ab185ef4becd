"""The near-expiry digest (food template, HTTP with the test clock, both databases): one
inbox entry per user of warehouse/sales per day naming sku, name, batch, warehouse,
expiry and quantity; never one entry per batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from jimu.core import clock
from jimu.runtime.stock.digest import send_digest
from tests.runtime.food import Food, food_app


@pytest.fixture
def food(db_url: str, manual_clock: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Food]:
    monkeypatch.setenv("JIMU_TEST_CLOCK", "1")
    with food_app(db_url) as f:
        f.setup()
        yield f


def _digests(food: Food, user: str) -> list[dict[str, Any]]:
    r = food.get(user, "/inbox")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["data"] if e.get("lines") is not None]


def test_one_digest_per_user_per_day_naming_every_batch(food: Food) -> None:
    """Stock: milk B1 10 at A (expires in 10 days, milk warns 30 days ahead), B2 4 at A
    (in 100 days: not near), B5 3 at A (in 6 days but quarantined, 1 booked into it afterwards); bread (warns 3 days
    ahead) B3 7 at B (in 8 days: not near) and B4 2 at B (in 2 days). After a day: warehouse
    and sales each get ONE entry listing bread B4 @ B then milk B1 @ A; a second run that
    day adds nothing; the next day one more. Mutation caught: one entry per batch (the
    issue's 71 entries), entries naming no item or batch, a quarantined batch listed."""
    start = clock.today()
    day = {n: (start + timedelta(days=n)).isoformat() for n in (2, 6, 8, 10, 100)}
    bread = food.create("admin", "item", {"sku": "BREAD-1", "name": "面包", "unit": "个", "near_expiry_days": 3})
    for no, qty, n, wh, item in (("B1", "10", 10, "a", None), ("B2", "4", 100, "a", None), ("B5", "3", 6, "a", None),
                                 ("B3", "7", 8, "b", bread["id"]), ("B4", "2", 2, "b", bread["id"])):
        assert food.receive(no, qty, day[n], warehouse=wh, item=item).status_code == 200
    r = food.patch("manager", f"/data/batch/{food.batch_id('B5')}", {"quality_status": "quarantine"})
    assert r.status_code == 200, r.text
    # stock booked into the quarantined batch afterwards is on hand, yet never listed
    food.create("warehouse", "stock_adjustment", {"item": food.s["item"], "warehouse": food.s["a"], "qty": "1",
                                                  "batch": food.batch_id("B5"), "reason": "correction"})
    r = food.client.post("/api/admin/clock", json={"advance": "PT25H"}, headers=food.h("admin"))
    assert r.status_code == 200, r.text
    food.tokens.clear()  # the clock moved: tokens issued before have expired
    expected = [
        {"sku": "BREAD-1", "name": "面包", "batch_no": "B4", "warehouse_name": "B", "expiry": day[2], "qty": "2.0000"},
        {"sku": "MILK-1", "name": "牛奶", "batch_no": "B1", "warehouse_name": "A", "expiry": day[10], "qty": "10.0000"},
    ]
    keys = ("sku", "name", "batch_no", "warehouse_name", "expiry", "qty")
    for user in ("warehouse", "sales"):
        (entry,) = _digests(food, user)
        assert [{k: ln[k] for k in keys} for ln in entry["lines"]] == expected
        assert [ln["batch"] for ln in entry["lines"]] == [food.batch_id("B4"), food.batch_id("B1")]
        assert "BREAD-1 面包 B4 @ B, " + day[2] + ", 2.0000" in entry["title"]
        assert "MILK-1 牛奶 B1 @ A, " + day[10] + ", 10.0000" in entry["title"]
        assert entry["kind"] == "notification" and entry["entity"] == "batch"
    assert _digests(food, "manager") == [] and _digests(food, "purchasing") == []
    # the same day again (say the automation re-ran): nothing new
    rt = food.jimu.apps.get("food")
    with food.jimu.db.write() as conn:
        assert send_digest(food.jimu, conn, rt, {"warehouse", "sales"}, 30) == []
    assert len(_digests(food, "warehouse")) == 1
    r = food.client.post("/api/admin/clock", json={"advance": "PT24H"}, headers=food.h("admin"))
    assert r.status_code == 200, r.text
    food.tokens.clear()
    assert len(_digests(food, "warehouse")) == 2 and len(_digests(food, "sales")) == 2

"""The business-resilience index against figures worked out by hand, and its rights."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from jimu.core.errors import NotFound, PermissionDenied
from jimu.runtime.intel.bri import bri_report
from tests.runtime.intel.conftest import APP, IntelApp


def _approval(intel: IntelApp, record: int, opened: datetime, closed: datetime) -> None:
    from jimu.runtime.workflow.tables import approvals

    with intel.jimu.db.write() as conn:
        conn.execute(sa.insert(approvals).values(
            app=APP, entity="sales_order", record=record, workflow="sales_order", transition="submit",
            pending_state="pending_approval", from_state="draft", status="approved", step=0, steps=[],
            submitter="sales", opened_at=opened, step_opened_at=opened, closed_at=closed))


def _shipped(intel: IntelApp, ids: list[int]) -> None:
    t = intel.jimu.apps.get(APP).tables("sales_order")
    with intel.jimu.db.write() as conn:
        conn.execute(sa.update(t).where(t.c.id.in_(ids)).values(state="shipped"))


def test_index_by_hand(intel: IntelApp) -> None:
    """Window 14 days (02-25 .. 03-10).
    Supply response: orders placed 03-01, 03-02, 03-05 and shipped 03-03, 03-08, 03-05:
    cycles 2, 6, 0 days, σ (population) = √(18.6667 / 3) = 2.4944 → score 100 × (1 − 0.24944)
    = 75.1.
    Inventory health: X (cost 10) 100 on hand, shipped 40; Y (cost 5) 20 on hand, never
    shipped: dead share 100 / 1100, turnover 400 × 365 / 14 / 1100, ratio = 100 × 14 /
    (400 × 365) = 0.0096 → score 100 × (1 − 0.0095890 / 0.25) = 96.2.
    Demand sensing: two weeks of sales, too short to backtest → not measured (null).
    Collaboration: approvals of 6 h and 24 h closed in the window (one of 02-01 is not) →
    15 h → score 100 × (1 − 15 / 72) = 79.2. Index = (75.1 + 96.2 + 79.2) / 3 = 83.5.
    Mutations tried: sample σ (``stdev``) for population (σ 3.0551 → 69.4) fails; counting Y
    as live (share 0) fails; leaving the 02-01 approval in (mean > 15 h) fails."""
    x = intel.item("X1", "商品X", cost_price="10")
    y = intel.item("Y1", "商品Y", cost_price="5")
    intel.stock(x, "140")
    intel.stock(y, "20")
    o1 = intel.order([(x, "10")], date(2026, 3, 1))
    o2 = intel.order([(x, "20")], date(2026, 3, 2))
    o3 = intel.order([(x, "10")], date(2026, 3, 5))
    intel.ship(o1, x, "10", date(2026, 3, 3))
    intel.ship(o2, x, "20", date(2026, 3, 8))
    intel.ship(o3, x, "10", date(2026, 3, 5))
    _shipped(intel, [o1, o2, o3])
    _approval(intel, o1, datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 1, 15, tzinfo=UTC))
    _approval(intel, o2, datetime(2026, 3, 2, 10, tzinfo=UTC), datetime(2026, 3, 3, 10, tzinfo=UTC))
    _approval(intel, o3, datetime(2026, 1, 1, 10, tzinfo=UTC), datetime(2026, 2, 1, 10, tzinfo=UTC))
    report = bri_report(intel.policy("manager"), {"days": "14"})
    dims = {d["name"]: d for d in report["dimensions"]}
    assert [d["name"] for d in report["dimensions"]] == [
        "supply_response", "inventory_health", "demand_sensing", "collaboration"]
    assert (dims["supply_response"]["value"], dims["supply_response"]["score"]) == ("2.4944", "75.1")
    assert (dims["inventory_health"]["value"], dims["inventory_health"]["score"]) == ("0.0096", "96.2")
    assert dims["inventory_health"]["detail"]["dead_stock_share"] == "0.0909"
    assert (dims["demand_sensing"]["value"], dims["demand_sensing"]["score"]) == (None, None)
    assert (dims["collaboration"]["value"], dims["collaboration"]["score"]) == ("15.0000", "79.2")
    assert report["index"] == "83.5"
    for d in report["dimensions"]:
        assert d["formula"]["zh"] and d["formula"]["en"] and d["label"]["zh"]
    assert "订单交付周期" in dims["supply_response"]["formula"]["zh"]


def test_rights(intel: IntelApp) -> None:
    """Sales sees cost masked (inventory health would give it away): 403; purchasing may
    not read sales orders: 404."""
    with pytest.raises(PermissionDenied):
        bri_report(intel.policy("sales"), {})
    with pytest.raises(NotFound):
        bri_report(intel.policy("purchasing"), {})
    assert bri_report(intel.policy("manager"), {})["index"] is None  # nothing to measure yet


def test_demand_sensing_of_a_steady_item(intel: IntelApp) -> None:
    """10 a day, every day for 20 weeks: every method forecasts every backtest week exactly
    (70), so the rolling 3-month WAPE is 0 and the score 100.0.
    Mutation tried: pooling each item's ``actual`` as its error fails (WAPE 1, score 0)."""
    from datetime import timedelta

    x = intel.item("X1", "商品X", cost_price="1")
    intel.stock(x, "100000")
    for k in range(140):
        intel.sell(x, "10", date(2026, 3, 10) - timedelta(days=k))
    dims = {d["name"]: d for d in bri_report(intel.policy("manager"), {})["dimensions"]}
    assert (dims["demand_sensing"]["value"], dims["demand_sensing"]["score"]) == ("0.0000", "100.0")
    assert dims["demand_sensing"]["detail"] == {"items": 1}

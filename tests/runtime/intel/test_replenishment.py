"""The replenishment report against figures computed by hand, rounding of order
quantities, and the draft purchase orders grouped by supplier."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from jimu.core.errors import NotFound, PermissionDenied, ValidationError
from jimu.runtime.intel.replenishment import create_orders, replenishment_report, round_order, z_value
from tests.runtime.intel.conftest import IntelApp


def _setup(intel: IntelApp) -> tuple[int, int, int]:
    p = intel.item("P1", "蓝莓")
    q = intel.item("Q1", "山药")
    intel.item("R1", "无库存")  # no stock, no demand: not listed
    intel.stock(p, "30")
    intel.stock(q, "100")
    intel.sell(p, "4", date(2026, 3, 2))
    intel.sell(p, "6", date(2026, 3, 5))
    intel.sell(p, "10", date(2026, 3, 9))
    intel.stock(p, "99")  # what the early sale below takes, so on_hand ends at 10
    intel.sell(p, "99", date(2026, 2, 28))  # before the 10-day window (03-01 .. 03-10)
    intel.on_order(p, "5")
    return p, q, intel.warehouse


def test_figures_by_hand(intel: IntelApp) -> None:
    """P sold 4, 6, 10 on 03-02, 03-05, 03-09 of the 10 days 03-01..03-10 (other days 0):
    avg = 20 / 10 = 2; sample σ: Σ(x − 2)² = 7 × 4 + 4 + 16 + 64 = 112, 112 / 9 → σ = 3.5277;
    L = 4, z(0.95) = 1.6449: safety = 1.6449 × 3.5276684 × 2 = 11.6053; reorder point = 2 × 4
    + 11.6053 = 19.6053; position = on_hand 10 + on_order 5 − reserved 0 = 15 ≤ 19.6053, so
    suggested = 19.6053 + 2 × 5 (cover) − 15 = 14.6053 → 15 (whole units). Q: 100 on hand and
    no sales → 0.
    Mutations tried: ``pstdev`` for ``stdev`` (σ 3.3466) fails; ``position < rop`` unchanged
    here, so also ``target = rop`` without the cover (suggested 5) fails; counting the sale of
    02-28 (window off by one day: ``days=days``) fails."""
    p, q, wh = _setup(intel)
    report = replenishment_report(intel.policy("manager"), {
        "warehouse": wh, "days": "10", "lead_time_days": "4", "cover_days": "5", "service_level": "0.95"})
    rows = {r["item"]: r for r in report["data"]}
    assert set(rows) == {p, q}
    row = rows[p]
    assert {k: row[k] for k in ("on_hand", "on_order", "reserved", "position", "avg_daily_demand", "demand_stdev",
                                "lead_time_days", "safety_stock", "reorder_point", "suggested_qty")} == {
        "on_hand": "10.0000", "on_order": "5.0000", "reserved": "0.0000", "position": "15.0000",
        "avg_daily_demand": "2.0000", "demand_stdev": "3.5277", "lead_time_days": 4,
        "safety_stock": "11.6053", "reorder_point": "19.6053", "suggested_qty": "15.0000"}
    assert rows[q]["suggested_qty"] == "0.0000" and rows[q]["reorder_point"] == "0.0000"
    assert report["z"] == "1.6449" and report["data"][0]["item"] == p  # rows to order first
    assert row["sku"] == "P1" and row["item_name"] == "蓝莓"


def test_defaults_come_from_the_unit_params(intel: IntelApp) -> None:
    """Without parameters: 90 days, L = 7, cover 14, 0.95 (the CBU params' defaults)."""
    p, _q, _wh = _setup(intel)
    report = replenishment_report(intel.policy("manager"), {})
    assert (report["days"], report["lead_time_days"], report["cover_days"], report["service_level"]) == (
        90, 7, 14, "0.95")
    row = next(r for r in report["data"] if r["item"] == p)
    # 02-28's 99 is inside 90 days now: (4 + 6 + 10 + 99) / 90
    assert row["avg_daily_demand"] == format((Decimal(119) / 90).quantize(Decimal("0.0001")), "f")


@pytest.mark.parametrize(("qty", "multiple", "minimum", "expected"), [
    ("14.6054", None, None, "15"), ("14.6054", "6", None, "18"), ("14.6054", "6", "20", "20"),
    ("12", "6", None, "12"), ("0", "6", "20", "0"), ("0.2", "0.5", None, "0.5")])
def test_round_order(qty: str, multiple: str | None, minimum: str | None, expected: str) -> None:
    """Up to a whole unit, then to the multiple, at least the minimum; nothing stays nothing.
    Mutation tried: ROUND_HALF_UP for ROUND_CEILING (14.6 → 15 holds, 12.1 / 6 → 12) fails on
    (0.2, 0.5)."""
    assert round_order(Decimal(qty), multiple, minimum) == Decimal(expected)


def test_z_values() -> None:
    assert [str(z_value(Decimal(x))) for x in ("0.5", "0.9", "0.95", "0.99")] == ["0.0", "1.2816", "1.6449", "2.3263"]


def test_orders_grouped_by_the_last_supplier(intel: IntelApp) -> None:
    """Q's latest purchase order (by order date) is from S2, so its row goes on a draft PO to
    S2; P was never bought: refused with a message naming it. Every row refused is 422.
    Mutation tried: ordering the purchase history by id only (S1's order is created last)
    fails."""
    p, q, wh = _setup(intel)
    s1, s2 = intel.supplier("S1"), intel.supplier("S2")
    intel.purchase(q, s2, date(2026, 3, 5))
    intel.purchase(q, s1, date(2026, 3, 1))
    report = replenishment_report(intel.policy("admin"), {"warehouse": wh})
    assert {r["item"]: r["supplier"] for r in report["data"]} == {p: None, q: s2}
    out = create_orders(intel.policy("purchasing"), {"warehouse": wh, "rows": [
        {"item": p, "qty": "15"}, {"item": q, "qty": "5"}]})
    assert len(out["orders"]) == 1
    po = out["orders"][0]
    assert (po["supplier"], po["warehouse"], po["state"]) == (s2, wh, "draft")
    assert [(ln["item"], ln["qty"]) for ln in po["lines"]] == [(q, "5.0000")]
    assert [r["item"] for r in out["refused"]] == [p]
    assert "P1 蓝莓" in out["refused"][0]["message"]["zh"] and "P1 蓝莓" in out["refused"][0]["message"]["en"]
    with pytest.raises(ValidationError) as err:
        create_orders(intel.policy("purchasing"), {"warehouse": wh, "rows": [{"item": p, "qty": "1"}]})
    assert err.value.code == "replenishment.no_supplier"
    with pytest.raises(NotFound):  # sales has no rights on purchase orders at all
        create_orders(intel.policy("sales"), {"warehouse": wh, "rows": [{"item": q, "qty": "1"}]})
    with pytest.raises(ValidationError):
        create_orders(intel.policy("purchasing"), {"warehouse": wh, "rows": [{"item": q, "qty": "-1"}]})


def test_rights(intel: IntelApp) -> None:
    """Demand comes from sales orders: a role that may not read them (purchasing) is refused
    rather than shown zero demand; a sales rep limited by a row filter would see only their
    orders' shipments (the same clause as the movements route).
    Mutation tried: returning an empty demand instead of raising fails."""
    _setup(intel)
    with pytest.raises(PermissionDenied) as err:
        replenishment_report(intel.policy("purchasing"), {})
    assert err.value.code == "forbidden.report"
    assert replenishment_report(intel.policy("sales"), {})["data"]


def test_item_planning_fields(db_url: str) -> None:
    """With the MRP unit's item fields (discrete manufacturing): P's own lead time 9 days,
    order multiple 6 and minimum 20, default supplier S. Same sales as above (avg 2, σ 3.5277
    over 10 days): safety = 1.6449 × 3.5276684 × 3 = 17.4080, reorder point = 2 × 9 + 17.4080
    = 35.4080; position 10 + 5 = 15, so 35.4080 + 2 × 5 − 15 = 30.4080 → 36 (six sixes).
    A lead time of 0 (the field's default) falls back to the param. The draft PO goes to S.
    Mutation tried: ignoring item.lead_time_days (L = 4: reorder point 19.6053) fails."""
    from jimu.templates_market.installer import install_cbu
    from tests.runtime.intel.conftest import open_intel

    with open_intel(db_url) as intel:
        install_cbu(intel.jimu, "intel", "mrp", {}, sample_data=False)
        s = intel.supplier("S")
        p = intel.item("P1", "蓝莓", lead_time_days=9, order_multiple="6", min_order_qty="20", default_supplier=s)
        q = intel.item("Q1", "山药", lead_time_days=0)
        intel.stock(p, "30")
        intel.stock(q, "5")
        for qty, day in (("4", date(2026, 3, 2)), ("6", date(2026, 3, 5)), ("10", date(2026, 3, 9))):
            intel.sell(p, qty, day)
        intel.sell(q, "1", date(2026, 3, 9))
        intel.on_order(p, "5")
        rows = {r["item"]: r for r in replenishment_report(intel.policy("admin"), {
            "days": "10", "lead_time_days": "4", "cover_days": "5"})["data"]}
        assert (rows[p]["lead_time_days"], rows[p]["safety_stock"], rows[p]["reorder_point"],
                rows[p]["suggested_qty"], rows[p]["supplier"]) == (9, "17.4080", "35.4080", "36.0000", s)
        assert rows[q]["lead_time_days"] == 4
        out = create_orders(intel.policy("admin"), {"warehouse": intel.warehouse, "rows": [{"item": p, "qty": "36"}]})
        assert [o["supplier"] for o in out["orders"]] == [s] and out["refused"] == []

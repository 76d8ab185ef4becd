"""ABC classes by value and by movement against classes worked out by hand, rights on the
cost, and apply writing item.abc_class through the audited record service."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from jimu.core.errors import PermissionDenied
from jimu.runtime.intel.abc import abc_report, apply_abc
from tests.runtime.intel.conftest import APP, IntelApp


def _catalogue(intel: IntelApp) -> dict[str, int]:
    """Usage values at cost: A1 10 × 50 = 500, B1 3 × 100 = 300, C1 1 × 100 = 100,
    D1 2 × 30 = 60, E1 4 × 10 = 40, F1 none (total 1000). Shipments: A1 1, B1 2, C1 5,
    D1 1, E1 1 (total 10)."""
    ids = {}
    for sku, cost in (("A1", "10"), ("B1", "3"), ("C1", "1"), ("D1", "2"), ("E1", "4"), ("F1", "9")):
        ids[sku] = intel.item(sku, f"商品{sku}", cost_price=cost)
        intel.stock(ids[sku], "1000")
    day = date(2026, 3, 1)
    intel.sell(ids["A1"], "50", day)
    for _ in range(2):
        intel.sell(ids["B1"], "50", day)
    for _ in range(5):
        intel.sell(ids["C1"], "20", day)
    intel.sell(ids["D1"], "30", day)
    intel.sell(ids["E1"], "10", day)
    return ids


def test_by_value_by_hand(intel: IntelApp) -> None:
    """Shares 50/30/10/6/4/0 %. Cumulative share *before* each item: A1 0 → A, B1 0.50 → A,
    C1 0.80 → B (not below 0.80), D1 0.90 → B, E1 0.96 → C, F1 no value → C.
    Mutation tried: judging on the cumulative share *including* the item (``cum <= a``)
    makes D1 (0.96) C and fails."""
    ids = _catalogue(intel)
    report = abc_report(intel.policy("manager"), {"by": "value"})
    got = {r["sku"]: (r["measure"], r["share"], r["class"]) for r in report["data"]}
    assert got == {"A1": ("500.00", "0.5000", "A"), "B1": ("300.00", "0.3000", "A"),
                   "C1": ("100.00", "0.1000", "B"), "D1": ("60.00", "0.0600", "B"),
                   "E1": ("40.00", "0.0400", "C"), "F1": ("0.00", "0.0000", "C")}
    assert [r["sku"] for r in report["data"]] == ["A1", "B1", "C1", "D1", "E1", "F1"]
    assert report["total"] == "1000.00" and report["counts"] == {"A": 2, "B": 2, "C": 2}
    assert ids


def test_by_movement_by_hand(intel: IntelApp) -> None:
    """Picks 5 (C1), 2 (B1), 1, 1, 1 (A1, D1, E1 by SKU), 0 (F1) of 10: before = 0, 0.5, 0.7,
    0.8, 0.9 → A, A, A, B, B; F1 C.
    Mutation tried: counting quantities instead of shipments (B1 100 = C1 100) fails."""
    _catalogue(intel)
    report = abc_report(intel.policy("sales"), {"by": "movement"})  # no cost needed
    assert [(r["sku"], r["measure"], r["class"]) for r in report["data"]] == [
        ("C1", 5, "A"), ("B1", 2, "A"), ("A1", 1, "A"), ("D1", 1, "B"), ("E1", 1, "B"), ("F1", 0, "C")]


def test_value_needs_the_cost_in_clear(intel: IntelApp) -> None:
    """Sales sees cost_price masked, warehouse not at all: ABC by value would give it away.
    Mutation tried: dropping the require_clear check fails."""
    _catalogue(intel)
    for role in ("sales", "warehouse"):
        with pytest.raises(PermissionDenied) as err:
            abc_report(intel.policy(role), {"by": "value"})
        assert err.value.code == "forbidden.report"


def test_apply_writes_changed_classes_audited(intel: IntelApp) -> None:
    """Every item starts as C: apply by value changes A1, B1 → A and C1, D1 → B (4 audited
    updates), leaves E1 and F1; a second apply changes nothing. Sales may not update items.
    Mutation tried: writing every row (not only changes) makes the second apply non-empty."""
    ids = _catalogue(intel)
    out = apply_abc(intel.policy("manager"), {"by": "value"})
    assert sorted((u["sku"], u["from"], u["to"]) for u in out["updated"]) == [
        ("A1", "C", "A"), ("B1", "C", "A"), ("C1", "C", "B"), ("D1", "C", "B")]
    assert out["unchanged"] == 2
    assert intel.jimu.records.get(APP, "item", ids["C1"])["abc_class"] == "B"
    from jimu.platform.store.tables import audit_log as au

    with intel.jimu.db.read() as conn:
        rows = conn.execute(sa.select(au.c.record, au.c.user).where(
            au.c.app == APP, au.c.entity == "item", au.c.action == "update")).all()
    assert sorted(int(r.record) for r in rows) == sorted(ids[s] for s in ("A1", "B1", "C1", "D1"))
    assert {r.user for r in rows} == {"manager"}
    assert apply_abc(intel.policy("manager"), {"by": "value"})["updated"] == []
    with pytest.raises(PermissionDenied):
        apply_abc(intel.policy("sales"), {"by": "movement"})

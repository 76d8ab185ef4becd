"""Textbook MRP records computed by hand, each grid written out bucket by bucket
(gross, scheduled receipts, projected on hand, planned receipts, planned releases).

The arithmetic behind every figure is in the comments; the engine must reproduce it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from jimu.runtime.mrp.engine import (
    Calendar,
    Component,
    CycleError,
    Demand,
    Peg,
    PlanItem,
    Planner,
    Receipt,
    Structure,
    lot_size,
    low_level_codes,
)

MON = date(2026, 1, 5)


def _grid(res) -> dict[str, list[D]]:
    return {"gross": res.gross, "scheduled": res.scheduled, "projected": res.projected,
            "planned": res.planned_receipts, "releases": res.planned_releases}


def _ints(values: list[int | str]) -> list[D]:
    return [D(str(v)) for v in values]


def test_single_item_lead_time_and_safety_stock() -> None:
    """On hand 20, safety stock 5, lead time 14 days, weekly buckets from 2026-01-05.

    t0: 20 - 10 = 10; t1: +10 (PO-1) = 20; t2: 20 - 15 = 5 (= safety stock, no order);
    t3: 5 - 10 = -5 < 5 -> plan 10 due 01-26, released 01-12 (t1);
    t5: 5 - 20 = -15 -> plan 20 due 02-09, released 01-26 (t3).
    PO-1 arrives in t1 but stock plus nothing else holds until t2 -> defer to 01-19."""
    cal = Calendar(MON, 56, 7)
    items = {1: PlanItem(1, on_hand=D(20), safety_stock=D(5), lead_time_days=14)}
    demands = [Demand(1, D(10), date(2026, 1, 5), "SO-1"), Demand(1, D(15), date(2026, 1, 21), "SO-2"),
               Demand(1, D(10), date(2026, 1, 26), "SO-3"), Demand(1, D(20), date(2026, 2, 11), "SO-4")]
    plan = Planner(cal, items, {}, demands, [Receipt(1, D(10), date(2026, 1, 12), "PO-1")])
    res = plan.run()[1]
    assert _grid(res) == {
        "gross": _ints([10, 0, 15, 10, 0, 20, 0, 0]),
        "scheduled": _ints([0, 10, 0, 0, 0, 0, 0, 0]),
        "projected": _ints([10, 20, 5, 5, 5, 5, 5, 5]),
        "planned": _ints([0, 0, 0, 10, 0, 20, 0, 0]),
        "releases": _ints([0, 10, 0, 20, 0, 0, 0, 0]),
    }
    assert [(o.action, o.qty, o.due, o.release) for o in res.orders] == [
        ("buy", D(10), date(2026, 1, 26), date(2026, 1, 12)), ("buy", D(20), date(2026, 2, 9), date(2026, 1, 26))]
    # On hand 20 covers safety stock 5, SO-1 10 and 5 of SO-2; PO-1 the other 10 of SO-2.
    assert [o.pegging for o in res.orders] == [[Peg("SO-3", D(10), date(2026, 1, 26))],
                                               [Peg("SO-4", D(20), date(2026, 2, 11))]]
    assert [(e.kind, e.source, e.to) for e in res.exceptions] == [("defer", "PO-1", date(2026, 1, 19))]


def test_lot_sizing_minimum_and_multiple() -> None:
    """Min 25, multiple 10: t0 needs 12 -> 25 -> 30 (18 left); t1 18 - 8 = 10;
    t2 10 - 30 = -20 -> 25 -> 30 (10 left). The first lot covers a, b and 10 of c."""
    cal = Calendar(MON, 21, 7)
    items = {7: PlanItem(7, min_order_qty=D(25), order_multiple=D(10))}
    demands = [Demand(7, D(12), MON, "a"), Demand(7, D(8), date(2026, 1, 12), "b"),
               Demand(7, D(30), date(2026, 1, 19), "c")]
    res = Planner(cal, items, {}, demands).run()[7]
    assert _grid(res) == {"gross": _ints([12, 8, 30]), "scheduled": _ints([0, 0, 0]),
                          "projected": _ints([18, 10, 10]), "planned": _ints([30, 0, 30]),
                          "releases": _ints([30, 0, 30])}
    assert [[(p.source, p.qty) for p in o.pegging] for o in res.orders] == [
        [("a", D(12)), ("b", D(8)), ("c", D(10))], [("c", D(20))]]
    assert (lot_size(D(1)), lot_size(D(1), D(5)), lot_size(D("10.5"), D(0), D(5)), lot_size(D(20), D(5), D(10))) == (
        D(1), D(5), D(15), D(20))


def _bike() -> tuple[Calendar, dict[int, PlanItem], dict[int, Structure]]:
    BIKE, FRAME, WHEEL, SPOKE = 1, 2, 3, 4
    cal = Calendar(date(2026, 3, 2), 42, 7)
    items = {BIKE: PlanItem(BIKE, on_hand=D(2), lead_time_days=7),
             FRAME: PlanItem(FRAME, on_hand=D(5), safety_stock=D(2), lead_time_days=14, supplier="S1"),
             WHEEL: PlanItem(WHEEL, lead_time_days=7),
             SPOKE: PlanItem(SPOKE, on_hand=D(100), lead_time_days=7, order_multiple=D(100), supplier="S2")}
    boms = {BIKE: Structure(BIKE, D(1), (Component(FRAME, D(1)), Component(WHEEL, D(2)))),
            WHEEL: Structure(WHEEL, D(2), (Component(SPOKE, D(72), D("0.05")),))}
    return cal, items, boms


def test_multi_level_with_lead_times_scrap_and_safety_stock() -> None:
    """Weekly from 2026-03-02 (6 buckets). 1 bike = 1 frame + 2 wheels; 2 wheels = 72
    spokes with 5 % scrap, so 37.8 spokes a wheel.

    BIKE (on hand 2): t2 2 - 10 -> make 8 due 03-16 released 03-09 (t1); t4 -5 -> make 5
    due 03-30 released 03-23 (t3).
    FRAME (on hand 5, safety 2, lead 14): gross t1 8, t3 5. t1 5 - 8 = -3 < 2 -> buy 5 due
    03-09 released 02-23 (before the run: past due); t3 2 - 5 -> buy 5 due 03-23
    released 03-09.
    WHEEL: gross t1 16, t3 10 -> make 16 released 03-02, make 10 released 03-16 (t2).
    SPOKE (on hand 100, multiple 100): gross t0 16 x 37.8 = 604.8, t2 10 x 37.8 = 378.
    t0 100 - 604.8 = -504.8 -> 600 (95.2 left, past due: released 02-23);
    t2 95.2 - 378 = -282.8 -> 300 (17.2 left), due 03-16 released 03-09 (t1)."""
    cal, items, boms = _bike()
    plan = Planner(cal, items, boms, [Demand(1, D(10), date(2026, 3, 16), "SO-1"),
                                      Demand(1, D(5), date(2026, 3, 30), "SO-2")])
    res = plan.run()
    assert {i: r.level for i, r in res.items()} == {1: 0, 2: 1, 3: 1, 4: 2}
    assert _grid(res[1]) == {"gross": _ints([0, 0, 10, 0, 5, 0]), "scheduled": _ints([0] * 6),
                             "projected": _ints([2, 2, 0, 0, 0, 0]), "planned": _ints([0, 0, 8, 0, 5, 0]),
                             "releases": _ints([0, 8, 0, 5, 0, 0])}
    assert _grid(res[2]) == {"gross": _ints([0, 8, 0, 5, 0, 0]), "scheduled": _ints([0] * 6),
                             "projected": _ints([5, 2, 2, 2, 2, 2]), "planned": _ints([0, 5, 0, 5, 0, 0]),
                             "releases": _ints([5, 5, 0, 0, 0, 0])}
    assert _grid(res[3]) == {"gross": _ints([0, 16, 0, 10, 0, 0]), "scheduled": _ints([0] * 6),
                             "projected": _ints([0] * 6), "planned": _ints([0, 16, 0, 10, 0, 0]),
                             "releases": _ints([16, 0, 10, 0, 0, 0])}
    assert _grid(res[4]) == {"gross": _ints(["604.8", 0, 378, 0, 0, 0]), "scheduled": _ints([0] * 6),
                             "projected": _ints(["95.2", "95.2", "17.2", "17.2", "17.2", "17.2"]),
                             "planned": _ints([600, 0, 300, 0, 0, 0]), "releases": _ints([600, 300, 0, 0, 0, 0])}
    assert [(o.action, o.qty, o.due, o.release, o.supplier) for o in res[2].orders] == [
        ("buy", D(5), date(2026, 3, 9), date(2026, 2, 23), "S1"), ("buy", D(5), date(2026, 3, 23), date(2026, 3, 9), "S1")]
    assert [(o.action, o.supplier) for o in res[3].orders] == [("make", None), ("make", None)]
    # Pegging: frames to safety stock first (on hand 5 covers 2 + 3 of the first parent order).
    assert [[(p.source, p.parent, p.qty) for p in o.pegging] for o in res[2].orders] == [
        [("2026-03-16", 1, D(5))], [("2026-03-30", 1, D(5))]]
    assert [[(p.source, p.parent, p.qty) for p in o.pegging] for o in res[4].orders] == [
        [("2026-03-09", 3, D("504.8")), ("2026-03-23", 3, D("95.2"))], [("2026-03-23", 3, D("282.8"))]]
    assert sorted((e.item, e.kind, e.on) for r in res.values() for e in r.exceptions) == [
        (2, "past_due", date(2026, 2, 23)), (4, "past_due", date(2026, 2, 23))]


def test_receipt_exceptions_expedite_defer_cancel_past_due() -> None:
    """C: demand 10 in t1, PO-C1 5 in t2 and PO-C2 10 in t3: both are needed in t1
    (expedite), and a planned order of 10 covers t1 meanwhile. D: 50 on hand for a demand
    of 10: PO-D (dated before the run) is not needed at all (cancel, past due)."""
    cal = Calendar(MON, 28, 7)
    demands = [Demand(3, D(10), date(2026, 1, 12), "SO-C"), Demand(4, D(10), date(2026, 1, 12), "SO-D")]
    receipts = [Receipt(3, D(5), date(2026, 1, 19), "PO-C1"), Receipt(3, D(10), date(2026, 1, 26), "PO-C2"),
                Receipt(4, D(20), date(2025, 12, 20), "PO-D")]
    res = Planner(cal, {4: PlanItem(4, on_hand=D(50))}, {}, demands, receipts).run()
    assert _grid(res[3])["projected"] == _ints([0, 0, 5, 15])
    assert [(o.qty, o.due) for o in res[3].orders] == [(D(10), date(2026, 1, 12))]
    assert [(e.kind, e.source, e.to) for e in res[3].exceptions] == [
        ("expedite", "PO-C1", date(2026, 1, 12)), ("expedite", "PO-C2", date(2026, 1, 12))]
    assert res[4].orders == []
    assert [(e.kind, e.source, e.to) for e in res[4].exceptions] == [
        ("past_due", "PO-D", MON), ("cancel", "PO-D", None)]


def test_day_buckets_and_horizon() -> None:
    """Daily buckets: a demand on day 3 is due that day; lead 2 days releases on day 1;
    a demand past the 5-day horizon is not planned."""
    cal = Calendar(MON, 5, 1)
    res = Planner(cal, {1: PlanItem(1, lead_time_days=2)}, {},
                  [Demand(1, D(4), date(2026, 1, 8), "SO-1"), Demand(1, D(9), date(2026, 1, 10), "SO-late")]).run()[1]
    assert res.gross == _ints([0, 0, 0, 4, 0]) and res.planned_releases == _ints([0, 4, 0, 0, 0])
    assert [(o.due, o.release) for o in res.orders] == [(date(2026, 1, 8), date(2026, 1, 6))]


def test_net_change_replans_only_what_the_order_reaches() -> None:
    """A second bike order re-nets the bike and what its new planned orders reach; an
    unrelated item (7) is not touched; the result equals a full regeneration."""
    cal, items, boms = _bike()
    items[7] = PlanItem(7, lead_time_days=3)
    demands = [Demand(1, D(10), date(2026, 3, 16), "SO-1"), Demand(7, D(3), date(2026, 3, 9), "SO-7")]
    plan = Planner(cal, items, boms, demands)
    plan.run()
    untouched = plan.results[7]
    plan.set_demands(1, [*demands[:1], Demand(1, D(4), date(2026, 3, 23), "SO-3")])
    assert plan.replan({1}) == {1, 2, 3, 4}
    assert plan.results[7] is untouched
    full = Planner(cal, items, boms, [*demands, Demand(1, D(4), date(2026, 3, 23), "SO-3")]).run()
    assert {i: _grid(r) for i, r in plan.results.items()} == {i: _grid(r) for i, r in full.items()}
    # A change that moves no planned order (a bike arriving in the last week, after every
    # demand) stops at the bike: its components are not re-netted.
    plan.set_receipts(1, [Receipt(1, D(1), date(2026, 4, 6), "WO-9")])
    assert plan.replan({1}) == {1}


def test_low_level_codes_and_cycles() -> None:
    boms = {1: Structure(1, D(1), (Component(2, D(1)), Component(4, D(1)))),
            2: Structure(2, D(1), (Component(3, D(1)),)), 3: Structure(3, D(1), (Component(4, D(1)),))}
    assert low_level_codes(boms) == {1: 0, 2: 1, 3: 2, 4: 3}
    boms[4] = Structure(4, D(1), (Component(2, D(1)),))
    with pytest.raises(CycleError) as err:
        low_level_codes(boms)
    assert err.value.cycle == [2, 3, 4, 2]

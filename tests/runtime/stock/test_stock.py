"""Stock operations: sweeps/periodic jobs, channel pools, transfers, stocktake (both backends)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

import jimu.runtime.scheduler  # noqa: F401 - registers run_all_due with the test clock
from jimu.core.errors import Conflict, StockConflict
from jimu.platform.hooks import collect
from jimu.platform.ledger import Doc, Ledger, adjust, balances, get_reservations, receipt, reserve, verify
from jimu.runtime.due import run_due
from jimu.runtime.stock import (
    blind_lines,
    configure_channels,
    discrepancies,
    plan_cycle_count,
    pools,
    rebalance_pools,
    reserve_via_channel,
    resolve_discrepancy,
    trace,
    transfer_receive,
    transfer_send,
    variance,
    variance_rate,
    variance_summary,
)

APP = "shop"
LG = Ledger("stock", ("item", "warehouse"), scale=2)
A = {"item": 1, "warehouse": 10}


def avail(conn, dims):
    return balances(conn, APP, LG, **dims)[0]


def test_test_clock_sweeps_expired_reservations(jimu, manual_clock):
    with jimu.db.write() as c:
        receipt(c, APP, LG, A, 5)
        reserve(c, APP, LG, A, 5, ttl=timedelta(minutes=30))
    at = manual_clock.advance(timedelta(minutes=31))
    ran = run_due(jimu, at)
    assert all(r["ok"] for r in ran), ran
    with jimu.db.read() as c:
        assert [r["state"] for r in get_reservations(c, APP, LG)] == ["expired"]
        assert avail(c, A)["available"] == Decimal("5.00")


def test_channel_pools_split_pause_and_refuse(jimu, manual_clock):
    with jimu.db.write() as c:
        receipt(c, APP, LG, A, 100)
        got = configure_channels(c, APP, LG, 1, 10, {"online": {"weight": 3, "threshold": 10},
                                                    "store": {"weight": 1, "threshold": 30}})
    assert {p["channel"]: (p["allotted"], p["paused"]) for p in got} == {
        "online": (Decimal("75.00"), False), "store": (Decimal("25.00"), True)}
    with pytest.raises(StockConflict, match="Channel store is paused"), jimu.db.write() as c:
        reserve_via_channel(c, APP, LG, "store", A, 1)
    with jimu.db.write() as c:
        reserve_via_channel(c, APP, LG, "online", A, 66, doc=Doc("sales_order", 1))
    with pytest.raises(StockConflict, match="Channel online is paused"), jimu.db.write() as c:
        reserve_via_channel(c, APP, LG, "online", A, 1)  # 9 left < threshold 10: paused on the way down
    with jimu.db.read() as c:
        assert avail(c, A)["reserved"] == Decimal("66.00")  # refusals left nothing behind
    # The 15-minute rebalance (a periodic job fired by the test clock) re-splits what is available.
    with jimu.db.write() as c:
        receipt(c, APP, LG, A, 66)
    at = manual_clock.advance(timedelta(minutes=15))
    assert all(r["ok"] for r in run_due(jimu, at))
    with jimu.db.read() as c:
        now = {p["channel"]: (p["allotted"], p["paused"]) for p in pools(c, APP, LG)}
    assert now == {"online": (Decimal("75.00"), False), "store": (Decimal("25.00"), True)}
    with jimu.db.write() as c:
        assert rebalance_pools(c, APP, LG)[0]["available"] == Decimal("100.00")
    assert verify(jimu.db, APP) == []


def test_transfer_discrepancy_is_a_document_not_an_adjustment(jimu, manual_clock):
    src, dst = {"item": 1, "warehouse": 10}, {"item": 1, "warehouse": 20}
    with jimu.db.write() as c:
        receipt(c, APP, LG, src, 10)
        transfer_send(c, APP, LG, "T1", src, 10, user="wh_a")
        assert avail(c, src)["in_transit"] == Decimal("10.00")
        out = transfer_receive(c, APP, LG, "T1", src, dst, 10, 8, user="wh_b")
    with jimu.db.read() as c:
        assert avail(c, src)["in_transit"] == 0 and avail(c, dst)["on_hand"] == Decimal("8.00")
        (d,) = discrepancies(c, APP, LG, transfer="T1")
    assert (d["sent"], d["received"], d["difference"], d["state"], d["created_by"]) == (
        Decimal("10.00"), Decimal("8.00"), Decimal("-2.00"), "open", "wh_b")
    assert d["id"] == out["discrepancy"]
    with pytest.raises(Exception, match="reason"), jimu.db.write() as c:
        resolve_discrepancy(c, APP, LG, d["id"], reason=" ")
    with jimu.db.write() as c:
        done = resolve_discrepancy(c, APP, LG, d["id"], reason="found behind the pallet", book=1, user="boss")
    assert (done["state"], done["booked"], done["resolved_by"]) == ("resolved", Decimal("1.00"), "boss")
    with jimu.db.read() as c:
        assert avail(c, dst)["on_hand"] == Decimal("9.00")
        kinds = [m["kind"] for m in trace(jimu, APP, 1, 20, since=None, ledger=LG, conn=c)]
    assert kinds == ["transfer_in", "adjust"]
    with pytest.raises(Conflict), jimu.db.write() as c:
        resolve_discrepancy(c, APP, LG, d["id"], reason="again")
    # An exact receipt opens nothing.
    with jimu.db.write() as c:
        transfer_send(c, APP, LG, "T2", dst, 2)
        assert transfer_receive(c, APP, LG, "T2", dst, src, 2, 2)["discrepancy"] is None
    assert verify(jimu.db, APP) == []


def test_stocktake_helpers(jimu, manual_clock):
    with jimu.db.write() as c:
        receipt(c, APP, LG, {"item": 1, "warehouse": 10}, 100, unit_cost="10")  # value 1000: A
        receipt(c, APP, LG, {"item": 2, "warehouse": 10}, 10, unit_cost="10")   # 100: B
        receipt(c, APP, LG, {"item": 3, "warehouse": 10}, 1, unit_cost="1")     # 1: C
        adjust(c, APP, LG, {"item": 1, "warehouse": 10}, -3, reason="count", doc=Doc("stocktake", 1), user="c1")
    manual_clock.advance(timedelta(hours=1))
    with jimu.db.write() as c:
        reserve(c, APP, LG, {"item": 1, "warehouse": 10}, 2, doc=Doc("sales_order", 5), user="sales")
    plan = plan_cycle_count(jimu, APP, 10, ledger=LG)
    assert [(x["item"], x["abc_class"]) for x in plan] == [("1", "A"), ("2", "B"), ("3", "C")]
    assert [x["item"] for x in plan_cycle_count(jimu, APP, 10, "c", ledger=LG)] == ["3"]
    assert [x["item"] for x in plan_cycle_count(jimu, APP, 10, "A", ledger=LG, classes={3: "A"})] == ["1", "3"]
    blind = blind_lines(plan)
    assert "system_qty" not in blind[0] and blind[0]["counted_qty"] is None
    assert variance("97", "95") == Decimal("-2") and variance_rate("97", "95") == Decimal(2) / Decimal(97)
    assert variance_rate(0, 0) == 0 and variance_rate(0, 3) == 1
    assert variance_summary([{"system_qty": 100, "counted_qty": 98}, {"system_qty": 0, "counted_qty": 0}])[
        "variance_rate"] == Decimal("0.02")
    moves = trace(jimu, APP, 1, 10, ledger=LG)  # since the previous count (the stocktake adjust)
    assert [(m["kind"], m["user"], m["document"]["entity"]) for m in moves] == [("reserve", "sales", "sales_order")]


def test_actions_are_registered_and_callable(jimu, manual_clock):
    actions = {a.name: a for a in collect("jimu_automation_actions")}
    assert {"stock_channel_reserve", "stock_transfer_send", "stock_transfer_receive",
            "stock_discrepancy_resolve", "stock_channel_rebalance"} <= set(actions)
    with jimu.db.write() as c:
        receipt(c, APP, LG, A, 4)
    record = {"id": 7, "sent": 4, "got": 3}
    params = {"item": 1, "from_warehouse": 10, "to_warehouse": 20, "qty": "sent", "ledger": LG}
    actions["stock_transfer_send"].run(jimu, APP, record, params, "wh")
    out = actions["stock_transfer_receive"].run(jimu, APP, record, {**params, "received_qty": "got"}, "wh")
    with jimu.db.read() as c:
        (d,) = discrepancies(c, APP, LG, transfer=7)
    assert d["id"] == out["discrepancy"] and d["difference"] == Decimal("-1.00")

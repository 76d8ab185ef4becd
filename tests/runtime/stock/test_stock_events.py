"""Stock operations send ``ledger.moved`` in the transaction of their movements: committed
movements have their event, rolled-back ones leave neither (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from jimu.core.errors import StockConflict
from jimu.platform.actor import Actor
from jimu.platform.hooks import collect
from jimu.platform.ledger import Ledger, movements, receipt, reserve
from jimu.runtime.events.tables import events
from jimu.runtime.stock import (
    configure_channels,
    reserve_via_channel,
    resolve_discrepancy,
    transfer_receive,
    transfer_send,
)
from jimu.runtime.stock.sweeps import sweep_reservations

APP = "shop"
LG = Ledger("stock", ("item", "warehouse"), scale=2)
SRC, DST = {"item": 1, "warehouse": 10}, {"item": 1, "warehouse": 20}
WH = Actor("wh", ("warehouse",))


def moved(jimu) -> list[dict]:
    with jimu.db.read() as c:
        rows = c.execute(sa.select(events).where(events.c.kind == "ledger.moved").order_by(events.c.seq))
        return [dict(r) for r in rows.mappings()]


def ids(event) -> list[int]:
    return [ch["movement"] for ch in event["changes"]]


def all_movements(jimu) -> list[dict]:
    with jimu.db.read() as c:
        return movements(c, APP, LG)


def test_transfer_send_and_receive_emit_their_movements(jimu, manual_clock):
    with jimu.db.write() as c:
        receipt(c, APP, LG, SRC, 10)
    assert moved(jimu) == []  # a bare platform receipt is not a stock operation
    with jimu.db.write() as c:
        sent = transfer_send(c, APP, LG, "T1", SRC, 10, user=WH)
    (ev,) = moved(jimu)
    assert ids(ev) == [sent] and ev["entity"] == "stock" and ev["app"] == APP
    assert ev["actor"] == "wh" and ev["actor_roles"] == ["warehouse"]
    assert ev["changes"][0]["deltas"] == {"on_hand": "-10.00", "in_transit": "10.00"}
    assert ev["changes"][0]["document"] == {"entity": "stock_transfer", "id": "T1"}
    with jimu.db.write() as c:
        out = transfer_receive(c, APP, LG, "T1", SRC, DST, 10, 7, user="wh_b")
    ev = moved(jimu)[-1]
    assert ids(ev) == out["movements"] and len(out["movements"]) == 3  # in_transit out, on_hand in, short
    assert [ch["kind"] for ch in ev["changes"]] == ["transfer_in", "transfer_in", "transfer_short"]
    assert ev["actor"] == "wh_b"
    with jimu.db.write() as c:
        resolve_discrepancy(c, APP, LG, out["discrepancy"], reason="found", book=2, user="boss")
    ev = moved(jimu)[-1]
    assert [ch["kind"] for ch in ev["changes"]] == ["adjust"] and ev["actor"] == "boss"
    # Every movement of the stock operations is in exactly one event.
    stock_ops = [m["id"] for m in all_movements(jimu) if m["kind"] != "receipt"]
    assert sorted(i for e in moved(jimu) for i in ids(e)) == stock_ops


def test_rolled_back_stock_action_emits_nothing(jimu, manual_clock):
    with jimu.db.write() as c:
        receipt(c, APP, LG, SRC, 10)
    with pytest.raises(RuntimeError), jimu.db.write() as c:
        transfer_send(c, APP, LG, "T9", SRC, 4, user=WH)
        assert len(moved_on(c)) == 1  # written in the transaction...
        raise RuntimeError("the document change failed")
    assert moved(jimu) == []  # ...and gone with it, like the movement
    assert [m["kind"] for m in all_movements(jimu)] == ["receipt"]
    with pytest.raises(StockConflict), jimu.db.write() as c:
        transfer_send(c, APP, LG, "T9", SRC, 11, user=WH)  # refused: nothing moved, nothing sent
    assert moved(jimu) == []


def moved_on(conn) -> list:
    return conn.execute(sa.select(events.c.id).where(events.c.kind == "ledger.moved")).all()


def test_channel_reservation_emits_and_a_refusal_does_not(jimu, manual_clock):
    with jimu.db.write() as c:
        receipt(c, APP, LG, SRC, 100)
        configure_channels(c, APP, LG, 1, 10, {"online": {"weight": 1, "threshold": 0}})
    with jimu.db.write() as c:
        reserve_via_channel(c, APP, LG, "online", SRC, 30, user="sales")
    (ev,) = moved(jimu)
    assert ev["changes"][0]["kind"] == "reserve" and ev["changes"][0]["deltas"] == {"reserved": "30.00"}
    with pytest.raises(StockConflict), jimu.db.write() as c:
        reserve_via_channel(c, APP, LG, "online", SRC, 71, user="sales")
    assert len(moved(jimu)) == 1


def test_expiry_sweep_emits_one_event_per_ledger(jimu, manual_clock):
    with jimu.db.write() as c:
        receipt(c, APP, LG, SRC, 5)
        receipt(c, APP, LG, DST, 5)
        reserve(c, APP, LG, SRC, 2, ttl=timedelta(minutes=30))
        reserve(c, APP, LG, DST, 3, ttl=timedelta(minutes=30))
        reserve(c, APP, LG, DST, 1)  # no time limit: stays
    at = manual_clock.advance(timedelta(minutes=31))
    assert sweep_reservations(jimu, at) == 2
    (ev,) = moved(jimu)
    expired = [m["id"] for m in all_movements(jimu) if m["kind"] == "expire"]
    assert sorted(ids(ev)) == expired and len(expired) == 2
    assert ev["actor"] == "system"
    assert sweep_reservations(jimu, at) == 0 and len(moved(jimu)) == 1


def test_quarantine_action_emits(jimu, manual_clock):
    lg = Ledger("stock", ("item", "warehouse", "batch"), scale=2)
    with jimu.db.write() as c:
        receipt(c, APP, lg, {"item": 1, "warehouse": 10, "batch": 7}, 4)
    action = next(a for a in collect("jimu_automation_actions") if a.name == "ledger_quarantine")
    action.run(jimu, APP, {"id": 7}, {"ledger": lg}, WH)
    (ev,) = moved(jimu)
    assert ev["changes"][0]["kind"] == "quarantine" and ev["actor_roles"] == ["warehouse"]


def test_test_clock_expiry_sends_ledger_moved(jimu, manual_clock):
    from jimu.runtime.due import run_due

    with jimu.db.write() as c:
        receipt(c, APP, LG, SRC, 5)
        reserve(c, APP, LG, SRC, 2, ttl=timedelta(minutes=30))
    assert all(r["ok"] for r in run_due(jimu, manual_clock.advance(timedelta(minutes=31))))
    (ev,) = moved(jimu)
    assert [ch["kind"] for ch in ev["changes"]] == ["expire"]

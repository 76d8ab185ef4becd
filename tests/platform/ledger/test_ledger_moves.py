"""Behaviour of each posting kind, errors, reservations, FEFO, valuation, verify, trace."""

from __future__ import annotations

import ast
import pathlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from jimu.core import pyast
from jimu.core.errors import Conflict, StockConflict, ValidationError
from jimu.platform import hooks
from jimu.platform.ledger import (
    Doc,
    MoveLine,
    adjust,
    allocate_fefo,
    balances,
    confirm_reservation,
    expire_due,
    get_reservations,
    movements,
    near_expiry,
    on_order,
    post,
    quarantine,
    quarantine_expired,
    receipt,
    release,
    release_document,
    reserve,
    ship,
    sweep_expired,
    transfer_in,
    transfer_out,
    valuation,
    verify,
)
from jimu.platform.ledger.tables import balance
from jimu.platform.specs import LedgerSpec
from tests.platform.ledger._ledger_workers import APP, LOOSE, STOCK

A = {"item": 1, "warehouse": 10}
B = {"item": 2, "warehouse": 10}


def bal(conn, **f):
    rows = balances(conn, APP, STOCK, **f)
    assert len(rows) == 1, rows
    return rows[0]


def test_receipt_reserve_ship_transfer_adjust(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, "10.5", user="wh", doc=Doc("purchase_order", 7, 1, "receive"))
        rid = reserve(c, APP, STOCK, A, 4, doc=Doc("sales_order", 3, 1))
        ship(c, APP, STOCK, A, 4, reservation=rid)
        transfer_out(c, APP, STOCK, A, "1.5")
        transfer_in(c, APP, STOCK, A, {"item": 1, "warehouse": 20}, "1.5")
        adjust(c, APP, STOCK, A, "-0.5", reason="damaged")
        quarantine(c, APP, STOCK, A, 1)
        on_order(c, APP, STOCK, A, 5)
    with ldb.read() as c:
        row = bal(c, item=1, warehouse=10)
        assert row["item"] == 1 and row["warehouse"] == 10 and row["batch"] is None
        assert row["on_hand"] == Decimal("3.5") and row["reserved"] == 0
        assert row["quarantine"] == 1 and row["on_order"] == 5 and row["available"] == Decimal("3.5")
        assert bal(c, warehouse=20)["on_hand"] == Decimal("1.5")
        assert get_reservations(c, APP, STOCK)[0]["state"] == "consumed"
        kinds = [m["kind"] for m in movements(c, APP, STOCK, item=1, warehouse=10)]
        assert kinds == ["receipt", "reserve", "ship", "transfer_out", "transfer_in", "adjust",
                         "quarantine", "on_order"]
        first = movements(c, APP, STOCK, item=1, warehouse=10, limit=1)[0]
        assert first["user"] == "wh" and first["document"] == {"entity": "purchase_order", "id": "7", "line": "1"}
        assert first["transition"] == "receive"
    assert verify(ldb, APP) == []


def test_refusal_names_item_requested_available_per_line(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 5)
        receipt(c, APP, STOCK, B, 1)
    with pytest.raises(StockConflict) as ei, ldb.write() as c:
        post(c, APP, STOCK, "reserve", [MoveLine(A, 3), MoveLine(B, 2), MoveLine(A, 3)])
    err = ei.value
    assert err.status == 409 and "item 1, warehouse 10" in err.message
    assert "requested 3" in err.message and "available 5" in err.message
    assert [e.field for e in err.errors] == ["lines.0.qty", "lines.1.qty", "lines.2.qty"]
    assert "item 2" in err.errors[1].message and "available 1" in err.errors[1].message
    with ldb.read() as c:
        assert bal(c, item=1)["reserved"] == 0 and bal(c, item=2)["reserved"] == 0


def test_failed_multiline_leaves_nothing_even_if_caller_commits(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 5)
        receipt(c, APP, STOCK, B, 1)
    with ldb.write() as c:
        with pytest.raises(StockConflict):
            post(c, APP, STOCK, "ship", [MoveLine(A, 2), MoveLine(B, 2)])
    with ldb.read() as c:
        assert bal(c, item=1)["on_hand"] == 5
    assert verify(ldb, APP) == []


def test_negative_refused_by_default_allowed_per_ledger(ldb, frozen_clock):
    with pytest.raises(StockConflict), ldb.write() as c:
        ship(c, APP, STOCK, A, 1)
    with ldb.write() as c:
        ship(c, APP, LOOSE, {"item": 1, "warehouse": 10}, 87)
        reserve(c, APP, LOOSE, {"item": 1, "warehouse": 10}, 3)
    with ldb.read() as c:
        row = balances(c, APP, LOOSE)[0]
        assert row["on_hand"] == -87 and row["available"] == -90
    assert verify(ldb, APP, "loose") == []


def test_input_validation(ldb, frozen_clock):
    with ldb.write() as c:
        with pytest.raises(ValidationError):
            receipt(c, APP, STOCK, A, "0.0001")  # scale 3
        with pytest.raises(ValidationError):
            receipt(c, APP, STOCK, {"item": 1}, 1)
        with pytest.raises(ValidationError):
            receipt(c, APP, STOCK, {**A, "colour": "red"}, 1)
        with pytest.raises(ValidationError):
            receipt(c, APP, STOCK, A, -1)
        with pytest.raises(ValidationError):
            adjust(c, APP, STOCK, A, 1, reason="")
        with pytest.raises(ValidationError):
            post(c, APP, STOCK, "teleport", [MoveLine(A, 1)])


def test_ttl_expiry_is_lazy_and_swept(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 10)
        online = reserve(c, APP, STOCK, A, 6, ttl=timedelta(minutes=30))
        deposit = reserve(c, APP, STOCK, A, 3)
    frozen_clock.advance(timedelta(minutes=31))
    with ldb.read() as c:
        assert bal(c)["reserved"] == 3 and bal(c)["available"] == 7  # read discounts the due one
    with ldb.write() as c:  # a failing guard releases the due reservation and retries
        reserve(c, APP, STOCK, A, 7)
    with ldb.read() as c:
        states = {r["id"]: r["state"] for r in get_reservations(c, APP, STOCK)}
        assert states[online] == "expired" and states[deposit] == "active"
        assert bal(c)["available"] == 0
    assert verify(ldb, APP) == []
    with ldb.write() as c:
        receipt(c, APP, STOCK, B, 2)
        paid = reserve(c, APP, STOCK, B, 1, ttl=timedelta(minutes=30))
        unpaid = reserve(c, APP, STOCK, B, 1, ttl=timedelta(minutes=30))
        confirm_reservation(c, APP, paid)
    frozen_clock.advance(timedelta(hours=1))
    with ldb.write() as c:
        with pytest.raises(Conflict):
            confirm_reservation(c, APP, unpaid)
    assert sweep_expired(ldb) == 1
    with ldb.write() as c:
        assert expire_due(c, APP) == 0
        assert [r["state"] for r in get_reservations(c, APP, STOCK, state="active")] == ["active"] * 3
    assert verify(ldb, APP) == []


def test_ship_of_expired_reservation_needs_available(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 5)
        rid = reserve(c, APP, STOCK, A, 5, ttl=timedelta(minutes=30))
    frozen_clock.advance(timedelta(minutes=40))
    with ldb.write() as c:
        ship(c, APP, STOCK, A, 5, reservation=rid)
    with ldb.read() as c:
        assert bal(c)["on_hand"] == 0 and bal(c)["reserved"] == 0
        assert [m["kind"] for m in movements(c, APP, STOCK)][-2:] == ["expire", "ship"]
    assert verify(ldb, APP) == []


def test_release_partial_and_document_cancel(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 10)
        receipt(c, APP, STOCK, B, 10)
        res = post(c, APP, STOCK, "reserve", [MoveLine(A, 4, line=1), MoveLine(B, 5, line=2)],
                   doc=Doc("sales_order", 9)).reservations
        release(c, APP, STOCK, res[0], 1)
        ship(c, APP, STOCK, {}, 2, reservation=res[1])
        release_document(c, APP, STOCK, "sales_order", 9, reason="cancel")
        with pytest.raises(Conflict):
            ship(c, APP, STOCK, {}, 1, reservation=res[0])
    with ldb.read() as c:
        assert bal(c, item=1)["reserved"] == 0 and bal(c, item=2)["reserved"] == 0
        assert bal(c, item=2)["on_hand"] == 8
        assert {r["state"] for r in get_reservations(c, APP, STOCK, entity="sales_order", doc_id=9)} == {"released"}
    assert verify(ldb, APP) == []


def test_fefo_near_expiry_quarantine(ldb, frozen_clock):
    expiry = {101: date(2026, 2, 20), 102: date(2026, 3, 10), 103: date(2026, 3, 5), 104: None}
    with ldb.write() as c:
        for b, q in ((101, 5), (102, 5), (103, 5), (104, 5)):
            receipt(c, APP, STOCK, {**A, "batch": b}, q)
        reserve(c, APP, STOCK, {**A, "batch": 103}, 2)
        got = allocate_fefo(c, APP, STOCK, 1, 10, 10, expiry, today=date(2026, 3, 1))
        assert got == [(103, Decimal(3)), (102, Decimal(5)), (104, Decimal(2))]
        with pytest.raises(StockConflict):
            allocate_fefo(c, APP, STOCK, 1, 10, 14, expiry.get, today=date(2026, 3, 1))
        near = near_expiry(c, APP, STOCK, expiry, 7, today=date(2026, 3, 1), item=1)
        assert [(r["batch"], r["days_left"]) for r in near] == [(101, -9), (103, 4)]
        moved = quarantine_expired(c, APP, STOCK, expiry, today=date(2026, 3, 1))
        assert moved == [{"item": 1, "warehouse": 10, "batch": 101, "qty": Decimal(5)}]
        assert bal(c, batch=101)["quarantine"] == 5 and bal(c, batch=101)["on_hand"] == 0
    assert verify(ldb, APP) == []


def test_moving_average(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 10, unit_cost="2.00")
        receipt(c, APP, STOCK, A, 5, unit_cost="3.50")
        ship(c, APP, STOCK, A, 6)
        receipt(c, APP, STOCK, A, 3)  # no cost: at the average
        v = valuation(c, APP, STOCK, 1, 10)
        assert v["avg_cost"] == Decimal("2.5") and v["qty"] == 12 and v["value"] == Decimal("30")
        receipt(c, APP, STOCK, A, 1, unit_cost="0.01")
        v = valuation(c, APP, STOCK, 1, 10)
        assert v["value"] == Decimal("30.01") and v["avg_cost"] == Decimal("2.30846154")
        ship(c, APP, STOCK, A, 13)
        assert valuation(c, APP, STOCK, 1, 10)["value"] == 0


def test_verify_reports_every_difference(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 5)
        receipt(c, APP, STOCK, B, 3)
        c.execute(sa.update(balance).where(balance.c.key.like("%\"2\"%")).values(on_hand=4000, in_transit=1000))
    diffs = verify(ldb, APP)
    assert {(d.dims["item"], d.bucket, d.stored, d.rebuilt) for d in diffs} == {
        (2, "on_hand", 4000, 3000), (2, "in_transit", 1000, 0)}


def test_movements_since_until(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 5)
    counted = frozen_clock.advance(timedelta(days=1))
    with ldb.write() as c:
        ship(c, APP, STOCK, A, 1, user="sales")
        receipt(c, APP, STOCK, B, 1)
    with ldb.read() as c:
        trace = movements(c, APP, STOCK, item=1, warehouse=10, since=counted)
        assert [(m["kind"], m["user"], m["on_hand"]) for m in trace] == [("ship", "sales", -1)]
        assert len(movements(c, APP, STOCK, until=counted)) == 1


def test_ledger_spec_accepted_and_hook_lists_kinds(ldb, frozen_clock):
    spec = LedgerSpec(name="stock", dimensions=[{"name": "item"}, {"name": "warehouse"}], scale=2)
    with ldb.write() as c:
        receipt(c, APP, spec, {"item": "1", "warehouse": 10}, "1.25")
        assert balances(c, APP, spec, item=1)[0]["on_hand"] == Decimal("1.25")
    names = {k.name for k in hooks.collect("jimu_ledger_posting_kinds")}
    assert {"receipt", "reserve", "release", "ship", "transfer_out", "transfer_in", "adjust",
            "quarantine", "on_order"} <= names


def test_platform_layer_imports_nothing_above():
    root = pathlib.Path(__file__).resolve().parents[3] / "jimu" / "platform" / "ledger"
    for path in root.glob("*.py"):
        for node in ast.walk(pyast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("jimu.runtime", "jimu.designer", "jimu.templates_market")), path

"""The driver-level hot path (rawsql) writes exactly what the Core path writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from jimu.core.errors import StockConflict
from jimu.platform.ledger import (
    Doc,
    MoveLine,
    as_ledger,
    balances,
    get_reservations,
    movements,
    post,
    receipt,
    reserve,
    verify,
)
from jimu.platform.ledger.tables import movement, reservation
from jimu.platform.specs import LedgerSpec
from tests.platform.ledger._ledger_workers import APP, STOCK

A = {"item": 1, "warehouse": 10}


def _rows(conn, table, ids):
    return [dict(r._mapping) for r in conn.execute(sa.select(table).where(table.c.id.in_(ids)).order_by(table.c.id))]


def test_one_line_reserve_matches_general_path(ldb, frozen_clock):
    """A one-line reserve (hot path) and a two-line reserve (Core path) store the same columns."""
    doc = Doc("sales_order", 9, 3, "submit")
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 10)
        fast = post(c, APP, STOCK, "reserve", [MoveLine(A, 2, line=3)], doc=doc, user="sales",
                    reason="hold", ttl=timedelta(minutes=30))
        slow = post(c, APP, STOCK, "reserve", [MoveLine(A, 2, line=3), MoveLine(A, 1, line=4)], doc=doc,
                    user="sales", reason="hold", ttl=timedelta(minutes=30))
    with ldb.read() as c:
        f_res, s_res = _rows(c, reservation, fast.reservations), _rows(c, reservation, slow.reservations[:1])
        f_mov, s_mov = _rows(c, movement, fast.movements), _rows(c, movement, slow.movements[:1])
        bal = balances(c, APP, STOCK, **A)[0]
        res = get_reservations(c, APP, STOCK, entity="sales_order", doc_id=9)
        mv = movements(c, APP, STOCK, **A)
    for fast_row, slow_row, skip in ((f_res[0], s_res[0], {"id"}), (f_mov[0], s_mov[0], {"id", "reservation_id"})):
        assert {k: v for k, v in fast_row.items() if k not in skip} == \
               {k: v for k, v in slow_row.items() if k not in skip}
    assert f_mov[0]["reservation_id"] == fast.reservations[0]
    assert f_res[0]["expires_at"] == frozen_clock.now() + timedelta(minutes=30)
    assert f_res[0]["dims"] == {"item": 1, "warehouse": 10, "batch": None}
    assert str(bal["reserved"]) == "5.000" and str(bal["available"]) == "5.000"
    assert [r["state"] for r in res] == ["active"] * 3
    assert mv[1]["user"] == "sales" and mv[1]["document"] == {"entity": "sales_order", "id": "9", "line": "3"}
    assert verify(ldb, APP) == []


def test_hot_path_refusal_writes_nothing(ldb, frozen_clock):
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 3)
        reserve(c, APP, STOCK, A, 3)
    with pytest.raises(StockConflict, match="requested 1"), ldb.write() as c:
        reserve(c, APP, STOCK, A, 1)
    with pytest.raises(StockConflict), ldb.write() as c:
        reserve(c, APP, STOCK, {"item": 99, "warehouse": 10}, 1)  # no balance row yet
    with ldb.read() as c:
        assert len(get_reservations(c, APP, STOCK)) == 1
        assert len(movements(c, APP, STOCK)) == 2
    assert verify(ldb, APP) == []


def test_hot_path_expired_hold_frees_stock(ldb, frozen_clock):
    """The hot path's failed guard falls back to lazy expiry of the key, then succeeds."""
    with ldb.write() as c:
        receipt(c, APP, STOCK, A, 2)
        reserve(c, APP, STOCK, A, 2, ttl=timedelta(minutes=30))
    frozen_clock.advance(timedelta(minutes=31))
    with ldb.write() as c:
        rid = reserve(c, APP, STOCK, A, 2)
    with ldb.read() as c:
        states = {r["id"]: r["state"] for r in get_reservations(c, APP, STOCK)}
    assert states[rid] == "active" and sorted(states.values()) == ["active", "expired"]
    assert verify(ldb, APP) == []


def test_as_ledger_caches_by_content():
    spec = LedgerSpec.model_validate({"name": "stock", "dimensions": [{"name": "item"}, {"name": "warehouse"}],
                                      "scale": 2})
    first = as_ledger(spec)
    assert as_ledger(spec) is first
    spec.scale = 3  # edited in place: a new conversion, never the stale one
    assert as_ledger(spec).scale == 3


def test_sqlite_timestamp_text_matches_core():
    """The hot path's timestamp text is what SQLAlchemy's SQLite DateTime writes (via TZDateTime)."""
    from datetime import UTC, datetime, timezone

    from sqlalchemy.dialects import sqlite

    from jimu.platform.db import TZDateTime
    from jimu.platform.ledger.rawsql import ts, ts_sqlite

    dialect = sqlite.dialect()
    core = TZDateTime().dialect_impl(dialect).bind_processor(dialect)
    for value in (datetime(2026, 3, 1, 9, 0, tzinfo=UTC), datetime(2026, 3, 1, 9, 0, 5, 7, tzinfo=UTC),
                  datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=8))),
                  datetime(2026, 6, 1, 12, 30)):
        assert ts_sqlite(value) == ts("sqlite", value) == core(value)


def test_key_texts_keeps_equal_text_apart():
    """Cached key/JSON pairs: 7 and "7" share the balance key but keep their own JSON."""
    import json

    lg = as_ledger(STOCK)
    for dims in ({"item": 7, "warehouse": "10"}, {"item": "7", "warehouse": "10"}, {"item": 7, "warehouse": "10"},
                 {"item": 7.5, "warehouse": 1}, {"item": "苹果", "warehouse": 2, "batch": None}):
        full = lg.dims(dims)
        assert lg.key_texts(full) == (lg.key(full), json.dumps(full))
    same_key = [lg.key_texts(lg.dims({"item": item, "warehouse": 1}))[0] for item in (7, "7")]
    assert same_key[0] == same_key[1]

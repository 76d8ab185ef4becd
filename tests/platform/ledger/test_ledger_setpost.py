"""Set-based postings (jimu/platform/ledger/setpost.py): a document of many lines costs a
number of statements that does not grow with its lines, and keeps the guard's semantics
(new rows, refusals, lazy expiry, negative-stock ledgers) on both backends."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from jimu.core.errors import StockConflict
from jimu.platform.ledger import (
    MoveLine,
    balances,
    get_reservations,
    movements,
    post,
    receipt,
    reserve,
    valuation,
    verify,
)
from jimu.platform.ledger.setpost import violates
from tests.platform.ledger._ledger_workers import APP, LOOSE, STOCK


@contextmanager
def counting(conn) -> Iterator[Callable[[], int]]:
    """Count the statements the database executes on ``conn`` (SQLite: its trace callback,
    every statement run; PostgreSQL: libpq's protocol trace, every Execute/Query message,
    so one executemany row counts as one)."""
    raw = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite":
        seen: list[str] = []
        raw.set_trace_callback(seen.append)
        try:
            yield lambda: len(seen)
        finally:
            raw.set_trace_callback(None)
        return
    from psycopg import pq

    with tempfile.TemporaryFile("w+") as f:
        raw.pgconn.trace(f.fileno())
        raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

        def count() -> int:
            f.flush()
            f.seek(0)
            return sum(1 for line in f if line.startswith("F\t") and line.split("\t")[2] in ("Execute", "Query"))

        try:
            yield count
        finally:
            raw.pgconn.untrace()


def _dims(i: int) -> dict[str, int]:
    return {"item": i, "warehouse": 10}


def _statements(ldb, n: int, first: int) -> tuple[int, int]:
    """Statements of a receipt of ``n`` new keys, then of an adjust of the same keys."""
    with ldb.write() as c:
        with counting(c) as count:
            post(c, APP, STOCK, "receipt", [MoveLine(_dims(first + i), 5, unit_cost="2.5") for i in range(n)])
            new_rows = count()
    with ldb.write() as c:
        with counting(c) as count:
            post(c, APP, STOCK, "adjust", [MoveLine(_dims(first + i), -1) for i in range(n)], reason="count")
            existing = count()
    return new_rows, existing


def test_statements_do_not_grow_with_lines(ldb, frozen_clock):
    """A posting of 400 lines runs as many statements as one of 20 (new rows and existing
    rows alike). Mutation: update_balances looping ``_try`` per key for any number of keys
    (the code before setpost): SQLite ran (1204, 403) statements for 400 lines against
    (64, 23) for 20 and the test failed."""
    _statements(ldb, 3, 5000)  # one-time work (a registered guard creating its table) not counted
    small = _statements(ldb, 20, 0)
    large = _statements(ldb, 400, 1000)
    assert large == small, (small, large)
    assert max(large) <= 15, large
    with ldb.read() as c:
        assert len(balances(c, APP, STOCK)) == 423
        assert all(r["on_hand"] == 4 for r in balances(c, APP, STOCK))
        assert valuation(c, APP, STOCK, 1005, 10)["value"] == 10  # 4 x 2.5
    assert verify(ldb, APP) == []


def test_new_row_refused_in_many_line_posting_leaves_nothing(ldb, frozen_clock):
    """A ship of a key that has no balance row yet, among keys that have stock: refused
    (the new row the upsert wrote breaks the guard), its line named with available 0,
    nothing applied. Mutation: update_balances not checking the returned new rows with
    ``violates`` (the ship went through, on_hand -2 on a new row)."""
    with ldb.write() as c:
        post(c, APP, STOCK, "receipt", [MoveLine(_dims(1), 5), MoveLine(_dims(2), 5)])
    with pytest.raises(StockConflict) as ei, ldb.write() as c:
        post(c, APP, STOCK, "ship", [MoveLine(_dims(1), 1), MoveLine(_dims(3), 2), MoveLine(_dims(2), 1)])
    assert [e.field for e in ei.value.errors] == ["lines.1.qty"]
    assert "requested 2" in ei.value.message and "available 0" in ei.value.message
    with ldb.read() as c:
        assert {r["item"]: r["on_hand"] for r in balances(c, APP, STOCK)} == {1: 5, 2: 5}
        assert len(movements(c, APP, STOCK)) == 2
    assert verify(ldb, APP) == []


def test_refused_stored_row_frees_due_reservations_then_posts(ldb, frozen_clock):
    """Lazy expiry in a many-line posting: the guard refuses the key whose stock an
    expired hold still blocks, its due reservation expires, the retry passes and the
    other keys are applied once. Mutation: dropping the expire_key retry in _update_many
    (StockConflict)."""
    with ldb.write() as c:
        post(c, APP, STOCK, "receipt", [MoveLine(_dims(1), 3), MoveLine(_dims(2), 3)])
        reserve(c, APP, STOCK, _dims(1), 3, ttl=timedelta(minutes=30))
    frozen_clock.advance(timedelta(minutes=31))
    with ldb.write() as c:
        post(c, APP, STOCK, "ship", [MoveLine(_dims(1), 2), MoveLine(_dims(2), 1)])
    with ldb.read() as c:
        rows = {r["item"]: r for r in balances(c, APP, STOCK)}
        assert (rows[1]["on_hand"], rows[1]["reserved"], rows[2]["on_hand"]) == (1, 0, 2)
        assert [m["kind"] for m in movements(c, APP, STOCK, item=1)] == ["receipt", "reserve", "expire", "ship"]
    assert verify(ldb, APP) == []


def test_negative_ledger_many_lines_new_and_stored_rows(ldb, frozen_clock):
    """A ledger allowing negative stock ships from new and stored rows in one posting;
    its quarantine bucket still may not go below zero (stored or new row). Mutation: the SQL guard checking
    on_hand also on such a ledger (the stored row's ship refused)."""
    loose = lambda i: {"item": i, "warehouse": 10}  # noqa: E731
    with ldb.write() as c:
        receipt(c, APP, LOOSE, loose(1), 1)
        post(c, APP, LOOSE, "ship", [MoveLine(loose(1), 4), MoveLine(loose(2), 2)])
    with pytest.raises(StockConflict), ldb.write() as c:
        post(c, APP, LOOSE, "unquarantine", [MoveLine(loose(1), 1), MoveLine(loose(3), 1)])
    with ldb.read() as c:
        assert {r["item"]: r["on_hand"] for r in balances(c, APP, LOOSE)} == {1: -3, 2: -2}
    assert verify(ldb, APP, "loose") == []


@pytest.mark.parametrize(("have", "change", "loose", "refused"), [
    ({"on_hand": 5}, {"on_hand": -5}, False, False),
    ({"on_hand": 5}, {"on_hand": -6}, False, True),
    ({"on_hand": 5, "reserved": 2}, {"on_hand": -4}, False, True),  # available 1
    ({"on_hand": 5, "reserved": 2}, {"reserved": 3}, False, False),
    ({"on_hand": 5, "reserved": 2}, {"reserved": 4}, False, True),
    ({"on_hand": -3}, {"on_hand": 1}, False, False),  # going up is never refused
    ({"on_hand": 0}, {"on_hand": -2, "reserved": 1}, True, False),
    ({"quarantine": 1}, {"quarantine": -2, "on_hand": 2}, True, True),
    ({"in_transit": 0}, {"in_transit": -1}, True, True),
])
def test_violates_is_the_guarded_update(have, change, loose, refused):
    """The Python guard agrees with the guarded UPDATE's WHERE case by case. Mutation:
    the available check also on a negative-stock ledger (the 7th case refused)."""
    full = {b: have.get(b, 0) for b in ("on_hand", "reserved", "in_transit", "on_order", "quarantine")}
    assert violates(full, change, loose) is refused


def _ship_reserved(ldb, n: int, first: int) -> tuple[int, int]:
    """Statements of a ship consuming ``n`` reservations (one partly), then of a release of
    the rest, on stock received and reserved beforehand."""
    with ldb.write() as c:
        post(c, APP, STOCK, "receipt", [MoveLine(_dims(first + i), 5) for i in range(n)])
        ids = post(c, APP, STOCK, "reserve", [MoveLine(_dims(first + i), 3) for i in range(n)]).reservations
    with ldb.write() as c:
        with counting(c) as count:
            post(c, APP, STOCK, "ship", [MoveLine({}, 3 if i else 1, reservation=rid) for i, rid in enumerate(ids)])
            shipped = count()
    with ldb.write() as c:
        with counting(c) as count:
            post(c, APP, STOCK, "release", [MoveLine({}, None, reservation=ids[0])])
            released = count()
    return shipped, released


def test_reservations_closed_in_one_statement(ldb, frozen_clock):
    """A ship consuming 40 reservations runs as many statements as one consuming 3, and
    the reservations end right: consumed, or open with the rest. Mutation: one UPDATE per
    reservation in close_reservations (the code before write_reservations): SQLite ran
    47 statements for the 40-line ship against 10 for 3 and the test failed."""
    _ship_reserved(ldb, 2, 5000)  # one-time work not counted
    small = _ship_reserved(ldb, 3, 0)
    large = _ship_reserved(ldb, 40, 1000)
    assert large == small, (small, large)
    with ldb.read() as c:
        states = {r["dims"]["item"]: (r["state"], r["open_qty"]) for r in get_reservations(c, APP, STOCK)}
    assert states[1000] == ("released", 0) and states[0] == ("released", 0)
    assert states[1001] == ("consumed", 0) and states[1039] == ("consumed", 0)
    assert verify(ldb, APP) == []


def test_array_joins_never_run_a_cached_generic_plan(ldb, frozen_clock):
    """After a run of one-line postings (each valuing its item through the valuation's
    array join) a many-line posting on the same connection still values every line right,
    and on PostgreSQL the array-join statements were never prepared on the server, so the
    5,000-line stocktake post cannot meet the generic plan PostgreSQL caches after five
    executions (a nested loop assuming 10 array elements: 19 s instead of 50 ms in
    ``bench_stocktake.py``). Mutation: ``rawsql.execute_planned`` calling
    ``cur.execute(sql, params)`` without ``prepare=False`` (the join statements showed up
    in ``pg_prepared_statements`` and the test failed)."""
    with ldb.write() as c:
        post(c, APP, STOCK, "receipt", [MoveLine(_dims(i), 5, unit_cost="2") for i in range(30)])
        for i in range(8):  # psycopg prepares a statement at its 5th execution
            post(c, APP, STOCK, "adjust", [MoveLine(_dims(i), -1)], reason="one line")
        post(c, APP, STOCK, "adjust", [MoveLine(_dims(i), 2) for i in range(30)], reason="many lines")
        if c.dialect.name == "postgresql":
            prepared = [s for (s,) in c.exec_driver_sql("SELECT statement FROM pg_prepared_statements")]
            joined = [s for s in prepared if "unnest" in s and "jimu_ledger_valuation AS t" in s]
            assert joined == [], joined
            assert prepared, "psycopg prepared nothing: the check above would prove nothing"
    with ldb.read() as c:
        assert {r["item"]: r["on_hand"] for r in balances(c, APP, STOCK)} == {
            i: (6 if i < 8 else 7) for i in range(30)}
        assert valuation(c, APP, STOCK, 3, 10)["value"] == 12  # 6 x 2
        assert valuation(c, APP, STOCK, 20, 10)["value"] == 14  # 7 x 2
    assert verify(ldb, APP) == []

"""Zero oversell under concurrency (threads and processes), no deadlock for multi-line
documents locking the same rows in opposite orders, and consistency after SIGKILL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import tests.platform.ledger._ledger_workers as workers
from jimu.core.errors import StockConflict
from jimu.platform.db import Database
from jimu.platform.ledger import MoveLine, balances, movements, post, receipt, verify
from tests.platform.ledger._ledger_workers import STOCK

ROOT = Path(__file__).resolve().parents[3]
ITEM = {"item": 1, "warehouse": 10}


def _stock(db, app, qty, dims=ITEM):
    with db.write() as c:
        receipt(c, app, STOCK, dims, qty)


def _run_threads(n, target):
    errors: list[BaseException] = []

    def wrap(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


def test_threads_exactly_100_of_500_reservations(ldb):
    _stock(ldb, "t", 100)
    ok, refused = [0] * 8, [0] * 8

    def worker(i):
        db = Database(ldb.url)  # its own engine and connections
        try:
            for _ in range(500 // 8 + (1 if i < 500 % 8 else 0)):
                try:
                    with db.write() as c:
                        post(c, "t", STOCK, "reserve", [MoveLine(ITEM, 1)])
                    ok[i] += 1
                except StockConflict:
                    refused[i] += 1
        finally:
            db.dispose()

    _run_threads(8, worker)
    assert sum(ok) == 100 and sum(refused) == 400
    with ldb.read() as c:
        row = balances(c, "t", STOCK)[0]
        assert row["reserved"] == 100 and row["available"] == 0 and row["on_hand"] == 100
    assert verify(ldb, "t") == []


def test_opposite_order_multiline_no_deadlock(ldb):
    x, y = {"item": 1, "warehouse": 10}, {"item": 2, "warehouse": 10}
    _stock(ldb, "d", 150, x)
    _stock(ldb, "d", 150, y)
    ok = [0] * 6

    def worker(i):
        lines = [MoveLine(x, 1), MoveLine(y, 1)] if i % 2 else [MoveLine(y, 1), MoveLine(x, 1)]
        for _ in range(40):
            try:
                with ldb.write() as c:
                    post(c, "d", STOCK, "reserve", lines)
                    time.sleep(0.0005)  # hold the locks a little, inviting a deadlock
                ok[i] += 1
            except StockConflict:
                pass

    _run_threads(6, worker)  # any deadlock error would surface in _run_threads
    assert sum(ok) == 150
    with ldb.read() as c:
        assert [r["reserved"] for r in balances(c, "d", STOCK)] == [150, 150]
    assert verify(ldb, "d") == []


def test_processes_exactly_100(ldb):
    _stock(ldb, "p", 100)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(workers.reserve_units, [(ldb.url, "p", 125)] * 4)
    assert sum(r[0] for r in results) == 100 and sum(r[1] for r in results) == 400
    with ldb.read() as c:
        assert balances(c, "p", STOCK)[0]["reserved"] == 100
    assert verify(ldb, "p") == []


def _start(url, app):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "tests.platform.ledger._ledger_workers", url, app],
                            stdout=subprocess.PIPE, env=env, text=True, cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _wait_for_a_ship(db, app, timeout=30.0):
    """Until the churn process has committed one more ship than before (at most ``timeout``)."""
    def ships():
        with db.read() as c:
            return sum(1 for m in movements(c, app, STOCK) if m["kind"] == "ship")

    before, end = ships(), time.monotonic() + timeout
    while ships() == before and time.monotonic() < end:
        time.sleep(0.02)


def test_sigkill_mid_run_leaves_consistent_ledger(ldb):
    initial = 0
    for item in (1, 2):
        for wh in (10, 20):
            _stock(ldb, "k", 400, {"item": item, "warehouse": wh})
            initial += 400
    for round_ in range(3):
        proc = _start(ldb.url, "k")
        _wait_for_a_ship(ldb, "k")  # a loaded machine may take longer than the sleep to start
        time.sleep(0.25 + 0.1 * round_)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert verify(ldb, "k") == []
    with ldb.read() as c:
        stock = sum(r["on_hand"] + r["in_transit"] for r in balances(c, "k", STOCK))
        moves = movements(c, "k", STOCK)
        shipped = -sum(m["on_hand"] for m in moves if m["kind"] == "ship")
    assert shipped > 0 and stock + shipped == initial

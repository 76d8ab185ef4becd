"""A thread keeps its write connection between its write transactions (issue 24: the
pool's check-out and check-in cost a create as much as its ``BEGIN IMMEDIATE``): the same
connection serves the thread's next write, a failed transaction gives it back to the pool,
only ``MAX_KEPT_WRITERS`` threads keep one, and a thread that ended gives its back. The
pool's listeners still run (the wake-ups after a commit: ``test_wakeup.py``)."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform import db as db_mod
from jimu.platform.db import Database
from tests.platform._pg_kill import terminate_backend


def _raw(c: sa.Connection) -> Any:
    return c.connection.dbapi_connection


def _table(db: Database) -> None:
    with db.write() as c:
        c.execute(sa.text("CREATE TABLE kept_probe (x INTEGER)"))


def test_a_threads_writes_share_one_connection(db: Database) -> None:
    """Mutation: ``write()`` always on a connection of the pool (SQLite's LIFO pool hands
    back the same connection, so the check is on the SQLAlchemy connection too)."""
    _table(db)
    with db.write() as c:
        first, first_raw = c, _raw(c)
    with db.write() as c:
        assert c is first and _raw(c) is first_raw
        c.execute(sa.text("INSERT INTO kept_probe VALUES (1)"))
    with db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM kept_probe")).scalar_one() == 1


def test_a_failed_write_gives_its_connection_back(db: Database) -> None:
    """The failed transaction is rolled back, its connection goes back to the pool (whose
    reset rolls back what the driver may hold) and the next write keeps another
    SQLAlchemy connection. Mutation: ``done`` keeping it after an error (the next write
    gets the same connection object)."""
    _table(db)
    with db.write() as c:
        kept = c
    with pytest.raises(RuntimeError), db.write() as c:
        assert c is kept
        c.execute(sa.text("INSERT INTO kept_probe VALUES (1)"))
        raise RuntimeError("refused")
    assert kept.closed
    with db.write() as c:
        assert c is not kept
        c.execute(sa.text("INSERT INTO kept_probe VALUES (2)"))
    with db.read() as c:
        assert c.execute(sa.text("SELECT x FROM kept_probe")).scalars().all() == [2]


@pytest.mark.skipif(not os.environ.get("JIMU_TEST_PG_URL"), reason="needs JIMU_TEST_PG_URL")
def test_a_write_nested_in_the_threads_own_gets_another_connection(make_db_url) -> None:
    """On PostgreSQL (on SQLite the nested writer would wait for the outer one's database
    lock, as it did before connections were kept): another connection the thread keeps
    (as the event loop's concurrent writes do, ``test_cooperative_requests.py``).
    Mutation: ``kept_writers.ThreadKept.take`` ignoring ``busy`` (the outer connection, in its
    transaction, is closed under it)."""
    db = Database(make_db_url("pg"))
    try:
        _table(db)
        with db.write() as outer:
            outer.execute(sa.text("INSERT INTO kept_probe VALUES (1)"))
            with db.write() as inner:
                assert inner is not outer
                inner.execute(sa.text("INSERT INTO kept_probe VALUES (2)"))
            with db.read() as c:  # the inner write committed on its own
                assert c.execute(sa.text("SELECT x FROM kept_probe")).scalars().all() == [2]
        with db.read() as c:
            assert sorted(c.execute(sa.text("SELECT x FROM kept_probe")).scalars()) == [1, 2]
    finally:
        db.dispose()


def test_only_so_many_threads_keep_one_and_ended_threads_give_theirs_back(db: Database) -> None:
    """``MAX_KEPT_WRITERS`` + 2 threads write at once (each then waits): the last ones
    use the pool (this test's thread keeps one too). Once they have ended, the next
    thread's first write closes theirs.
    Mutations: no limit (every thread keeps one: the pool runs dry under a burst of
    worker threads), no clean-up of ended threads (the dict keeps growing)."""
    _table(db)
    n = db_mod.MAX_KEPT_WRITERS + 2
    wrote = threading.Barrier(n + 1)
    finish = threading.Event()
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            with db.write() as c:
                c.execute(sa.text("INSERT INTO kept_probe VALUES (:x)"), {"x": i})
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        wrote.wait(30)
        finish.wait(30)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    wrote.wait(30)
    assert not errors
    assert len(db._writers) == db_mod.MAX_KEPT_WRITERS
    finish.set()
    for t in threads:
        t.join(30)
    # A new thread's first write closes the ended threads' connections (this test's own
    # thread keeps the one it made the table with).
    fresh = threading.Thread(target=worker, args=(-1,))
    wrote = threading.Barrier(1)
    fresh.start()
    fresh.join(30)
    assert not errors
    assert {kept.thread for kept in db._writers.values()} == {threading.current_thread(), fresh}
    with db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM kept_probe")).scalar_one() == n + 1


@pytest.mark.skipif(not os.environ.get("JIMU_TEST_PG_URL"), reason="needs JIMU_TEST_PG_URL")
def test_a_kept_connection_the_server_closed_is_replaced(make_db_url) -> None:
    """``pg_terminate_backend`` on the kept connection's backend between two writes (as a
    server restart does): the pool's check-out listener runs before the reuse, finds the
    socket closed and the write gets a new connection. Mutation: ``reuse`` without the
    check-out listeners (the write fails with OperationalError)."""
    db = Database(make_db_url("pg"))
    try:
        with db.write() as c:
            victim = int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        terminate_backend(os.environ["JIMU_TEST_PG_URL"], victim)
        with db.write() as c:
            assert int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()) != victim
    finally:
        db.dispose()

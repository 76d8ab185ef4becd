"""Requests whose PostgreSQL round trips wait on the event loop (``jimu.platform.cooperative``):
while one request waits for its answer another runs; what a request raises, a cancelled one
included, reaches its caller with its connection left usable; the requests in flight are
bounded; outside :func:`run` (and on SQLite) the statements block as before.

Each test names the mutation it was seen failing on."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform import cooperative
from jimu.platform.db import Database
from jimu.platform.pgdirect import NOT_DIRECT
from jimu.platform.pgtail import direct

_seen: contextvars.ContextVar[str] = contextvars.ContextVar("test_cooperative_seen", default="unset")


def _select(db: Database, sql: str, args: dict[str, Any]) -> Any:
    """``sql`` read straight through libpq on a connection of the read pool."""
    with db.read() as c:
        got = direct(c, sql, args, True)
        assert got is not NOT_DIRECT
        return got[1]


def _slow_beside_quick(db: Database, slow_part: Any) -> tuple[list[str], float]:
    """``slow_part()`` (about 0.6 s on the server) and a quick read, each in a request of
    its own on one loop: the order they ended in, and the seconds the two took."""
    done: list[str] = []

    def slow() -> None:
        slow_part()
        done.append("slow")

    def quick() -> None:
        assert _select(db, "SELECT %(v)s::int", {"v": 7}) == (7,)
        done.append("quick")

    async def both() -> float:
        started = time.perf_counter()
        await asyncio.gather(cooperative.run(slow), cooperative.run(quick))
        return time.perf_counter() - started

    return done, asyncio.run(both())


def test_a_request_runs_while_another_waits(db: Database) -> None:
    """Mutation: ``readable`` returning at once (the slow statement blocks the loop and
    finishes first)."""
    if db.is_sqlite:
        return
    done, took = _slow_beside_quick(db, lambda: _select(db, "SELECT pg_sleep(%(s)s)", {"s": 0.6}))
    assert done == ["quick", "slow"]
    assert took < 1.1  # not the two in turn


def test_an_error_reaches_the_caller_and_the_connection_stays_usable(db: Database) -> None:
    """Mutation: ``run`` catching the error the greenlet died of (answering None)."""
    if db.is_sqlite:
        return

    import psycopg

    def failing() -> None:
        _select(db, "SELECT 1 / %(z)s::int", {"z": 0})

    with pytest.raises(psycopg.errors.DivisionByZero):  # the driver's error, as ``direct`` raises it
        asyncio.run(cooperative.run(failing))
    assert asyncio.run(cooperative.run(_select, db, "SELECT %(v)s::int", {"v": 3})) == (3,)


def test_a_cancelled_request_finishes_its_round_trip_first(db: Database) -> None:
    """Mutation: ``run`` throwing the cancellation into the greenlet at once (the answer
    is never read: the connection goes back to the pool with it pending)."""
    if db.is_sqlite:
        return
    finished: list[Any] = []

    def waiting() -> None:
        finished.append(_select(db, "SELECT pg_sleep(%(s)s), %(v)s::int", {"s": 0.3, "v": 5}))

    async def cancel() -> None:
        task = asyncio.ensure_future(cooperative.run(waiting))
        other = asyncio.ensure_future(cooperative.run(_select, db, "SELECT pg_sleep(%(s)s)", {"s": 0.5}))
        await asyncio.sleep(0.1)  # both in their pg_sleep, waiting on the loop
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await other

    asyncio.run(cancel())
    assert finished == [("", 5)]  # the statement's answer was read, then the cancellation
    # The connection went back clean: the next read on the pool answers its own statement.
    assert _select(db, "SELECT %(v)s::int", {"v": 11}) == (11,)


def test_a_request_alone_waits_in_poll(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no other request inside ``run`` the wait stays psycopg's (the loop's turn
    costs more CPU than ``poll``); with two, each gives way. Mutation: ``readable``
    without the count of requests entered (the lone request's wait goes to the loop)."""
    if db.is_sqlite:
        return
    woken: list[int] = []
    wake = cooperative._wake

    def counted(done: Any) -> None:
        woken.append(1)
        wake(done)

    monkeypatch.setattr(cooperative, "_wake", counted)

    async def alone() -> Any:
        return await cooperative.run(_select, db, "SELECT %(v)s::int", {"v": 1})

    assert asyncio.run(alone()) == (1,)
    assert woken == []

    async def two() -> Any:
        return await asyncio.gather(*(cooperative.run(_select, db, "SELECT pg_sleep(%(s)s)", {"s": 0.05})
                                      for _ in range(2)))

    asyncio.run(two())
    assert len(woken) == 2


def test_the_requests_in_flight_are_bounded(db: Database) -> None:
    """Mutation: no semaphore in ``run`` (all twelve wait at once)."""
    if db.is_sqlite:
        return
    now = [0]
    most = [0]

    def one() -> None:
        now[0] += 1
        most[0] = max(most[0], now[0])
        try:
            _select(db, "SELECT pg_sleep(%(s)s)", {"s": 0.05})
        finally:
            now[0] -= 1

    async def many() -> None:
        await asyncio.gather(*(cooperative.run(one) for _ in range(cooperative.LIMIT + 4)))

    asyncio.run(many())
    assert most[0] == cooperative.LIMIT


def test_the_request_sees_its_context(db: Database) -> None:
    """Mutation: no ``gr_context`` copied into the greenlet (it sees the default)."""
    if db.is_sqlite:
        return

    def read() -> str:
        _select(db, "SELECT 1", {})
        return _seen.get()

    async def go() -> str:
        _seen.set("the request's")
        return await cooperative.run(read)

    assert asyncio.run(go()) == "the request's"


def test_outside_a_request_and_on_sqlite_statements_block(db: Database) -> None:
    """Outside :func:`run` a direct statement is answered without an event loop; with
    ``cooperative=False`` (SQLite) the function runs in the caller's greenlet. Mutation:
    ``readable`` switching whatever the greenlet (no loop here: it raises)."""
    from greenlet import getcurrent

    where: list[Any] = []

    def here() -> None:
        where.append(getcurrent())

    async def plain() -> None:
        await cooperative.run(here, cooperative=False)
        where.append(getcurrent())

    asyncio.run(plain())
    assert where[0] is where[1]
    if db.is_sqlite:
        return
    assert _select(db, "SELECT %(v)s::int", {"v": 2}) == (2,)


def test_a_queued_request_cancelled_leaves_the_slots_whole(db: Database) -> None:
    """``LIMIT`` + 1 requests, the first quick: the last one waits for a slot and is
    cancelled just as the first hands its slot over (before it runs again). The slot goes
    back, and afterwards none is held nor anyone queued. Mutation: ``run`` not passing on
    a slot handed to a request cancelled meanwhile (``running`` stays 1: a slot lost for
    good)."""
    if db.is_sqlite:
        return

    async def go() -> Any:
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Future[Any]] = []

        def quick() -> Any:
            got = _select(db, "SELECT %(v)s::int", {"v": 1})
            loop.call_soon(tasks[-1].cancel)  # runs after the hand-over, before the last request's turn
            return got

        tasks.append(asyncio.ensure_future(cooperative.run(quick)))
        tasks += [asyncio.ensure_future(cooperative.run(_select, db, "SELECT pg_sleep(%(s)s)", {"s": 0.2}))
                  for _ in range(cooperative.LIMIT)]
        done = await asyncio.gather(*tasks, return_exceptions=True)
        return done, cooperative._state(loop)

    done, state = asyncio.run(go())
    assert done[0] == (1,) and done[1:-1] == [("",)] * (cooperative.LIMIT - 1)
    assert isinstance(done[-1], asyncio.CancelledError)
    assert (state.running, list(state.queued), state.entered) == (0, [], 0)


def test_a_requests_greenlet_serves_the_next(db: Database) -> None:
    """Mutation: ``_run`` not keeping the greenlet (each request a new one, whose frame
    stack Python maps anew)."""
    from greenlet import getcurrent

    if db.is_sqlite:
        return
    seen: list[Any] = []

    def where() -> None:
        seen.append(getcurrent())

    async def go() -> None:
        await cooperative.run(where)
        await cooperative.run(where)

    asyncio.run(go())
    assert seen[0] is seen[1]


def test_a_request_alone_takes_a_turn_of_the_loop_at_most_every_gap(db: Database,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Five requests one after the other: the first takes a turn of the loop (to let the
    requests it queued start), the next four, within ``TURN_GAP``, wait in ``poll`` at
    once; once the gap has passed, a turn again. Mutation: no ``TURN_GAP`` (five turns)."""
    if db.is_sqlite:
        return
    turns: list[int] = []
    turn = cooperative._turn

    def counted() -> Any:
        turns.append(1)
        return turn()

    monkeypatch.setattr(cooperative, "_turn", counted)
    monkeypatch.setattr(cooperative, "TURN_GAP", 30.0)

    async def go() -> None:
        for _ in range(5):
            assert await cooperative.run(_select, db, "SELECT %(v)s::int", {"v": 4}) == (4,)
        assert len(turns) == 1
        cooperative._state(asyncio.get_running_loop()).turned_at -= 30.0
        await cooperative.run(_select, db, "SELECT 1", {})

    asyncio.run(go())
    assert len(turns) == 2


def test_a_backend_killed_mid_wait_fails_its_request_only(db: Database) -> None:
    """``pg_terminate_backend`` on a request's backend while it waits on the loop (as a
    server restart does): the reader wakes on the closed socket, that request raises the
    driver's error, and the request beside it is answered. Mutation: ``_wake`` doing
    nothing (no greenlet resumes when its socket is ready: a TimeoutError after 10 s)."""
    import os
    import threading

    import psycopg

    if db.is_sqlite:
        return
    from tests.platform._pg_kill import terminate_backend

    pid: list[int] = []

    def victim() -> None:
        with db.read() as c:
            pid.append(int(direct(c, "SELECT pg_backend_pid()", {}, True)[1][0]))
            direct(c, "SELECT pg_sleep(%(s)s)", {"s": 5}, True)

    def killer() -> None:
        while not pid:
            time.sleep(0.01)
        time.sleep(0.2)
        terminate_backend(os.environ["JIMU_TEST_PG_URL"], pid[0])

    async def go() -> list[Any]:
        both = asyncio.gather(cooperative.run(victim),
                              cooperative.run(_select, db, "SELECT pg_sleep(%(s)s), 9", {"s": 0.5}),
                              return_exceptions=True)
        return await asyncio.wait_for(both, 10)

    side = threading.Thread(target=killer)
    side.start()
    started = time.perf_counter()
    failed, answered = asyncio.run(go())
    side.join(10)
    assert isinstance(failed, psycopg.OperationalError), failed
    assert answered == ("", 9)
    assert time.perf_counter() - started < 4  # not the victim's 5 s


def test_a_write_transaction_never_gives_way(db: Database) -> None:
    """Two requests of one thread update the same row, then wait for a statement: the
    first holds the row's lock across that round trip, so it must not give way (the
    second's UPDATE, through a cursor, would block the thread on that lock and the first
    could never resume to release it). Mutation: ``readable`` without its autocommit
    check (the second fails on its 2 s ``lock_timeout`` instead of hanging)."""
    if db.is_sqlite:
        return
    with db.write() as c:
        c.execute(sa.text("CREATE TABLE t_coop_lock (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        c.execute(sa.text("INSERT INTO t_coop_lock VALUES (1, 0)"))

    def writer() -> None:
        with db.write() as c:
            c.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            c.execute(sa.text("UPDATE t_coop_lock SET n = n + 1 WHERE id = 1"))
            assert direct(c, "SELECT pg_sleep(%(s)s)", {"s": 0.2}, True) is not NOT_DIRECT

    async def go() -> None:
        await asyncio.gather(cooperative.run(writer), cooperative.run(writer))

    asyncio.run(go())
    with db.read() as c:
        assert c.execute(sa.text("SELECT n FROM t_coop_lock")).scalar_one() == 2


def _deferred_write(db: Database, table: str, last: str, args: dict[str, Any],
                    first: str | None = None) -> None:
    """A write transaction (``first``, if any, then an INSERT into ``table``) whose last
    statement ``last`` is deferred to its commit (:func:`jimu.platform.pgtail.defer`), as
    a record's audit and event rows are: it goes with the ``COMMIT`` in one round trip."""
    from jimu.platform.pgtail import defer

    with db.write() as c:
        if first is not None:
            c.execute(sa.text(first))
        c.execute(sa.text(f"INSERT INTO {table} (n) VALUES (1)"))
        assert defer(c, last, args, lambda conn: conn.exec_driver_sql(last, args))


def _slow_commits(db: Database, table: str, seconds: float) -> None:
    """``table`` (id, n) whose transactions inserting into it take ``seconds`` more at
    their COMMIT (a deferred constraint trigger sleeping)."""
    with db.write() as c:
        c.execute(sa.text(f"CREATE TABLE {table} (id SERIAL PRIMARY KEY, n INTEGER NOT NULL)"))
        c.execute(sa.text(f"CREATE FUNCTION {table}_slow() RETURNS trigger LANGUAGE plpgsql AS "
                          f"$$ BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$"))
        c.execute(sa.text(f"CREATE CONSTRAINT TRIGGER {table}_slow AFTER INSERT ON {table} "
                          f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {table}_slow()"))


def test_a_writes_commit_gives_way(db: Database) -> None:
    """The round trip that ends a write (its last statement and ``COMMIT``) waits on the
    loop: a COMMIT made slow (a deferred constraint trigger sleeping 0.6 s) lets a read
    of the same thread run and end first. Mutation: ``pipeline`` not passing ``ending``
    to ``readable`` (the commit blocks the loop; the read ends second)."""
    if db.is_sqlite:
        return
    _slow_commits(db, "t_coop_commit", 0.6)
    done, took = _slow_beside_quick(db, lambda: _deferred_write(db, "t_coop_commit", "SELECT %(v)s::int", {"v": 1}))
    assert done == ["quick", "slow"]
    assert took < 1.1
    with db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM t_coop_commit")).scalar_one() == 1


def test_a_failing_last_statement_ends_its_transaction_on_the_server(db: Database) -> None:
    """A write holding a row's lock whose deferred last statement fails while its commit
    waits on the loop: PostgreSQL aborts the transaction at the error and releases its
    locks then, so a request of the same thread updating that row through a cursor
    (blocking the thread) gets the lock without the first resuming (were the lock kept
    until the client's ROLLBACK, the second would fail on its 2 s ``lock_timeout``); the
    first gets the statement's error, its write rolled back whole, and the thread's write
    connection serves the next write. Mutation: ``pgtail._commit_with`` not raising the
    error answered (the failed write reported as committed)."""
    if db.is_sqlite:
        return
    import psycopg

    with db.write() as c:
        c.execute(sa.text("CREATE TABLE t_coop_fail (id SERIAL PRIMARY KEY, n INTEGER NOT NULL)"))
        c.execute(sa.text("INSERT INTO t_coop_fail (id, n) VALUES (0, 0)"))
        c.execute(sa.text("CREATE FUNCTION t_coop_fail_late(x int) RETURNS int LANGUAGE plpgsql AS "
                          "$$ BEGIN PERFORM pg_sleep(0.3); RETURN 1 / (x - x); END $$"))
    order: list[str] = []

    def failing() -> None:
        try:
            _deferred_write(db, "t_coop_fail", "SELECT t_coop_fail_late(%(x)s)", {"x": 1},
                            first="UPDATE t_coop_fail SET n = n + 10 WHERE id = 0")
        finally:
            order.append("failing")

    def blocked() -> None:
        with db.write() as c:
            c.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            c.execute(sa.text("UPDATE t_coop_fail SET n = n + 1 WHERE id = 0"))
        order.append("blocked")

    async def both() -> list[Any]:
        return await asyncio.gather(cooperative.run(failing), cooperative.run(blocked),
                                    return_exceptions=True)

    started = time.perf_counter()
    failed, updated = asyncio.run(both())
    assert updated is None, updated
    assert isinstance(getattr(failed, "orig", failed), psycopg.errors.DivisionByZero), failed
    assert order == ["blocked", "failing"]  # the second ran while the first waited
    assert time.perf_counter() - started < 1.5
    with db.read() as c:
        rows = c.execute(sa.text("SELECT id, n FROM t_coop_fail ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(0, 1)]  # the failing write rolled back whole
    asyncio.run(cooperative.run(_deferred_write, db, "t_coop_fail", "SELECT %(v)s::int", {"v": 4}))
    with db.read() as c:
        assert c.execute(sa.text("SELECT count(*), sum(n) FROM t_coop_fail")).one() == (2, 2)


def test_writes_commit_side_by_side_each_on_a_connection_of_its_own(db: Database) -> None:
    """Three writes of one thread whose COMMITs take 0.5 s each (a deferred constraint
    trigger) wait on the loop together: about 0.5 s for the three, each on a write
    connection the thread keeps (one not in use: the others are mid-commit), all
    committed. Mutation: ``kept_writers.ThreadKept.take`` handing out a kept connection in use (the
    second write blocks the thread on the first's connection, mid-commit: the test fails
    after 10 s, then hangs in its teardown)."""
    if db.is_sqlite:
        return
    _slow_commits(db, "t_coop_side", 0.5)

    async def three() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(cooperative.run(_deferred_write, db, "t_coop_side", "SELECT %(v)s::int", {"v": i})
                               for i in range(3)))
        return time.perf_counter() - started

    got: list[Any] = []
    side = threading.Thread(target=lambda: got.append(asyncio.run(three())), daemon=True)
    side.start()
    side.join(10)
    # The mutation hangs the thread on a psycopg connection's lock held mid-commit: the
    # test fails here, and its teardown then hangs closing that connection (loudly).
    assert not side.is_alive(), "the writes hung their thread"
    assert got and got[0] < 1.0, got  # not 1.5 s: the three commits overlapped
    with db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM t_coop_side")).scalar_one() == 3

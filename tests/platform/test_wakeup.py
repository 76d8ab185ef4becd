"""Wake-ups of background work (issue 24: an idle server sleeps instead of polling):
a marked transaction wakes this process's subscribers when it commits and not when it
rolls back; another process's commit wakes them through the database's watcher
(PostgreSQL LISTEN/NOTIFY, a SQLite file's change)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from jimu.platform import wakeup
from jimu.platform.db import Database


def _counter() -> tuple[threading.Event, list[int], Callable[[], None]]:
    hit = threading.Event()
    hits: list[int] = []

    def fn() -> None:
        hits.append(1)
        hit.set()

    return hit, hits, fn


def test_commit_wakes_rollback_does_not(db: Database) -> None:
    """Mutations caught: firing at commit time regardless of the mark (the rollback case
    wakes), or not moving the mark to check-in on commit (nothing wakes)."""
    with db.write() as c:  # the database file exists before the watcher looks at it
        c.execute(sa.text("CREATE TABLE wake_probe (x INTEGER)"))
    hit, hits, fn = _counter()
    unsubscribe = wakeup.subscribe(db.engine, ["due"], fn)
    try:
        with pytest.raises(RuntimeError), db.write() as c:
            wakeup.notify(c, "due")
            c.execute(sa.text("INSERT INTO wake_probe VALUES (1)"))
            raise RuntimeError("rolled back")
        assert not hit.wait(1.5) and hits == []  # neither in process nor by NOTIFY / file change
        with db.write() as c:
            wakeup.notify(c, "due")
            wakeup.notify(c, "due")  # once per transaction is enough
        assert hit.wait(5)
        with db.write() as c:
            c.execute(sa.text("SELECT 1"))  # an unmarked transaction wakes nobody in process
    finally:
        unsubscribe()
    assert not wakeup.watching(db.engine)


def test_another_process_commit_wakes_through_the_watcher(db: Database) -> None:
    """A second engine stands for another process: its commit reaches this engine's
    subscribers only through the watcher. Mutation caught: no watcher (``for_engine``
    returning None) or a LISTEN that never fires."""
    other = Database(db.url)
    hit, _hits, fn = _counter()
    unsubscribe = wakeup.subscribe(db.engine, ["events"], fn)
    try:
        assert wakeup.wait_watching(db.engine, 10)  # LISTEN issued / the file's first look taken
        with other.write() as c:
            c.execute(sa.text("CREATE TABLE wake_probe (x INTEGER)"))
            c.execute(sa.text("INSERT INTO wake_probe VALUES (1)"))
            wakeup.notify(c, "events")
        assert hit.wait(wakeup.FILE_POLL * 3 + 2)
    finally:
        unsubscribe()
        other.dispose()


def test_a_stream_of_notifies_wakes_in_batches(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: after a wake-up the watcher lets ``COALESCE`` seconds of NOTIFYs gather
    and wakes once for them, not once per commit. Mutation: drop the pause and each of
    the ten commits below wakes the subscribers (eleven wake-ups, not two)."""
    if db.is_sqlite:
        return
    monkeypatch.setattr(wakeup, "COALESCE", 1.0)
    other = Database(db.url)
    hit, hits, fn = _counter()
    unsubscribe = wakeup.subscribe(db.engine, ["events"], fn)
    try:
        assert wakeup.wait_watching(db.engine, 10)
        with other.write() as c:
            wakeup.notify(c, "events")
        assert hit.wait(10)
        for _ in range(10):  # within the watcher's pause
            with other.write() as c:
                wakeup.notify(c, "events")
        time.sleep(2.0)
        assert len(hits) == 2
    finally:
        unsubscribe()
        other.dispose()

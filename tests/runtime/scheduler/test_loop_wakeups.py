"""The scheduler and dispatcher loops sleep while idle and still act on time (issue 24):
the scheduler sleeps until the next due job, woken when one is queued; the dispatcher
sleeps until an event commits. Both run here with a 60 s fallback poll, so only the
wake-ups can make them act within the test's few seconds."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from jimu.core import clock
from jimu.runtime.events import dispatcher, emit
from jimu.runtime.events.tables import events
from jimu.runtime.scheduler import loop as sched_loop
from jimu.runtime.scheduler import register_job_kind, schedule_job
from jimu.runtime.workflow.tables import jobs


def _wait(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


def test_scheduler_sleeps_until_the_next_job_and_is_woken_when_one_is_queued(jimu, monkeypatch) -> None:
    """Idle: at most the first tick and the one the wake-up of queuing causes. A job due in
    1.5 s fires between 1.5 s and ~2.5 s later. Mutations caught: ``schedule_job`` not
    calling ``notify`` (the loop sleeps its 60 s), the loop waiting ``interval`` instead of
    until :func:`next_due` (woken at queue time, it then sleeps past the due time)."""
    ticks: list[float] = []
    real = sched_loop.run_due_jobs

    def counting(*a: Any, **kw: Any) -> int:
        ticks.append(time.monotonic())
        return real(*a, **kw)

    monkeypatch.setattr(sched_loop, "run_due_jobs", counting)
    fired: list[float] = []
    done = threading.Event()
    register_job_kind("test.ping", lambda ctx: (fired.append(time.monotonic()), done.set()))
    stop = sched_loop.start_scheduler(jimu, interval=60.0)
    try:
        assert _wait(lambda: len(ticks) >= 1, 10)
        time.sleep(1.5)
        assert len(ticks) == 1, ticks  # asleep: no polling
        due = clock.now() + timedelta(seconds=1.5)
        queued = time.monotonic()
        with jimu.db.write() as c:
            schedule_job(c, "test.ping", due, app="t")
        assert done.wait(10), "the job did not fire"
        assert 1.4 <= fired[0] - queued <= 4.0, fired[0] - queued

        def status() -> str:  # the handler ran inside the firing transaction: wait for its commit
            with jimu.db.read() as c:
                return str(c.execute(sa.select(jobs.c.status).where(jobs.c.kind == "test.ping")).scalar_one())

        assert _wait(lambda: status() == "done", 5), status()
        time.sleep(1.5)  # the wake-ups that follow our own commits (on SQLite the file watch sees them)
        settled = len(ticks)
        time.sleep(1.5)
        assert len(ticks) == settled, ticks  # nothing due: asleep again
    finally:
        stop()


def test_dispatcher_sleeps_until_an_event_commits(jimu, monkeypatch) -> None:
    """Mutation caught: the dispatcher not subscribing to the ``events`` wake-up (the
    event waits for the 60 s fallback poll), or polling (the idle tick count grows)."""
    ticks: list[float] = []
    real = dispatcher._tick  # one pass of the loop

    def counting(*a: Any, **kw: Any) -> Any:
        ticks.append(time.monotonic())
        return real(*a, **kw)

    monkeypatch.setattr(dispatcher, "_tick", counting)
    stop = dispatcher.start_dispatcher(jimu, interval=60.0)
    try:
        assert _wait(lambda: len(ticks) >= 1, 10)
        time.sleep(1.5)
        assert len(ticks) == 1, ticks
        with jimu.db.write() as c:
            emit(c, "t", "record.created", entity="x", record=1, version=1)

        def dispatched() -> bool:
            with jimu.db.read() as c:
                return c.execute(sa.select(events.c.dispatched_at).where(events.c.app == "t")).scalar() is not None

        assert _wait(dispatched, 5)
    finally:
        stop()

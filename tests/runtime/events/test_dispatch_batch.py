"""The dispatcher batches a stream of commits: after a wake-up it waits for the commits to
pause (``DEBOUNCE``), at most ``BATCH_MAX``, so one pass takes a serial client's creates
together instead of one pass (its transaction and round trips) per one or two events;
every event is still handed to every consumer exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from jimu.runtime.events import dispatcher
from jimu.runtime.events.outbox import emit
from jimu.runtime.events.tables import events


class _Woken:
    """A wake-up flag that a commit has always just set again (a steady stream)."""

    def clear(self) -> None:
        pass

    def is_set(self) -> bool:
        return True


def _timed(fn: Callable[[], None]) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def test_settle_waits_for_a_pause_but_no_longer_than_batch_max() -> None:
    """A lone wake-up waits one ``debounce``; a stream that keeps waking the dispatcher is
    held until ``most`` (not one ``debounce`` per pass); a stop returns at once. Mutation:
    ``_settle`` waits one ``debounce`` and returns (the fixed debounce it replaced), and the
    stream is let through after 0.05 s instead of 0.4 s."""
    stopping = threading.Event()
    lone = threading.Event()
    lone.set()
    assert 0.05 <= _timed(lambda: dispatcher._settle(lone, stopping, 0.05, 0.4)) < 0.35
    assert 0.4 <= _timed(lambda: dispatcher._settle(_Woken(), stopping, 0.05, 0.4))  # type: ignore[arg-type]
    stopping.set()
    assert _timed(lambda: dispatcher._settle(_Woken(), stopping, 5.0, 10.0)) < 1.0  # type: ignore[arg-type]


def _wait(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_serial_stream_of_commits_is_dispatched_in_few_passes_each_event_once(jimu, monkeypatch) -> None:
    """Commits one after the other for ~1.5 s (each a wake-up, closer together than
    ``DEBOUNCE``) with the dispatcher thread running: a handful of passes take them all
    (about one per ``BATCH_MAX``), and a transactional consumer sees every event exactly
    once, none left undispatched. Mutations: the fixed debounce (``_settle`` returning after
    one ``DEBOUNCE``) and ~15 passes are counted; the dispatched mark dropped from
    ``_dispatch_chunk`` and the consumer sees events again (and they stay pending)."""
    monkeypatch.setattr(dispatcher, "DEBOUNCE", 0.1)
    monkeypatch.setattr(dispatcher, "BATCH_MAX", 1.0)
    seen: Counter[str] = Counter()
    dispatcher.register_consumer("batch-test", lambda jimu, conn, event: seen.update([event["id"]]))
    ticks: list[float] = []
    real = dispatcher._tick

    def counting(*a: Any, **kw: Any) -> Any:
        ticks.append(time.monotonic())
        return real(*a, **kw)

    monkeypatch.setattr(dispatcher, "_tick", counting)
    stop = dispatcher.start_dispatcher(jimu, interval=60.0)
    try:
        assert _wait(lambda: len(ticks) >= 1, 10)
        before = len(ticks)
        ids: list[str] = []
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            with jimu.db.write() as c:
                ids.append(emit(c, "t", "record.created", entity="x", record=len(ids) + 1, version=1))
            time.sleep(0.01)

        def all_dispatched() -> bool:
            with jimu.db.read() as c:
                return not c.execute(sa.select(sa.func.count()).select_from(events)
                                     .where(events.c.dispatched_at.is_(None))).scalar_one()

        assert _wait(all_dispatched, 10)
        passes = len(ticks) - before
        assert len(ids) >= 20 and passes <= 5, (len(ids), passes)
        assert set(seen) == set(ids) and set(seen.values()) == {1}, seen
    finally:
        stop()
        dispatcher.unregister_consumer("batch-test")

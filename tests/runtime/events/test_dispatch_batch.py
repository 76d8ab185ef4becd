"""The dispatcher batches a stream of commits: after a wake-up it waits for the commits to
pause (``DEBOUNCE``, longer when its own passes run slow), at most ``BATCH_MAX``, so one
pass takes a serial client's creates together instead of one pass (its transaction and
round trips) per one or two events; every event is still handed to every consumer
exactly once."""

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
    """60 commits one after the other (each a wake-up, closer together than ``DEBOUNCE``)
    with the dispatcher thread running: a handful of passes take them all (about one per
    ``BATCH_MAX``), and a transactional consumer sees every event exactly
    once, none left undispatched. Mutations: the fixed debounce (``_settle`` returning after
    one ``DEBOUNCE``) and ~8 passes a second are counted; the dispatched mark dropped from
    ``_dispatch_chunk`` and the consumer sees events again (and they stay pending)."""
    monkeypatch.setattr(dispatcher, "DEBOUNCE", 0.1)
    monkeypatch.setattr(dispatcher, "BATCH_MAX", 1.0)
    monkeypatch.setattr(dispatcher, "QUIET_PASSES", 0.0)  # the pause is DEBOUNCE, whatever the load
    _stream(jimu, monkeypatch, commits=60, gap=0.01, slow_pass=0.0)


def test_a_stream_slower_than_debounce_is_batched_when_passes_run_slow(jimu, monkeypatch) -> None:
    """A loaded machine: each pass takes 0.1 s of wall time and 24 commits come 0.06 s
    apart, further apart than ``DEBOUNCE`` (0.02 s). The pause that ends a stream grows
    with the passes (``_quiet``: twice the last pass), so the stream is still batched.
    Mutation: ``_quiet`` answering ``DEBOUNCE`` and every commit or two gets its own pass."""
    monkeypatch.setattr(dispatcher, "DEBOUNCE", 0.02)
    monkeypatch.setattr(dispatcher, "BATCH_MAX", 1.0)
    _stream(jimu, monkeypatch, commits=24, gap=0.06, slow_pass=0.1)


def _stream(jimu: Any, monkeypatch: Any, *, commits: int, gap: float, slow_pass: float) -> None:
    """``commits`` commits ``gap`` seconds apart under the dispatcher thread (each pass made
    ``slow_pass`` seconds longer): about one pass per ``BATCH_MAX`` of the stream (and fewer
    than one per two commits, whatever the machine's load stretches the stream to), every
    event seen once by a consumer."""
    seen: Counter[str] = Counter()
    dispatcher.register_consumer("batch-test", lambda jimu, conn, event: seen.update([event["id"]]))
    ticks: list[float] = []
    real = dispatcher._tick

    def counting(*a: Any, **kw: Any) -> Any:
        ticks.append(time.monotonic())
        time.sleep(slow_pass)
        return real(*a, **kw)

    monkeypatch.setattr(dispatcher, "_tick", counting)
    stop = dispatcher.start_dispatcher(jimu, interval=60.0)
    try:
        assert _wait(lambda: len(ticks) >= 1, 10)
        time.sleep(slow_pass)
        before = len(ticks)
        ids: list[str] = []
        start = time.monotonic()
        while len(ids) < commits:
            with jimu.db.write() as c:
                ids.append(emit(c, "t", "record.created", entity="x", record=len(ids) + 1, version=1))
            time.sleep(gap)
        elapsed = time.monotonic() - start

        def all_dispatched() -> bool:
            with jimu.db.read() as c:
                return not c.execute(sa.select(sa.func.count()).select_from(events)
                                     .where(events.c.dispatched_at.is_(None))).scalar_one()

        assert _wait(all_dispatched, 10)
        passes = len(ticks) - before
        assert passes <= elapsed / dispatcher.BATCH_MAX + 3 and passes < commits / 2, (passes, elapsed)
        assert set(seen) == set(ids) and set(seen.values()) == {1}, seen
    finally:
        stop()
        dispatcher.unregister_consumer("batch-test")

"""Live fan-out of committed events to SSE subscribers in this process.

One :class:`Hub` per engine. A reader thread sleeps until the ``events`` wake-up
(:mod:`jimu.platform.wakeup`: a local commit that emitted events, a PostgreSQL ``NOTIFY``
from any worker, another process's write to the SQLite file) or, as a safety net, ``poll``
seconds without one; it reads the new outbox rows once and hands each app's rows, as one
shared :class:`Batch`, to every subscriber of that app with one ``call_soon_threadsafe``
per event loop. A batch renders its frames once per access profile (see
:meth:`Batch.frames`), so hundreds of streams of the same caller cost one rendering and
one encoding per event. On PostgreSQL, sequence numbers can commit out of order, so the
reader looks back ``LOOKBACK`` sequence numbers and skips what it already delivered.

The hub stops when its engine is disposed (``Jimu.close()``): the reader thread ends (and
the database's wake-up watcher, unless the dispatcher or scheduler still use it) and every
open stream is told to finish. Repeated read errors (a dropped database) are logged once
and retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from jimu.platform import wakeup
from jimu.platform.db import Database
from jimu.runtime.events.tables import events

__all__ = ["Batch", "Hub", "Subscriber", "get_hub", "stop_hub", "LOOKBACK", "CLOSED", "MAX_BACKOFF"]

log = logging.getLogger("jimu.events.hub")
LOOKBACK = 256
MAX_BACKOFF = 30.0
POLL = 10.0  # the fallback read when no wake-up came (wake-ups normally come first)
CLOSED = None  # queued to a subscriber when its stream must end (hub stopped, client gone)
_hubs: dict[int, Hub] = {}
_hubs_lock = threading.Lock()


class Batch:
    """New events of one app, shared by every subscriber of the app."""

    __slots__ = ("rows", "_frames")

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows = rows
        self._frames: dict[Hashable, bytes] = {}

    def frames(self, profile: Hashable, render: Callable[[Mapping[str, Any]], bytes | None]) -> bytes:
        """The encoded frames of this batch for one access profile, rendered by the first
        stream of that profile and shared by the others (``render`` returns None for an
        event the profile may not see). Streams on other loops may race to render the
        same profile; both results are equal, so the race is harmless."""
        out = self._frames.get(profile)
        if out is None:
            out = self._frames[profile] = b"".join(f for f in map(render, self.rows) if f)
        return out


@dataclass(eq=False)
class Subscriber:
    """One live stream: the app it follows and the queue batches arrive on (``CLOSED``
    when the stream must end)."""

    app: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Batch | str | None] = field(default_factory=asyncio.Queue)


def _deliver(subs: list[Subscriber], item: Batch | None) -> None:
    """On the subscribers' loop: hand each the item."""
    for sub in subs:
        sub.queue.put_nowait(item)


def _stop_engine_hub(engine: Engine) -> None:
    with _hubs_lock:
        hub = _hubs.get(id(engine))
    if hub is not None and hub.db.engine is engine:
        hub.stop()


def _on_engine_disposed(engine: Engine) -> None:
    """``Jimu.close()`` disposes the engine: stop its hub."""
    _stop_engine_hub(engine)


# Registered once on the class at import: adding listeners to a live engine races with
# SQLAlchemy's iteration of them in other threads (see the outbox's listeners).
sa_event.listen(Engine, "engine_disposed", _on_engine_disposed)


def get_hub(db: Database) -> Hub:
    """The running hub of ``db``'s engine (started on first use)."""
    with _hubs_lock:
        hub = _hubs.get(id(db.engine))
        if hub is None or hub.stopped:
            hub = _hubs[id(db.engine)] = Hub(db)
            hub.start()
        return hub


def stop_hub(db: Database) -> None:
    """Stop the hub of ``db``'s engine if one runs, ending its open streams (the server's
    shutdown; a later subscriber starts a new hub)."""
    _stop_engine_hub(db.engine)


class Hub:
    """Reads new outbox rows after commits and fans them out to subscribers."""

    BACKOFF = 0.5  # seconds before the first retry after a failed read; doubles, up to MAX_BACKOFF

    def __init__(self, db: Database, *, poll: float = POLL) -> None:
        self.db = db
        self.poll = poll
        self.stopped = False
        self.failures = 0  # consecutive failed reads (the backoff exponent)
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._seen: set[int] = set()
        self.last_seq = 0
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None

    # Life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self.db.read() as c:
            self.last_seq = int(c.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.seq), 0))).scalar_one())
            if not self.db.is_sqlite:  # what is already committed in the look-back window is not new
                self._seen.update(int(s) for s in c.execute(
                    sa.select(events.c.seq).where(events.c.seq > self.last_seq - LOOKBACK)).scalars())
        self._unsubscribe = wakeup.subscribe(self.db.engine, ["events"], self.wake)
        self._threads.append(threading.Thread(target=self._run, name="jimu-events-hub", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading, end every open stream and wait (up to ``timeout``) for the threads."""
        if self.stopped:
            return
        self.stopped = True
        self._stop.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        with _hubs_lock:
            if _hubs.get(id(self.db.engine)) is self:
                del _hubs[id(self.db.engine)]
        with self._lock:
            subs, self._subs = list(self._subs), set()
        self._post(subs, CLOSED)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether any of the hub's threads still runs."""
        return any(t.is_alive() for t in self._threads)

    def wake(self) -> None:
        """Something committed: read the outbox now (thread-safe, cheap)."""
        self._wake.set()

    # Subscribers -----------------------------------------------------------------------
    def subscribe(self, app: str) -> Subscriber:
        """A new subscriber of ``app`` on the running event loop (already closed when the
        hub has stopped)."""
        sub = Subscriber(app, asyncio.get_running_loop())
        with self._lock:
            if self.stopped:
                sub.queue.put_nowait(CLOSED)
            else:
                self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    @staticmethod
    def _post(subs: list[Subscriber], item: Batch | None) -> None:
        # One cross-thread wake-up per event loop, not one per subscriber: with hundreds
        # of streams on a loop, each call_soon_threadsafe writes the loop's self-pipe and
        # queues a callback of its own.
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscriber]] = {}
        for sub in subs:
            by_loop.setdefault(sub.loop, []).append(sub)
        for loop, group in by_loop.items():
            with contextlib.suppress(RuntimeError):  # loop closed: the streams are gone
                loop.call_soon_threadsafe(_deliver, group, item)

    # Reader ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            if self.failures:
                # Backing off: commits do not shorten the wait (the database is failing).
                if self._stop.wait(min(MAX_BACKOFF, self.BACKOFF * 2 ** (self.failures - 1))):
                    break
            else:
                self._wake.wait(self.poll)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                rows = self._read()
            except Exception:  # noqa: BLE001 - keep the thread; retry with backoff
                self._failed("event hub read failed")
                continue
            if self.failures:
                log.info("event hub reads again after %s failed attempts", self.failures)
                self.failures = 0
            if rows:
                self._fan_out(rows)

    def _failed(self, what: str) -> None:
        self.failures += 1
        if self.stopped:
            return
        if self.failures == 1:
            log.warning("%s; retrying with backoff (further failures are logged at debug level)", what,
                        exc_info=True)
        else:
            log.debug("%s (%s times in a row)", what, self.failures, exc_info=True)

    def _fan_out(self, rows: list[Mapping[str, Any]]) -> None:
        by_app: dict[str, list[Mapping[str, Any]]] = {}
        for r in rows:
            by_app.setdefault(r["app"], []).append(r)
        batches = {app: Batch(app_rows) for app, app_rows in by_app.items()}
        with self._lock:
            subs = list(self._subs)
        by_batch: dict[str, list[Subscriber]] = {}
        for sub in subs:
            if sub.app in batches:
                by_batch.setdefault(sub.app, []).append(sub)
        for app, group in by_batch.items():
            self._post(group, batches[app])

    def _read(self) -> list[Mapping[str, Any]]:
        lookback = 0 if self.db.is_sqlite else LOOKBACK
        with self.db.read() as c:
            seqs = [int(s) for s in c.execute(sa.select(events.c.seq).where(
                events.c.seq > self.last_seq - lookback).order_by(events.c.seq)).scalars()]
            new = [s for s in seqs if s not in self._seen]
            rows = [] if not new else [dict(r) for r in c.execute(
                sa.select(events).where(events.c.seq.in_(new)).order_by(events.c.seq)).mappings()]
        if seqs:
            self.last_seq = max(self.last_seq, seqs[-1])
        if lookback:
            floor = self.last_seq - lookback
            self._seen = {s for s in self._seen if s > floor}
            self._seen.update(new)
        return rows

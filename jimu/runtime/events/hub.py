"""Live fan-out of committed events to SSE subscribers in this process.

One :class:`Hub` per database. A reader thread wakes up after any local commit that
emitted events (the outbox's commit callback), on a PostgreSQL ``NOTIFY`` from any worker
(a dedicated psycopg connection ``LISTEN``\\ s on ``jimu_events``), or every ``poll``
seconds as a safety net; it reads the new outbox rows once and hands each batch to every
subscriber's asyncio queue with ``call_soon_threadsafe``. Subscribers filter and render
per caller. On PostgreSQL, sequence numbers can commit out of order, so the reader looks
back ``LOOKBACK`` sequence numbers and skips what it already delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from jimu.platform.db import Database
from jimu.runtime.events.outbox import NOTIFY_CHANNEL, add_commit_callback
from jimu.runtime.events.tables import events

__all__ = ["Hub", "Subscriber", "get_hub", "LOOKBACK"]

log = logging.getLogger("jimu.events.hub")
LOOKBACK = 256
_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


@dataclass(eq=False)
class Subscriber:
    """One live stream: the app it follows and the queue batches arrive on."""

    app: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[list[Mapping[str, Any]]] = field(default_factory=asyncio.Queue)


def _deliver(items: list[tuple[Subscriber, list[Mapping[str, Any]]]]) -> None:
    """On the subscribers' loop: hand each its batch."""
    for sub, batch in items:
        sub.queue.put_nowait(batch)


def get_hub(db: Database) -> Hub:
    """The running hub of ``db`` (started on first use)."""
    with _hubs_lock:
        hub = _hubs.get(db.url)
        if hub is None or hub.stopped:
            hub = _hubs[db.url] = Hub(db)
            hub.start()
        return hub


class Hub:
    """Reads new outbox rows after commits and fans them out to subscribers."""

    def __init__(self, db: Database, *, poll: float = 1.0) -> None:
        self.db = db
        self.poll = poll
        self.stopped = False
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._seen: deque[int] = deque(maxlen=4 * LOOKBACK)
        self._seen_set: set[int] = set()
        self.last_seq = 0
        self._threads: list[threading.Thread] = []

    # Life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self.db.read() as c:
            self.last_seq = int(c.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.seq), 0))).scalar_one())
            if not self.db.is_sqlite:  # what is already committed in the look-back window is not new
                for s in c.execute(sa.select(events.c.seq).where(events.c.seq > self.last_seq - LOOKBACK)).scalars():
                    self._seen.append(int(s))
                    self._seen_set.add(int(s))
        add_commit_callback(self.db.engine, self.wake)
        self._threads.append(threading.Thread(target=self._run, name="jimu-events-hub", daemon=True))
        if not self.db.is_sqlite:
            self._threads.append(threading.Thread(target=self._listen, name="jimu-events-listen", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self.stopped = True
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Something committed: read the outbox now (thread-safe, cheap)."""
        self._wake.set()

    # Subscribers -----------------------------------------------------------------------
    def subscribe(self, app: str) -> Subscriber:
        """A new subscriber of ``app`` on the running event loop."""
        sub = Subscriber(app, asyncio.get_running_loop())
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    # Reader ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            try:
                rows = self._read()
                if not rows:
                    continue
                by_app: dict[str, list[Mapping[str, Any]]] = {}
                for r in rows:
                    by_app.setdefault(r["app"], []).append(r)
                with self._lock:
                    subs = list(self._subs)
                # One cross-thread wake-up per event loop, not one per subscriber: with
                # hundreds of streams on a loop, each call_soon_threadsafe writes the
                # loop's self-pipe and queues a callback of its own.
                by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Subscriber, list[Mapping[str, Any]]]]] = {}
                for sub in subs:
                    batch = by_app.get(sub.app)
                    if batch:
                        by_loop.setdefault(sub.loop, []).append((sub, batch))
                for loop, items in by_loop.items():
                    with contextlib.suppress(RuntimeError):  # loop closed: the streams are gone
                        loop.call_soon_threadsafe(_deliver, items)
            except Exception:  # noqa: BLE001 - keep fanning out; the next wake retries
                log.exception("event hub read failed")
                self._stop.wait(0.2)

    def _read(self) -> list[Mapping[str, Any]]:
        lookback = 0 if self.db.is_sqlite else LOOKBACK
        with self.db.read() as c:
            seqs = [int(s) for s in c.execute(sa.select(events.c.seq).where(
                events.c.seq > self.last_seq - lookback).order_by(events.c.seq)).scalars()]
            new = [s for s in seqs if s not in self._seen_set]
            if not new:
                return []
            rows = [dict(r) for r in c.execute(sa.select(events).where(events.c.seq.in_(new))
                                                .order_by(events.c.seq)).mappings()]
        for s in new:
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(s)
            self._seen_set.add(s)
        self.last_seq = max(self.last_seq, new[-1])
        return rows

    def _listen(self) -> None:
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._wake.set()
            except Exception:  # noqa: BLE001 - reconnect; polling covers the gap
                log.exception("LISTEN connection lost")
                self._stop.wait(1.0)

"""The dispatcher: hands every committed event to its consumers exactly once.

Claim (one short write transaction): undispatched events, oldest first, leased to this
worker (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Dispatch (one write transaction per
chunk, a savepoint per event): mark the event dispatched *guarded by the lease token*,
then run every registered consumer (automations, webhook queueing) on the same
connection. The mark and the consumers' effects commit together, so a crash before commit
leaves the event undispatched (its lease expires and it is claimed again) and a crash
after commit cannot run it twice. Webhook HTTP calls happen afterwards, outside these
transactions (:func:`jimu.runtime.events.webhooks.send_due`), at least once.

Consumers register with :func:`register_consumer` ``(name, fn(jimu, conn, event))``; the
automation engine registers itself when imported.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.runtime.events import webhooks
from jimu.runtime.events.outbox import add_commit_callback
from jimu.runtime.events.tables import events

if TYPE_CHECKING:
    from jimu.runtime.context import Jimu

__all__ = ["Consumer", "register_consumer", "consumers", "claim_events", "dispatch_pending", "run_once",
           "start_dispatcher", "DEFAULT_LEASE", "due_runner"]

log = logging.getLogger("jimu.events.dispatcher")
DEFAULT_LEASE = timedelta(seconds=60)
CHUNK = 50
Consumer = Callable[[Any, Connection, Mapping[str, Any]], Any]
_consumers: dict[str, Consumer] = {}


def _queue_webhooks(jimu: Jimu, conn: Connection, event: Mapping[str, Any]) -> Any:
    return webhooks.queue_deliveries(jimu, conn, event)


def register_consumer(name: str, fn: Consumer) -> None:
    """Register (or replace) consumer ``name``; it runs inside the dispatch transaction."""
    _consumers[name] = fn


def consumers() -> dict[str, Consumer]:
    """Registered consumers (webhooks first, then automations when installed)."""
    _consumers.setdefault("webhooks", _queue_webhooks)
    try:
        import jimu.runtime.automations  # noqa: F401 - registers the automation consumer
    except ImportError:
        pass
    return dict(_consumers)


def claim_events(jimu: Jimu, now: datetime, token: str, limit: int, lease: timedelta = DEFAULT_LEASE) -> list[int]:
    """Lease up to ``limit`` undispatched events to ``token``; their seqs, oldest first."""
    stmt = (sa.select(events.c.seq).where(events.c.dispatched_at.is_(None),
                                          sa.or_(events.c.lease_until.is_(None), events.c.lease_until < now))
            .order_by(events.c.seq).limit(limit))
    with jimu.db.write() as c:
        if not jimu.db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        seqs = [int(s) for s in c.execute(stmt).scalars()]
        if seqs:
            c.execute(sa.update(events).where(events.c.seq.in_(seqs)).values(lease_owner=token,
                                                                            lease_until=now + lease))
    return seqs


def dispatch_pending(jimu: Jimu, now: datetime | None = None, *, limit: int = 200,
                     lease: timedelta = DEFAULT_LEASE, worker: str | None = None) -> int:
    """Dispatch up to ``limit`` events; returns how many were dispatched."""
    at = now or clock.now()
    token = f"{worker or 'd'}:{uuid.uuid4().hex[:12]}"
    seqs = claim_events(jimu, at, token, limit, lease)
    todo = consumers()
    done = 0
    for i in range(0, len(seqs), CHUNK):
        chunk = seqs[i:i + CHUNK]
        with jimu.db.write() as conn:
            rows = conn.execute(sa.select(events).where(events.c.seq.in_(chunk)).order_by(events.c.seq)).mappings()
            for row in list(rows):
                res = conn.execute(sa.update(events).where(
                    events.c.seq == row["seq"], events.c.lease_owner == token, events.c.dispatched_at.is_(None))
                    .values(dispatched_at=clock.now(), lease_owner=None, lease_until=None))
                if res.rowcount != 1:
                    continue
                for name, fn in todo.items():
                    sp = conn.begin_nested()
                    try:
                        fn(jimu, conn, row)
                        sp.commit()
                    except Exception:  # noqa: BLE001 - one consumer failing must not lose the others
                        sp.rollback()
                        log.exception("event consumer %s failed on %s", name, row["id"])
                done += 1
    return done


def run_once(jimu: Jimu, now: datetime | None = None, *, lease: timedelta = DEFAULT_LEASE) -> dict[str, int]:
    """Dispatch everything pending, then send the webhooks that are due."""
    dispatched = 0
    while True:
        n = dispatch_pending(jimu, now, lease=lease)
        dispatched += n
        if n < 200:
            break
    sent = webhooks.send_due(jimu, now, lease=lease)
    return {"dispatched": dispatched, "delivered": sent}


def due_runner(jimu: Any, now: datetime) -> dict[str, int]:
    """The test clock's runner (``jimu.runtime.due``): dispatch and send at ``now``."""
    return run_once(jimu, now)


def start_dispatcher(jimu: Jimu, *, interval: float = 0.5, lease: timedelta = DEFAULT_LEASE) -> Callable[[], None]:
    """Run the dispatcher in a daemon thread, woken after local commits; returns ``stop()``."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()
    wake = threading.Event()
    add_commit_callback(jimu.db.engine, wake.set)

    def loop() -> None:
        while not stopping.is_set():
            wake.clear()
            try:
                run_once(jimu, lease=lease)
            except Exception:  # noqa: BLE001 - keep the loop alive; the next tick retries
                log.exception("dispatcher tick failed (%s)", worker)
            wake.wait(interval)

    thread = threading.Thread(target=loop, name=f"jimu-dispatcher-{worker}", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        wake.set()
        thread.join(timeout=30)

    return stop

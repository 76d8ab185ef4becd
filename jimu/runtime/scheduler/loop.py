"""The scheduler loop: a background thread in the server process, asleep until the next
due time or a wake-up (no polling while idle).

Recurring jobs (schedule automations' ticks, stock tasks; :func:`jimu.runtime.due.ensure_recurring`)
are queued by the loop itself: when it starts, when the set of published app versions
changed (a publish or template install commits a ``due`` wake-up, so every worker's loop
looks at once) and every ``ENSURE_EVERY`` as a safety net (e.g. a tick that used up its
attempts is recorded as failed and the next one queued). Queueing is idempotent across
workers (unique pending key per recurring job), and firing goes through the leased claims,
so two workers never fire one occurrence twice."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from jimu.core import clock
from jimu.platform import wakeup
from jimu.runtime.scheduler.jobs import DEFAULT_LEASE, run_due_jobs

__all__ = ["start_scheduler", "next_due", "run_all_due", "scheduler_lifespan", "register_with_due", "POLL",
           "ENSURE_EVERY", "published_versions"]

log = logging.getLogger("jimu.scheduler")
POLL = 10.0  # seconds: the fallback poll of an idle scheduler
MIN_SLEEP = 0.05  # seconds: the shortest sleep between two ticks (no spinning on a past time)
ENSURE_EVERY = 60.0  # seconds: re-queue recurring jobs at least this often without a publish


def run_all_due(jimu: Any, now: datetime | None = None, worker_id: str | None = None, limit: int = 500) -> int:
    """Fire everything due at ``now`` (batch after batch), then sweep expired ledger
    reservations; returns how many jobs fired. Used by the test clock."""
    total = 0
    while True:
        n = run_due_jobs(jimu, now, worker_id, limit)
        total += n
        if n < limit:
            break
    try:
        from jimu.runtime.stock.sweeps import sweep_reservations  # sends the expiries' ledger.moved

        sweep_reservations(jimu, now)
    except Exception:  # noqa: BLE001 - a sweep failure must not stop timers
        log.exception("reservation sweep failed")
    return total


def next_due(jimu: Any) -> datetime | None:
    """The earliest time the loop has work: a pending job falling due (or the end of the
    lease of one a worker holds) or an active reservation running out; None when none."""
    import sqlalchemy as sa

    from jimu.platform.ledger.tables import reservation
    from jimu.runtime.workflow.tables import jobs

    j, r = jobs.c, reservation.c
    with jimu.db.read() as c:
        job = c.execute(sa.select(sa.func.min(sa.case((j.lease_until > j.due_at, j.lease_until), else_=j.due_at)))
                        .where(j.status == "pending")).scalar()
        expiry = c.execute(sa.select(sa.func.min(r.expires_at))
                           .where(r.state == "active", r.expires_at.is_not(None))).scalar()
    times = [_aware(t) for t in (job, expiry) if t is not None]
    return min(times) if times else None


def published_versions(jimu: Any) -> tuple[tuple[str, int], ...]:
    """(app, published version) of every app: the loop re-queues recurring jobs when it changes."""
    import sqlalchemy as sa

    from jimu.platform.store.tables import apps

    with jimu.db.read() as c:
        return tuple((str(n), int(v)) for n, v in c.execute(
            sa.select(apps.c.name, apps.c.published_version).order_by(apps.c.name)).all())


def _ensure(jimu: Any) -> bool:
    """Queue the recurring jobs; whether every step succeeded."""
    from jimu.runtime.due import ensure_recurring

    return all(r["ok"] for r in ensure_recurring(jimu, clock.now()))


def _aware(value: Any) -> datetime:
    """A time read back from an aggregate (SQLite may hand back the stored text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def start_scheduler(jimu: Any, *, interval: float = POLL, worker_id: str | None = None, limit: int = 500,
                    lease: Any = DEFAULT_LEASE) -> Callable[[], None]:
    """Start the loop in a daemon thread; returns ``stop()`` (idempotent, joins the thread).

Each tick first queues the recurring jobs when needed (at the first tick, after a publish,
every ``ENSURE_EVERY``; see the module docstring), then fires the due jobs.
    After each tick the loop sleeps until the next due time (:func:`next_due`), woken
    earlier by the ``due`` wake-up (a job queued or a reservation with an expiry
    committed, here or in another process; see :mod:`jimu.platform.wakeup`), and at most
    ``interval`` seconds (the fallback poll)."""
    worker = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()
    wake = threading.Event()
    unsubscribe = wakeup.subscribe(jimu.db.engine, ["due"], wake.set)

    def loop() -> None:
        seen: tuple[tuple[str, int], ...] | None = None
        ensured_at = 0.0
        while not stopping.is_set():
            wake.clear()
            fired = 0
            timeout = interval
            try:
                versions = published_versions(jimu)
                if versions != seen or time.monotonic() - ensured_at >= ENSURE_EVERY:
                    if _ensure(jimu):
                        seen, ensured_at = versions, time.monotonic()
                fired = run_due_jobs(jimu, clock.now(), worker, limit, lease=lease)
                if fired < limit:
                    from jimu.runtime.stock.sweeps import sweep_reservations  # sends ledger.moved

                    sweep_reservations(jimu)
                    nxt = next_due(jimu)
                    if nxt is not None:
                        timeout = min(interval, max(MIN_SLEEP, (nxt - clock.now()).total_seconds() + 0.005))
            except Exception:  # noqa: BLE001 - keep the loop alive; the next tick retries
                log.exception("scheduler tick failed")
            if fired < limit:
                wake.wait(timeout)

    thread = threading.Thread(target=loop, name=f"jimu-scheduler-{worker}", daemon=True)
    thread.start()

    def stop() -> None:
        unsubscribe()
        stopping.set()
        wake.set()
        thread.join(timeout=30)

    return stop


@contextlib.asynccontextmanager
async def scheduler_lifespan(app: Any) -> AsyncIterator[None]:
    """Starlette lifespan: run the scheduler while the app serves (skipped when
    ``JIMU_SCHEDULER=0`` or the app setting ``scheduler`` is false)."""
    settings = getattr(app.state, "settings", {}) or {}
    enabled = os.environ.get("JIMU_SCHEDULER", "1") != "0" and settings.get("scheduler", True)
    stop = start_scheduler(app.state.jimu) if enabled else None
    try:
        yield
    finally:
        if stop is not None:
            stop()


def register_with_due() -> None:
    """Register :func:`run_all_due` with ``jimu.runtime.due`` (the test clock) if present."""
    try:
        due = importlib.import_module("jimu.runtime.due")
    except ModuleNotFoundError:
        return
    register = getattr(due, "register_due_runner", None)
    if register is not None:
        register(run_all_due)

"""The scheduler loop: a background thread in the server process."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from jimu.core import clock
from jimu.runtime.scheduler.jobs import DEFAULT_LEASE, run_due_jobs

__all__ = ["start_scheduler", "run_all_due", "scheduler_lifespan", "register_with_due"]

log = logging.getLogger("jimu.scheduler")


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


def start_scheduler(jimu: Any, *, interval: float = 1.0, worker_id: str | None = None, limit: int = 500,
                    lease: Any = DEFAULT_LEASE) -> Callable[[], None]:
    """Start the loop in a daemon thread; returns ``stop()`` (idempotent, joins the thread)."""
    worker = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            fired = 0
            try:
                fired = run_due_jobs(jimu, clock.now(), worker, limit, lease=lease)
                if fired < limit:
                    from jimu.runtime.stock.sweeps import sweep_reservations  # sends ledger.moved

                    sweep_reservations(jimu)
            except Exception:  # noqa: BLE001 - keep the loop alive; the next tick retries
                log.exception("scheduler tick failed")
            if fired < limit:
                stopping.wait(interval)

    thread = threading.Thread(target=loop, name=f"jimu-scheduler-{worker}", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
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

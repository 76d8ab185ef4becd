"""Scheduler worker processes for the multi-process tests and the benchmark (spawn-safe)."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa


def seed_jobs(url: str, n: int, app: str = "bench") -> None:
    """``n`` cheap ``notify`` jobs, all due now."""
    from jimu.core import clock
    from jimu.runtime.context import Jimu
    from jimu.runtime.workflow.tables import jobs

    jimu = Jimu.open(url)
    at = clock.now()
    rows = [{"kind": "notify", "app": app, "due_at": at - timedelta(seconds=1), "status": "pending", "attempts": 0,
             "payload": {"app": app, "user": f"u{i % 50}", "title": f"job {i}"}, "created_at": at} for i in range(n)]
    with jimu.db.write() as c:
        for i in range(0, n, 2000):
            c.execute(jobs.insert(), rows[i:i + 2000])
    jimu.close()


def pending(jimu: object) -> int:
    from jimu.runtime.workflow.tables import jobs

    with jimu.db.read() as c:  # type: ignore[attr-defined]
        return int(c.execute(sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == "pending"))
                   .scalar_one())


def run_worker(url: str, worker_id: str, lease_seconds: float = 2.0, limit: int = 200,
               idle_exit: float = 1.0, stall_after: int | None = None) -> None:
    """Fire due jobs until none is pending for ``idle_exit`` seconds.

    ``stall_after``: once this worker has fired that many jobs, it claims one more batch
    under the claim token ``<worker_id>-stalled:...`` and then hangs without firing it (a
    worker stuck or dying between claim and fire); the test SIGKILLs it there and knows
    exactly which jobs the dead worker still holds."""
    from jimu.core import clock
    from jimu.runtime.context import Jimu
    from jimu.runtime.scheduler import run_due_jobs
    from jimu.runtime.scheduler.jobs import claim_jobs

    jimu = Jimu.open(url, upgrade=False)
    idle_since: float | None = None
    fired = 0
    while True:
        if stall_after is not None and fired >= stall_after:
            claim_jobs(jimu, clock.now(), f"{worker_id}-stalled:{time.monotonic_ns()}", limit,
                       timedelta(seconds=lease_seconds))
            while True:  # hold the lease until killed
                time.sleep(1)
        n = run_due_jobs(jimu, clock.now(), worker_id, limit, lease=timedelta(seconds=lease_seconds))
        fired += n
        if n == 0:
            if pending(jimu) == 0:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > idle_exit:
                    break
            time.sleep(0.05)
        else:
            idle_since = None
    jimu.close()

"""The scheduler: DB-leased jobs fired inside the server process (no extra daemon).

``run_due_jobs(jimu, now, worker_id, limit)`` is the pure step (tests, the test clock);
``start_scheduler(jimu)`` runs it in a background thread and returns a stop callable;
``scheduler_lifespan`` is the ASGI lifespan hook for ``jimu serve``.
"""

from jimu.runtime.scheduler.jobs import (
    DEFAULT_LEASE,
    JobContext,
    cancel_jobs,
    claim_jobs,
    register_job_kind,
    run_due_jobs,
    schedule_job,
)
from jimu.runtime.scheduler.loop import register_with_due, run_all_due, scheduler_lifespan, start_scheduler

__all__ = [
    "DEFAULT_LEASE", "JobContext", "cancel_jobs", "claim_jobs", "register_job_kind", "register_with_due",
    "run_all_due", "run_due_jobs", "schedule_job", "scheduler_lifespan", "start_scheduler",
]

register_with_due()
from jimu.runtime import stock as _stock  # noqa: E402,F401 - registers the stock sweeps, periodic jobs and actions

"""Periodic stock work: reservation expiry and recurring tasks such as channel rebalancing.

Two registries already exist and this module plugs into both instead of adding a loop:

- ``jimu.runtime.due``: :func:`ensure_periodic_jobs` is a *recurring* step (the scheduler
  loop runs it at start and after each publish; the test clock before its runners): it
  makes sure every wanted recurring task has its next run queued, once across workers
  (the job's unique pending key ``stock.periodic:<task>``). :func:`sweep_reservations`,
  a due runner of the test clock, releases expired reservations (``ledger.expire_due``,
  in short write transactions, each sending one ``ledger.moved`` event per app and
  ledger for the ``expire`` movements it wrote).
- the scheduler's job kinds (``register_job_kind``): a recurring task is a ``stock.periodic``
  job row that, when fired, runs the task in the job's transaction and queues its next
  run ``every`` later. Jobs are claimed with database leases, so several workers never run
  one tick twice, and the test clock fires them like any timer.

The scheduler loop (``start_scheduler``) already calls ``sweep_expired`` on every tick, so
reservation expiry needs no job of its own in production.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock

__all__ = [
    "JOB_KIND", "Periodic", "ensure_periodic", "ensure_periodic_jobs", "periodic_tasks", "register",
    "register_periodic", "run_periodic_job", "sweep_reservations",
]

log = logging.getLogger("jimu.stock")

JOB_KIND = "stock.periodic"


@dataclass(frozen=True)
class Periodic:
    """A recurring task: ``run(jimu, conn, now)`` every ``every``; ``wanted(conn)`` says
    whether it has anything to do (no job is queued otherwise)."""

    name: str
    every: timedelta
    run: Callable[[Any, Connection, datetime], Any]
    wanted: Callable[[Connection], bool] = lambda conn: True


_tasks: dict[str, Periodic] = {}
_lock = threading.Lock()


def register_periodic(task: Periodic) -> Periodic:
    """Add (or replace) a recurring task."""
    with _lock:
        _tasks[task.name] = task
    return task


def periodic_tasks() -> dict[str, Periodic]:
    """The registered recurring tasks by name."""
    with _lock:
        return dict(_tasks)


def _jobs() -> sa.Table:
    from jimu.runtime.workflow.tables import jobs

    return jobs


def ensure_periodic(conn: Connection, name: str, now: datetime | None = None) -> bool:
    """Queue the next run of task ``name`` (``every`` from ``now``) unless one is pending
    (the job's unique pending key makes this hold across concurrent workers too); returns
    whether a job was queued."""
    from jimu.runtime.scheduler.jobs import schedule_job

    task = periodic_tasks()[name]
    jobs = _jobs()
    pending = conn.execute(sa.select(jobs.c.id).where(
        jobs.c.kind == JOB_KIND, jobs.c.name == name, jobs.c.status == "pending").limit(1)).first()
    if pending is not None:
        return False
    return bool(schedule_job(conn, JOB_KIND, (now or clock.now()) + task.every, name=name,
                             key=f"{JOB_KIND}:{name}"))


def run_periodic_job(ctx: Any) -> None:
    """Job handler of ``stock.periodic``: run the task, then queue its next run."""
    name = str(ctx.job["name"])
    task = periodic_tasks().get(name)
    if task is None:
        log.warning("periodic task %s is not registered; dropped", name)
        return
    task.run(ctx.jimu, ctx.conn, ctx.now)
    if task.wanted(ctx.conn):
        ensure_periodic(ctx.conn, name, ctx.now)


def ensure_periodic_jobs(jimu: Any, now: datetime) -> int:
    """Recurring step: queue the next run of every wanted task that has none; returns how
    many were queued."""
    queued = 0
    with jimu.db.write() as conn:
        for task in periodic_tasks().values():
            if task.wanted(conn) and ensure_periodic(conn, task.name, now):
                queued += 1
    return queued


def sweep_reservations(jimu: Any, now: datetime | None = None, *, batch: int = 200) -> int:
    """Due runner: release the reservations whose time ran out, at most ``batch`` per
    write transaction, each sending the ``ledger.moved`` events of its ``expire``
    movements; returns how many expired."""
    from jimu.platform.ledger import expire_due

    at = now or clock.now()
    total = 0
    while True:
        with jimu.db.write() as conn:
            mark = _last_movement(conn)
            n = expire_due(conn, None, at, limit=batch)
            if n:
                _emit_expired(jimu, conn, mark, at)
        total += n
        if n == 0:
            return total


def _last_movement(conn: Connection) -> int:
    from jimu.platform.ledger.tables import movement

    return int(conn.execute(sa.select(sa.func.max(movement.c.id))).scalar() or 0)


def _emit_expired(jimu: Any, conn: Connection, mark: int, at: datetime) -> None:
    """The ``ledger.moved`` events of the expire movements this transaction wrote (after
    ``mark``, at ``at``: another worker's sweep at another instant is not ours)."""
    from jimu.platform.actor import SYSTEM
    from jimu.platform.ledger import Ledger
    from jimu.platform.ledger.tables import movement
    from jimu.runtime.stock.common import emit_moved, resolve_ledger

    m = movement.c
    rows = conn.execute(sa.select(m.id, m.app, m.ledger).where(
        m.id > mark, m.kind == "expire", m.at == at).order_by(m.id)).all()
    groups: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        groups.setdefault((r.app, r.ledger), []).append(int(r.id))
    for (app, name), ids in groups.items():
        try:
            lg = resolve_ledger(jimu, app, name, conn)
        except Exception:  # noqa: BLE001 - an app no longer published: its ledger's default scale
            lg = Ledger(name)
        emit_moved(conn, app, lg, ids, SYSTEM)


def register() -> None:
    """Register the job kind, the due runner and the recurring step (idempotent; done on import of
    :mod:`jimu.runtime.stock`)."""
    from jimu.runtime.due import register_due_runner, register_recurring
    from jimu.runtime.scheduler.jobs import register_job_kind

    register_job_kind(JOB_KIND, run_periodic_job)
    register_due_runner(sweep_reservations)
    register_recurring(ensure_periodic_jobs)

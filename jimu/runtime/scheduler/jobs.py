"""Scheduled jobs: rows in ``jimu_job`` claimed with a database lease, fired exactly once.

Claiming (one short write transaction): pick due, unleased jobs and stamp them with this
worker's lease (``lease_owner`` = a fresh claim token, ``lease_until`` = now + lease).
PostgreSQL selects them ``FOR UPDATE SKIP LOCKED`` so concurrent claimers never wait on
each other; SQLite's ``BEGIN IMMEDIATE`` serialises claimers on the database lock. A job
whose lease ran out (its worker crashed) is claimable again.

Firing (one write transaction per chunk, a savepoint per job): mark the job done
*guarded by the claim token* (``UPDATE ... WHERE id=? AND status='pending' AND
lease_owner=?``) and run its handler in the same transaction. If another worker took the
job over after our lease expired, the guarded update matches nothing and the handler is
not run; if we crash before commit, nothing of the job happened. So a job's effect
commits exactly once.

Handlers are registered per kind with :func:`register_job_kind`; a handler gets a
:class:`JobContext` and writes through ``ctx.conn``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.platform.wakeup import notify
from jimu.runtime.workflow.tables import jobs

if TYPE_CHECKING:
    from jimu.runtime.context import Jimu

__all__ = [
    "JobContext", "JobHandler", "register_job_kind", "job_kinds", "schedule_job", "cancel_jobs",
    "claim_jobs", "run_due_jobs", "DEFAULT_LEASE", "MAX_ATTEMPTS",
]

log = logging.getLogger("jimu.scheduler")

DEFAULT_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 3
CHUNK = 500


@dataclass
class JobContext:
    """What a job handler sees: the Jimu context, the open transaction and the job row."""

    jimu: Jimu
    conn: Connection
    job: Mapping[str, Any]
    now: datetime
    worker: str


JobHandler = Callable[[JobContext], None]
BatchHandler = Callable[[list[JobContext]], None]
_HANDLERS: dict[str, JobHandler] = {}
_BATCH: dict[str, BatchHandler] = {}


def register_job_kind(kind: str, handler: JobHandler, batch: BatchHandler | None = None) -> None:
    """Register (or replace) the handler of job ``kind``; ``batch`` (optional) fires many
    jobs of the kind in one call (e.g. one multi-row insert for notifications)."""
    _HANDLERS[kind] = handler
    if batch is not None:
        _BATCH[kind] = batch


def job_kinds() -> dict[str, JobHandler]:
    """The registered job kinds, with the workflow engine's built-ins (wf_timer, notify)."""
    from jimu.runtime.workflow.timers import BATCH_KINDS, JOB_KINDS

    for kind, handler in JOB_KINDS.items():
        _HANDLERS.setdefault(kind, handler)
    for kind, batch in BATCH_KINDS.items():
        _BATCH.setdefault(kind, batch)
    return dict(_HANDLERS)


def schedule_job(conn: Connection, kind: str, due_at: datetime, *, app: str | None = None,
                 entity: str | None = None, record: int | None = None, name: str | None = None,
                 state: str | None = None, payload: Mapping[str, Any] | None = None,
                 key: str | None = None) -> int:
    """Insert one pending job in the caller's transaction; returns its id. The scheduler
    loops are woken when the transaction commits (they sleep until the next due job).

    With ``key`` (a recurring job's slot) the insert does nothing when a pending job
    already holds the key, also one another worker is inserting concurrently (the unique
    index on pending keys decides); then it returns 0."""
    notify(conn, "due")
    values = {"kind": kind, "app": app, "entity": entity, "record": record, "name": name, "state": state,
              "due_at": due_at, "status": "pending", "attempts": 0, "payload": dict(payload or {}),
              "created_at": clock.now(), "key": key}
    if key is None:
        return int(conn.execute(jobs.insert().values(**values).returning(jobs.c.id)).scalar_one())
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    got = conn.execute(insert(jobs).values(**values).on_conflict_do_nothing().returning(jobs.c.id)).scalar()
    return int(got or 0)


def cancel_jobs(conn: Connection, *, app: str, entity: str, record: int, kind: str | None = None,
                state: str | None = None) -> int:
    """Cancel the pending jobs of one record (optionally of one kind / entered state)."""
    stmt = sa.update(jobs).where(jobs.c.app == app, jobs.c.entity == entity, jobs.c.record == record,
                                 jobs.c.status == "pending")
    if kind is not None:
        stmt = stmt.where(jobs.c.kind == kind)
    if state is not None:
        stmt = stmt.where(jobs.c.state == state)
    return int(conn.execute(stmt.values(status="cancelled", done_at=clock.now())).rowcount or 0)


def claim_jobs(jimu: Jimu, now: datetime, token: str, limit: int, lease: timedelta = DEFAULT_LEASE) -> list[int]:
    """Lease up to ``limit`` due jobs to ``token``; returns their ids (oldest due first)."""
    due = (sa.select(jobs.c.id)
           .where(jobs.c.status == "pending", jobs.c.due_at <= now,
                  sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now))
           .order_by(jobs.c.due_at, jobs.c.id).limit(limit))
    with jimu.db.write() as conn:
        if jimu.db.is_sqlite:
            ids = [int(x) for x in conn.execute(due).scalars()]
        else:
            ids = [int(x) for x in conn.execute(due.with_for_update(skip_locked=True)).scalars()]
        if ids:
            conn.execute(sa.update(jobs).where(jobs.c.id.in_(ids)).values(
                lease_owner=token, lease_until=now + lease, attempts=jobs.c.attempts + 1))
    return ids


def run_due_jobs(jimu: Jimu, now: datetime | None = None, worker_id: str | None = None, limit: int = 500,
                 *, lease: timedelta = DEFAULT_LEASE) -> int:
    """Claim and fire up to ``limit`` jobs due at ``now``; returns how many fired.

    Pure with respect to time: ``now`` decides what is due (tests and the test clock pass
    it). Failing jobs are retried with backoff up to MAX_ATTEMPTS, then marked failed."""
    at = now or clock.now()
    worker = worker_id or f"w-{uuid.uuid4().hex[:8]}"
    token = f"{worker}:{uuid.uuid4().hex[:12]}"
    handlers = job_kinds()
    ids = claim_jobs(jimu, at, token, limit, lease)
    fired = 0
    failures: list[tuple[int, int, str]] = []
    for i in range(0, len(ids), CHUNK):
        with jimu.db.write() as conn:
            fired += _fire_chunk(jimu, conn, ids[i:i + CHUNK], token, worker, at, handlers, failures)
    if failures:
        _record_failures(jimu, at, token, failures)
    return fired


def _fire_chunk(jimu: Jimu, conn: Connection, chunk: list[int], token: str, worker: str, at: datetime,
                handlers: Mapping[str, JobHandler], failures: list[tuple[int, int, str]]) -> int:
    """Mark the chunk's jobs done (only those still leased to ``token``) and run their
    handlers in the same transaction: a kind with a batch handler in one call, the others
    one savepoint each, so one failing job is rolled back alone."""
    mine = [int(x) for x in conn.execute(sa.update(jobs).where(
        jobs.c.id.in_(chunk), jobs.c.status == "pending", jobs.c.lease_owner == token,
    ).values(status="done", done_at=at, done_by=worker, lease_until=None).returning(jobs.c.id)).scalars()]
    if not mine:
        return 0
    rows = conn.execute(sa.select(jobs).where(jobs.c.id.in_(mine)).order_by(jobs.c.due_at, jobs.c.id)).mappings().all()
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_kind.setdefault(str(row["kind"]), []).append(row)
    fired = 0
    for kind, group in by_kind.items():
        batch = _BATCH.get(kind)
        if batch is not None and len(group) > 1:
            sp = conn.begin_nested()
            try:
                batch([JobContext(jimu, conn, row, at, worker) for row in group])
                sp.commit()
                fired += len(group)
                continue
            except Exception:  # noqa: BLE001 - fall back to one job at a time
                sp.rollback()
        for row in group:
            sp = conn.begin_nested()
            try:
                handler = handlers.get(kind)
                if handler is None:
                    raise LookupError(f"no handler for job kind {kind!r}")
                handler(JobContext(jimu, conn, row, at, worker))
                sp.commit()
                fired += 1
            except Exception as exc:  # noqa: BLE001 - one bad job must not stop the others
                sp.rollback()
                log.warning("job %s (%s) failed: %s", row["id"], kind, exc)
                conn.execute(sa.update(jobs).where(jobs.c.id == row["id"]).values(
                    status="pending", done_at=None, done_by=None))
                failures.append((int(row["id"]), int(row["attempts"]), f"{type(exc).__name__}: {exc}"[:1000]))
    return fired


def _record_failures(jimu: Jimu, at: datetime, token: str, failures: list[tuple[int, int, str]]) -> None:
    with jimu.db.write() as conn:
        for jid, attempts, error in failures:
            done = attempts >= MAX_ATTEMPTS
            conn.execute(sa.update(jobs).where(jobs.c.id == jid, jobs.c.lease_owner == token,
                                               jobs.c.status == "pending").values(
                status="failed" if done else "pending", last_error=error, lease_owner=None,
                lease_until=None, done_at=at if done else None,
                due_at=at + timedelta(seconds=30 * 2 ** attempts)))

"""Processed-markers per (event, consumer): what makes at-least-once delivery safe.

The dispatcher retries an event until every consumer has handled it, so a consumer may
see the same event again after a failure or a crash. Each consumer writes
:func:`mark_done` in the same transaction as its effects; a retried event skips the
consumers (and automation steps) already marked. Marking twice is an ``IntegrityError``
that rolls the second transaction back, so two dispatchers racing on one event apply it
once. ``failed`` rows count the attempts of a consumer that raised (for the backoff) and
keep its last error; ``dead`` is a consumer the dispatcher gave up on.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.runtime.events.tables import event_consumers as ec

__all__ = ["is_done", "handled", "mark_done", "mark_failed", "mark_dead"]


def is_done(conn: Connection, consumer: str, event_id: str) -> bool:
    """Whether ``consumer`` already applied ``event_id``."""
    return conn.execute(sa.select(ec.c.status).where(ec.c.event_id == event_id, ec.c.consumer == consumer,
                                                     ec.c.status == "done")).first() is not None


def handled(conn: Connection, event_ids: Iterable[str]) -> dict[str, dict[str, tuple[str, int]]]:
    """event id -> consumer -> (status, attempts) for the given events."""
    ids = list(event_ids)
    out: dict[str, dict[str, tuple[str, int]]] = {}
    if not ids:
        return out
    for row in conn.execute(sa.select(ec.c.event_id, ec.c.consumer, ec.c.status, ec.c.attempts)
                            .where(ec.c.event_id.in_(ids))):
        out.setdefault(row.event_id, {})[row.consumer] = (row.status, int(row.attempts or 0))
    return out


def mark_done(conn: Connection, consumer: str, event_id: str) -> None:
    """Record that ``consumer`` applied ``event_id`` (call it inside the transaction of the
    effects). Raises IntegrityError when it was already marked done, which rolls back a
    duplicate application."""
    moved = conn.execute(sa.update(ec).where(ec.c.event_id == event_id, ec.c.consumer == consumer,
                                             ec.c.status != "done").values(status="done", at=clock.now())).rowcount
    if not moved:
        conn.execute(ec.insert().values(event_id=event_id, consumer=consumer, status="done", attempts=0,
                                        at=clock.now()))


def mark_failed(conn: Connection, consumer: str, event_id: str, error: str) -> int:
    """Count one failed attempt of ``consumer`` on ``event_id``; returns the attempts so far."""
    row = conn.execute(sa.select(ec.c.attempts, ec.c.status).where(ec.c.event_id == event_id,
                                                                    ec.c.consumer == consumer)).first()
    if row is None:
        conn.execute(ec.insert().values(event_id=event_id, consumer=consumer, status="failed", attempts=1,
                                        last_error=error[:2000], at=clock.now()))
        return 1
    attempts = int(row.attempts or 0) + 1
    conn.execute(sa.update(ec).where(ec.c.event_id == event_id, ec.c.consumer == consumer).values(
        status="failed", attempts=attempts, last_error=error[:2000], at=clock.now()))
    return attempts


def mark_dead(conn: Connection, consumer: str, event_id: str) -> None:
    """Give up on ``consumer`` for ``event_id`` (its failed row stays, with the last error)."""
    conn.execute(sa.update(ec).where(ec.c.event_id == event_id, ec.c.consumer == consumer).values(
        status="dead", at=clock.now()))

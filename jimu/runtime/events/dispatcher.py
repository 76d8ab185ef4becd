"""The dispatcher: hands every committed event to its consumers, at least once.

Claim (one short write transaction): undispatched events whose lease (or retry backoff)
has expired, oldest first, leased to this worker (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL). Then, per chunk of events:

1. Transactional consumers (webhook queueing) run in one write transaction, a savepoint
   per (event, consumer), each writing its processed-marker
   (:mod:`jimu.runtime.events.consumed`) with its effects.
2. Consumers that manage their own transactions (automations: a script must never run
   inside an open write transaction) run with no transaction open; they keep their own
   markers per automation.
3. One write transaction marks the events every consumer handled as dispatched (guarded
   by the lease token). An event with a failed consumer stays undispatched: the failure
   is counted, logged with its traceback, and the event's lease is set to the retry time
   (exponential backoff from ``RETRY_BASE`` up to ``RETRY_MAX``). On the retry the
   consumers already marked done are skipped, so each applies the event once. After
   ``MAX_ATTEMPTS`` failures of one consumer the dispatcher gives up on it (``dead``,
   logged as an error) so one poisoned event cannot be retried forever.

A crash anywhere leaves the event undispatched; its lease expires and it is claimed
again, and the markers keep the consumers that had finished from applying it twice.
Webhook HTTP calls happen afterwards, outside these transactions
(:func:`jimu.runtime.events.webhooks.send_due`), at least once.

The dispatcher thread (:func:`start_dispatcher`) is woken by commits; it lets a burst or
a steady stream of them land before one pass (:func:`_settle`: a pause of ``DEBOUNCE``, or
longer on a machine that runs slow, see :func:`_quiet`; at most ``BATCH_MAX``), and a pass
that hands everything over in its transaction also reads there when to wake next.

Consumers register with :func:`register_consumer` ``(name, fn(jimu, conn, event))``; the
automation engine registers itself (``transactional=False``) when imported.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.platform import wakeup
from jimu.runtime.events import consumed, webhooks
from jimu.runtime.events.tables import event_consumers, events

if TYPE_CHECKING:
    from jimu.runtime.context import Jimu

__all__ = ["AtEmit", "Consumer", "Wants", "settled_at_emit", "DEBOUNCE", "BATCH_MAX", "QUIET_PASSES", "MAX_ATTEMPTS", "RETRY_BASE", "RETRY_MAX", "retry_delay", "register_consumer", "consumers", "claim_events", "dispatch_pending", "run_once",
           "start_dispatcher", "next_wake", "DEFAULT_LEASE", "POLL", "due_runner"]

log = logging.getLogger("jimu.events.dispatcher")
DEFAULT_LEASE = timedelta(seconds=60)
POLL = 10.0  # seconds: the fallback poll of an idle dispatcher
MIN_SLEEP = 0.05  # seconds: the shortest sleep between two ticks (no spinning on a past time)
CHUNK = 50
MAX_ATTEMPTS = 8
RETRY_BASE = timedelta(seconds=5)
RETRY_MAX = timedelta(hours=1)
DEBOUNCE = 0.02  # seconds: after a wake-up, let a burst of commits land before one pass
BATCH_MAX = 0.25  # seconds: the longest a steady stream of commits defers the pass (see _settle)
QUIET_PASSES = 2.0  # a pause counts as the end of a stream when longer than this many of the last pass
Consumer = Callable[[Any, Any, Mapping[str, Any]], Any]
# wants(jimu, conn, event) -> False only when the consumer would provably do nothing with
# the event (no write, no error): the dispatcher then neither calls it nor opens a savepoint.
Wants = Callable[[Any, Any, Mapping[str, Any]], bool]
# at_emit(app runtime, event) -> False only when the consumer would provably do nothing with
# the event, judged by the writer without the database (see settled_at_emit).
AtEmit = Callable[[Any, Mapping[str, Any]], bool]


@dataclass(frozen=True)
class _Registered:
    fn: Consumer
    transactional: bool
    wants: Wants | None = None
    at_emit: AtEmit | None = None


_consumers: dict[str, _Registered] = {}


def retry_delay(attempts: int) -> timedelta:
    """How long an event waits after its consumer failed ``attempts`` times."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_MAX)


def _queue_webhooks(jimu: Jimu, conn: Connection, event: Mapping[str, Any]) -> Any:
    return webhooks.queue_deliveries(jimu, conn, event)


def _wants_webhooks(jimu: Jimu, conn: Connection, event: Mapping[str, Any]) -> bool:
    return webhooks.any_hook_for(conn, event)


def register_consumer(name: str, fn: Consumer, *, transactional: bool = True, wants: Wants | None = None,
                      at_emit: AtEmit | None = None) -> None:
    """Register (or replace) consumer ``name``. A transactional consumer runs inside the
    dispatch transaction (``conn``), which also writes its processed-marker; one with
    ``transactional=False`` is called with ``conn=None`` and opens its own transactions,
    keeping its own markers (:mod:`jimu.runtime.events.consumed`) so a retry does not
    apply an event twice.

    ``wants(jimu, conn, event)`` (optional, ``conn`` is the dispatch transaction) says
    whether the consumer has anything to do with the event; it must answer False only when
    calling ``fn`` would write nothing and raise nothing (no webhook, no automation for
    it). Such an event is not handed to the consumer: no call, no savepoint, and no
    processed-marker when the event is marked dispatched in the same transaction (it is
    then never seen again); otherwise the markers are written in bulk, as ``fn`` had run.

    ``at_emit(rt, event)`` (optional) is the same answer given by the writer of a record
    event, before the row exists (``rt``: the app runtime the write used; ``event``: kind,
    entity, changes, data as they will be stored): False lets the event be written
    already dispatched (see :func:`settled_at_emit`). A consumer without it keeps every
    record event for the dispatcher."""
    _consumers[name] = _Registered(fn, transactional, wants, at_emit)


def unregister_consumer(name: str) -> None:
    """Remove consumer ``name`` (tests)."""
    _consumers.pop(name, None)


def consumers() -> dict[str, Consumer]:
    """Registered consumers (webhooks first, then automations when installed)."""
    return {k: v.fn for k, v in _registered().items()}


def settled_at_emit(rt: Any, event: Mapping[str, Any]) -> bool:
    """Whether a record event about to be written for app ``rt`` needs no dispatcher pass
    as far as the consumers other than the outgoing webhooks can tell: each has an
    ``at_emit`` that answers False (no automation of the app is triggered by it...). The
    webhooks' own check is the outbox INSERT's (no active outgoing webhook of the app in
    the writer's snapshot, see :func:`jimu.runtime.events.outbox.emit`): only when both
    hold is the event written with ``dispatched_at`` set, and the dispatcher's claim never
    sees it (no read of its row, no consumer call, no marking UPDATE).

    A webhook made active while the write runs and committed before it catches the event
    only when the dispatcher would have (its ``created_at`` is before the event's ``at``):
    the writer's snapshot decides, as a hook made a moment later would miss it anyway."""
    if not _imported:
        _registered()
    for name, reg in _consumers.items():
        if name == "webhooks" and reg.fn is _queue_webhooks:
            continue
        if reg.at_emit is None or reg.at_emit(rt, event):
            return False
    return True


_imported = False  # the built-in consumers are registered (see _registered)


def _registered() -> dict[str, _Registered]:
    global _imported
    _consumers.setdefault("webhooks", _Registered(_queue_webhooks, True, _wants_webhooks))
    try:
        import jimu.runtime.automations  # noqa: F401 - registers the automation consumer
    except ImportError:
        pass
    else:
        _imported = True
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
    """Dispatch up to ``limit`` events; returns how many were marked dispatched (an event
    with a failed consumer is left for its retry and not counted)."""
    return _dispatch(jimu, now, limit, lease, worker, None)


_Times = tuple[datetime | None, datetime | None]


def _dispatch(jimu: Jimu, now: datetime | None, limit: int, lease: timedelta, worker: str | None,
              times: list[_Times] | None) -> int:
    """:func:`dispatch_pending`; with ``times`` (a list), the last chunk's transaction also
    reads :func:`_next_times` into it when nothing was left for consumers outside it (the
    dispatcher thread then needs no read transaction of its own)."""
    at = now or clock.now()
    token = f"{worker or 'd'}:{uuid.uuid4().hex[:12]}"
    todo = _registered()
    done = left = 0
    while left < limit:
        want = min(CHUNK, limit - left)
        claimed, n = _dispatch_chunk(jimu, want, token, todo, at, lease, times)
        done += n
        left += claimed
        if claimed < want:
            break
    return done


# The claim, as one statement object (its cache key is memoised): the oldest undispatched
# events whose lease (or retry backoff) has expired.
_CLAIM = (sa.select(events).where(events.c.dispatched_at.is_(None),
                                  sa.or_(events.c.lease_until.is_(None), events.c.lease_until < sa.bindparam("_at")))
          .order_by(events.c.seq).limit(sa.bindparam("_n")))
_CLAIM_PG = _CLAIM.with_for_update(skip_locked=True)
_ANY_CLAIMABLE = (sa.select(events.c.seq).where(events.c.dispatched_at.is_(None), sa.or_(
    events.c.lease_until.is_(None), events.c.lease_until < sa.bindparam("_at"))).limit(1))
_DISPATCHED = (sa.update(events).where(events.c.seq.in_(sa.bindparam("_seqs", expanding=True)),
                                       events.c.dispatched_at.is_(None))
               .values(dispatched_at=sa.bindparam("_done_at"), lease_owner=None, lease_until=None))
_LEASE = (sa.update(events).where(events.c.seq.in_(sa.bindparam("_seqs", expanding=True)))
          .values(lease_owner=sa.bindparam("_owner"), lease_until=sa.bindparam("_until")))


def _dispatch_chunk(jimu: Jimu, want: int, token: str, todo: dict[str, _Registered], at: datetime,
                    lease: timedelta, times: list[_Times] | None = None) -> tuple[int, int]:
    """Claim up to ``want`` events and run their transactional consumers in one write
    transaction; returns (claimed, marked dispatched). An event no consumer outside the
    transaction still has to handle (the common case: no automation for it) is marked
    dispatched in that same transaction, so it needs no lease and no processed-marker:
    its effects and its dispatch commit together, and a crash rolls back both (the row
    lock, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, keeps other workers off it meanwhile).
    The others are leased to ``token`` in the same transaction, then go through the
    non-transactional consumers and :func:`_finish`. ``times`` (see :func:`_dispatch`)
    gets the next wake-up times read at the end of a last chunk (fewer than ``want``
    events) that left nothing for later: no later write of this pass can move them."""
    failures: dict[int, list[tuple[str, str]]] = {}
    ran: dict[int, list[str]] = {}
    later: dict[int, list[str]] = {}  # seq -> the non-transactional consumers it still needs
    done = 0
    # Most passes find nothing (record events are mostly written already dispatched): a
    # read says so without a write transaction (on SQLite the write lock every create
    # waits on; on PostgreSQL BEGIN and COMMIT round trips), and reads the wake-up times.
    with jimu.db.read() as conn:
        if conn.execute(_ANY_CLAIMABLE, {"_at": at}).first() is None:
            if times is not None:
                times.append(_read_times(conn))
            return 0, 0
    with jimu.db.write() as conn:
        rows = [dict(r) for r in conn.execute(_CLAIM if jimu.db.is_sqlite else _CLAIM_PG,
                                              {"_at": at, "_n": want}).mappings()]
        if not rows:
            if times is not None:
                times.append(_read_times(conn))
            return 0, 0
        # Markers exist only for events claimed before (a lease or retry time was set).
        state = consumed.handled(conn, [r["id"] for r in rows if r["lease_until"] is not None])
        skipped: dict[int, list[str]] = {}  # seq -> transactional consumers with nothing to do
        for row in rows:
            seen = state.get(row["id"], {})
            for name, reg in todo.items():
                if seen.get(name, ("", 0))[0] in ("done", "dead"):
                    continue
                if reg.wants is not None and not reg.wants(jimu, conn, row):
                    if reg.transactional:
                        skipped.setdefault(row["seq"], []).append(name)
                    continue
                if not reg.transactional:
                    later.setdefault(row["seq"], []).append(name)
                    continue
                sp = conn.begin_nested()
                try:
                    reg.fn(jimu, conn, row)
                    consumed.mark_done(conn, name, row["id"])
                    sp.commit()
                except Exception as exc:  # noqa: BLE001 - logged with its traceback, retried with backoff
                    sp.rollback()
                    log.exception("event consumer %s failed on %s (will retry)", name, row["id"])
                    failures.setdefault(row["seq"], []).append((name, f"{type(exc).__name__}: {exc}"))
        now_done = [r["seq"] for r in rows if r["seq"] not in failures and r["seq"] not in later]
        if now_done:
            done = conn.execute(_DISPATCHED, {"_seqs": now_done, "_done_at": clock.now()}).rowcount or 0
        rest = [r for r in rows if r["seq"] in failures or r["seq"] in later]
        if rest:  # theirs until _finish (or the lease expires: a crash)
            conn.execute(_LEASE, {"_seqs": [r["seq"] for r in rest], "_owner": token, "_until": at + lease})
        # An event that stays undispatched keeps a marker for every consumer it skipped, so
        # a retry treats it exactly as if the consumer had run and found nothing to do.
        fresh = []
        for row in rest:
            for name in skipped.get(row["seq"], ()):
                if name in state.get(row["id"], {}):
                    consumed.mark_done(conn, name, row["id"])
                else:
                    fresh.append({"event_id": row["id"], "consumer": name, "status": "done", "attempts": 0,
                                  "at": clock.now()})
        if fresh:
            conn.execute(_MARK_INSERT, fresh)
        if times is not None and not rest and len(rows) < want:
            times.append(_read_times(conn))
    if not rest:
        return len(rows), done
    renewed = time.monotonic()
    for row in rest:
        for name in later.get(row["seq"], ()):
            if time.monotonic() - renewed > lease.total_seconds() / 3:
                _renew(jimu, token, [r["seq"] for r in rest], lease)
                renewed = time.monotonic()
            try:
                todo[name].fn(jimu, None, row)
                ran.setdefault(row["seq"], []).append(name)
            except Exception as exc:  # noqa: BLE001 - logged with its traceback, retried with backoff
                log.exception("event consumer %s failed on %s (will retry)", name, row["id"])
                failures.setdefault(row["seq"], []).append((name, f"{type(exc).__name__}: {exc}"))
    return len(rows), done + _finish(jimu, rest, token, failures, ran, at)


_MARK_INSERT = event_consumers.insert()


def _renew(jimu: Jimu, token: str, seqs: list[int], lease: timedelta) -> None:
    """Extend this worker's lease on ``seqs`` while slow consumers (scripts) run."""
    with jimu.db.write() as conn:
        conn.execute(sa.update(events).where(events.c.seq.in_(seqs), events.c.lease_owner == token)
                     .values(lease_until=clock.now() + lease))


def _finish(jimu: Jimu, rows: list[dict[str, Any]], token: str, failures: dict[int, list[tuple[str, str]]],
            ran: dict[int, list[str]], at: datetime) -> int:
    """Mark the fully handled events dispatched; give the others their retry time."""
    done = 0
    with jimu.db.write() as conn:
        # The fully handled events (the common case) are marked in one UPDATE.
        handled = [row["seq"] for row in rows if row["seq"] not in failures]
        if handled:
            done += conn.execute(sa.update(events).where(
                events.c.seq.in_(handled), events.c.lease_owner == token, events.c.dispatched_at.is_(None))
                .values(dispatched_at=clock.now(), lease_owner=None, lease_until=None)).rowcount or 0
        for row in rows:
            mine = sa.and_(events.c.seq == row["seq"], events.c.lease_owner == token, events.c.dispatched_at.is_(None))
            failed = failures.get(row["seq"])
            if failed:
                for name in ran.get(row["seq"], ()):
                    consumed.mark_done(conn, name, row["id"])  # not run again on the retry
                worst = 0
                for name, error in failed:
                    attempts = consumed.mark_failed(conn, name, row["id"], error)
                    if attempts >= MAX_ATTEMPTS:
                        consumed.mark_dead(conn, name, row["id"])
                        log.error("event consumer %s gave up on %s after %s attempts: %s", name, row["id"],
                                  attempts, error)
                    else:
                        worst = max(worst, attempts)
                if worst:
                    conn.execute(sa.update(events).where(mine).values(lease_owner=None,
                                                                      lease_until=at + retry_delay(worst)))
                    continue
                done += conn.execute(sa.update(events).where(mine).values(
                    dispatched_at=clock.now(), lease_owner=None, lease_until=None)).rowcount or 0
    return done


def run_once(jimu: Jimu, now: datetime | None = None, *, lease: timedelta = DEFAULT_LEASE) -> dict[str, int]:
    """Dispatch everything pending, then send the webhooks that are due."""
    dispatched = 0
    while True:
        n = dispatch_pending(jimu, now, lease=lease)
        dispatched += n
        if n < 200:  # a short page (failed events are not counted: they wait for their retry)
            break
    sent = webhooks.send_due(jimu, now, lease=lease)
    return {"dispatched": dispatched, "delivered": sent}


def due_runner(jimu: Any, now: datetime) -> dict[str, int]:
    """The test clock's runner (``jimu.runtime.due``): dispatch and send at ``now``."""
    return run_once(jimu, now)


def next_wake(jimu: Jimu) -> datetime | None:
    """When the dispatcher next has work nobody will wake it for: the earliest webhook
    retry (``next_at``, or the end of its lease if a sender holds it) or the ``lease_until``
    of an undispatched event (a consumer's retry time, or the lease of a worker that may
    have died); None when there is none."""
    retry, leased = _next_times(jimu)
    times = [t for t in (retry, leased) if t is not None]
    return min(times) if times else None


def _next_times(jimu: Jimu) -> tuple[datetime | None, datetime | None]:
    """(the earliest time a pending webhook delivery can be sent, the earliest lease or
    retry time of an undispatched event), in one read of one statement."""
    with jimu.db.read() as c:
        return _read_times(c)


def _read_times(conn: Connection) -> _Times:
    row = conn.execute(_NEXT_TIMES).one()
    return tuple(None if t is None else _aware(t) for t in row)  # type: ignore[return-value]


def _build_next_times() -> Any:
    from jimu.runtime.events.tables import deliveries

    d = deliveries.c
    retry = (sa.select(sa.func.min(sa.case((d.lease_until > d.next_at, d.lease_until), else_=d.next_at)))
             .where(d.status == "pending").scalar_subquery())
    leased = sa.select(sa.func.min(events.c.lease_until)).where(events.c.dispatched_at.is_(None)).scalar_subquery()
    return sa.select(retry.label("retry"), leased.label("leased"))


_NEXT_TIMES = _build_next_times()


def _tick(jimu: Jimu, lease: timedelta) -> datetime | None:
    """One pass of the dispatcher thread: :func:`run_once`, then :func:`next_wake`, with
    ``send_due`` (its own read) only when a delivery is due. The common pass is one write
    transaction: the claim, the consumers, the dispatched mark and the next wake-up times
    (a separate read only when consumers outside the transaction ran)."""
    while True:
        read: list[_Times] = []
        if _dispatch(jimu, None, 200, lease, None, read) < 200:
            break
    retry, leased = read[-1] if read else _next_times(jimu)
    if retry is not None and retry <= clock.now():
        webhooks.send_due(jimu, lease=lease)
        retry, leased = _next_times(jimu)
    times = [t for t in (retry, leased) if t is not None]
    return min(times) if times else None


def _aware(value: Any) -> datetime:
    """A time read back from an aggregate (SQLite may hand back the stored text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _settle(wake: threading.Event, stopping: threading.Event, quiet: float | None = None,
            most: float | None = None) -> None:
    """After a wake-up, wait for the commits to pause: ``quiet`` seconds with no new
    wake-up, at most ``most`` seconds in all. A pass costs about the same for one event as
    for fifty (its transaction and round trips), and a burst of commits, or a steady stream
    of them (one client creating records one after the other), is then handled by one pass
    instead of one per commit. A lone commit waits ``quiet``; none waits more than ``most``
    (the delay a stream adds to its webhooks and automations). Returns at once when
    ``stopping`` is set."""
    quiet = DEBOUNCE if quiet is None else quiet
    most = BATCH_MAX if most is None else most
    end = time.monotonic() + most
    while True:
        wake.clear()
        left = end - time.monotonic()
        if stopping.wait(max(0.0, min(quiet, left))) or not wake.is_set() or left <= quiet:
            return


def _quiet(last_pass: float) -> float:
    """The pause that ends a stream: ``DEBOUNCE``, or ``QUIET_PASSES`` times the wall time of
    the last pass when longer. On a loaded machine a serial client's commits come further
    apart in wall time (each request gets a slice of a core), and so do the dispatcher's
    own passes: the window grows with them, so the stream is still seen as one and batched
    instead of a pass every commit or two."""
    return min(max(DEBOUNCE, QUIET_PASSES * last_pass), BATCH_MAX)


def start_dispatcher(jimu: Jimu, *, interval: float = POLL, lease: timedelta = DEFAULT_LEASE) -> Callable[[], None]:
    """Run the dispatcher in a daemon thread; returns ``stop()``. It sleeps until the
    ``events`` wake-up (a commit that emitted events, here or in another process; see
    :mod:`jimu.platform.wakeup`), the next webhook retry or lease expiry
    (:func:`next_wake`), or ``interval`` seconds (the fallback poll), whichever is first."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()
    wake = threading.Event()
    unsubscribe = wakeup.subscribe(jimu.db.engine, ["events"], wake.set)

    def loop() -> None:
        while not stopping.is_set():
            wake.clear()
            timeout = interval
            started = time.monotonic()
            try:
                nxt = _tick(jimu, lease)
                if nxt is not None:
                    timeout = min(interval, max(MIN_SLEEP, (nxt - clock.now()).total_seconds()))
            except Exception:  # noqa: BLE001 - keep the loop alive; the next tick retries
                log.exception("dispatcher tick failed (%s)", worker)
            took = time.monotonic() - started
            if wake.wait(timeout):
                _settle(wake, stopping, _quiet(took))

    thread = threading.Thread(target=loop, name=f"jimu-dispatcher-{worker}", daemon=True)
    thread.start()

    def stop() -> None:
        unsubscribe()
        stopping.set()
        wake.set()
        thread.join(timeout=30)

    return stop

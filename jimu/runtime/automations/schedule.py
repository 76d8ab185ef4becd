"""Schedule-triggered automations, run through the scheduler's leased jobs.

Trigger forms::

    {"type": "schedule", "cron": "0 8 * * *"}                 # minute hour dom month dow
    {"type": "schedule", "cron": "*/15 8-18 * * 1-5", "timezone": "Asia/Shanghai"}
    {"type": "schedule", "every": "PT15M"}                   # ISO duration, aligned on the epoch

Cron subset: five fields with ``*``, numbers, lists ``1,2``, ranges ``1-5`` and steps
``*/15`` / ``1-30/5``; day-of-week 0-7 (0 and 7 are Sunday); when both day-of-month and
day-of-week are restricted a day matching either fires (as in cron). Times are UTC unless
the trigger has ``timezone``.

How it runs: a recurring step (:func:`ensure_schedule_jobs`, registered with
:mod:`jimu.runtime.due`; the scheduler loop runs it when it starts and after each publish,
the test clock before its runners) makes sure every enabled schedule automation of every
published app has its next tick queued as one ``automation.schedule`` job (unique pending
key ``automation.schedule:<app>:<automation>``, so concurrent workers queue it once); the
scheduler loop fires it when due like any job. A due runner
(:func:`run_scheduled_automations`, for the test clock) queues, fires the due jobs with
:func:`run_due_jobs` and dispatches. The first tick of an automation is
the first one after the app's current version was published. When a tick fires, the
handler advances ``jimu_automation_state.next_at`` with a compare-and-set on the tick
(``UPDATE ... WHERE next_at = tick``) in the job's transaction, so a tick runs once even
if two workers queued or claimed a job for it; then it selects every record of its
``entity`` matching its ``condition`` (SQL when the condition compiles for
``view_filter``, else evaluated in Python) and emits one ``schedule.fired`` event per
record (one without a record for an automation without an entity) in that same
transaction. The events reach the engine through the dispatcher like every record
event, so a scheduled automation runs through the one action loop
(:func:`~jimu.runtime.automations.engine.run_automations`): as the system user, at event
depth 1 (the engine's loop protection), each record's run committed or failed alone,
logged in ``jimu_automation_run``, retried if the engine could not run, never twice, and
scripts with no transaction open. The due runner dispatches right after firing, so a
tick's actions have run when it returns. Missed ticks are coalesced: after downtime (or a clock jump over several ticks)
the automation runs once and the next tick is the first after now.

A tick whose handler fails (say its condition cannot run) rolls back whole and is retried
by the scheduler with its exponential backoff up to ``MAX_ATTEMPTS``; once the scheduler
marks the job failed, the due runner records the tick as ``failed`` in
``jimu_automation_run`` (with the last error) and queues the next tick, so a broken
automation costs a bounded number of attempts per tick instead of re-queueing the same
tick forever.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import NotFound
from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl
from jimu.platform.values import parse_duration

__all__ = [
    "JOB_KIND", "CronSpec", "catch_up_ticks", "ensure_schedule_jobs", "next_tick", "parse_cron", "register",
    "run_catch_up", "run_schedule_job", "run_scheduled_automations", "schedule_findings", "schedule_of",
]

log = logging.getLogger("jimu.automations.schedule")

JOB_KIND = "automation.schedule"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_SEARCH_DAYS = 366 * 8  # e.g. "0 0 29 2 *" may wait up to 8 years (no leap day in 2100)


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron expression: the allowed values of each field."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday .. 6 = Saturday
    any_day: bool
    any_weekday: bool

    def day_matches(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.weekday() + 1) % 7 in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow


def _field(text: str, lo: int, hi: int, name: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError(f"cron {name}: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"cron {name}: bad step {step_text!r}")
            step = int(step_text)
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            if not (a.isdigit() and b.isdigit()):
                raise ValueError(f"cron {name}: bad range {base!r}")
            start, end = int(a), int(b)
            if start > end:
                raise ValueError(f"cron {name}: range {base!r} runs backwards")
        elif base.isdigit():
            start = int(base)
            end = hi if step_text else start
        else:
            raise ValueError(f"cron {name}: {base!r} is not a number, range or *")
        if start < lo or end > hi:
            raise ValueError(f"cron {name}: {part!r} is outside {lo}-{hi}")
        out.update(range(start, end + 1, step))
    return frozenset(out)


def parse_cron(expr: str) -> CronSpec:
    """Parse ``minute hour day-of-month month day-of-week``; raises ValueError."""
    parts = str(expr).split()
    if len(parts) != 5:
        raise ValueError(f"cron needs 5 fields (minute hour day-of-month month day-of-week), got {expr!r}")
    fields = [_field(p, lo, hi, n) for p, (lo, hi), n in zip(parts, _BOUNDS, _NAMES, strict=True)]
    weekdays = frozenset(d % 7 for d in fields[4])
    return CronSpec(fields[0], fields[1], fields[2], fields[3], weekdays,
                    any_day=parts[2].startswith("*"), any_weekday=parts[4].startswith("*"))


def _cron_next(spec: CronSpec, after: datetime, tz: ZoneInfo) -> datetime:
    local = after.astimezone(tz)
    day = local.date()
    minutes, hours = sorted(spec.minutes), sorted(spec.hours)
    for _ in range(_SEARCH_DAYS):
        if spec.day_matches(day):
            for h in hours:
                for m in minutes:
                    cand = datetime(day.year, day.month, day.day, h, m, tzinfo=tz).astimezone(UTC)
                    if cand > after:
                        return cand
        day += timedelta(days=1)
    raise ValueError("cron expression never fires")


def schedule_of(trigger: Mapping[str, Any]) -> tuple[str, Any, ZoneInfo]:
    """``("cron", CronSpec, tz)`` or ``("every", timedelta, tz)`` of a schedule trigger;
    raises ValueError when it has neither (or a bad one)."""
    tz = ZoneInfo(str(trigger["timezone"])) if trigger.get("timezone") else ZoneInfo("UTC")
    if trigger.get("cron"):
        return "cron", parse_cron(str(trigger["cron"])), tz
    if trigger.get("every"):
        seconds = parse_duration(str(trigger["every"]))
        if seconds < 60:
            raise ValueError(f"schedule every {trigger['every']!r}: at least one minute (PT1M)")
        return "every", timedelta(seconds=seconds), tz
    raise ValueError("a schedule trigger needs 'cron' or 'every'")


def next_tick(trigger: Mapping[str, Any], after: datetime) -> datetime:
    """The first tick of ``trigger`` strictly after ``after`` (UTC, aware)."""
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    kind, value, tz = schedule_of(trigger)
    if kind == "cron":
        return _cron_next(value, after, tz)
    step = int(value.total_seconds())
    elapsed = int((after - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=(elapsed // step + 1) * step)


def _sig(trigger: Mapping[str, Any]) -> str:
    return json.dumps({k: trigger.get(k) for k in ("cron", "every", "timezone")}, sort_keys=True)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- queueing ticks ---------------------------------------------------------------------------

def _scheduled(jimu: Any, conn: Connection) -> Iterable[tuple[str, Any, datetime]]:
    """(app, automation, published_at) of every enabled schedule automation."""
    from jimu.platform.store.tables import app_versions, apps

    rows = conn.execute(sa.select(apps.c.name, app_versions.c.published_at).select_from(
        apps.join(app_versions, sa.and_(app_versions.c.app == apps.c.name,
                                        app_versions.c.version == apps.c.published_version)))
        .where(apps.c.published_version > 0).order_by(apps.c.name)).all()
    for name, published_at in rows:
        rt = jimu.apps.get(name, conn)  # published (selected so): a failure to load is raised, not skipped
        for auto in rt.spec.automations:
            if auto.enabled and (auto.trigger or {}).get("type") == "schedule":
                yield name, auto, _aware(published_at)


def _state_insert(conn: Connection, values: dict[str, Any]) -> int:
    from jimu.runtime.events.tables import automation_state

    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return int(conn.execute(insert(automation_state).values(**values).on_conflict_do_nothing()).rowcount or 0)


def _ensure_one(conn: Connection, app: str, auto: Any, anchor: datetime, now: datetime) -> bool:
    """Queue the automation's next tick unless a job for the current schedule is pending."""
    from jimu.runtime.events.tables import automation_state as st
    from jimu.runtime.scheduler.jobs import schedule_job
    from jimu.runtime.workflow.tables import jobs

    trig = auto.trigger or {}
    sig = _sig(trig)
    pending = conn.execute(sa.select(jobs.c.id, jobs.c.payload).where(
        jobs.c.kind == JOB_KIND, jobs.c.app == app, jobs.c.name == auto.name, jobs.c.status == "pending")).all()
    if any((p or {}).get("sig") == sig for _, p in pending):
        return False
    if pending:  # the schedule changed: drop the old ticks and start over from now
        conn.execute(sa.update(jobs).where(jobs.c.id.in_([i for i, _ in pending])).values(
            status="cancelled", done_at=now))
        conn.execute(sa.delete(st).where(st.c.app == app, st.c.automation == auto.name))
        anchor = now
    row = conn.execute(sa.select(st.c.next_at).where(st.c.app == app, st.c.automation == auto.name)).first()
    if row is None:
        tick = next_tick(trig, min(anchor, now))
        if not _state_insert(conn, {"app": app, "automation": auto.name, "next_at": tick}):
            return False  # another worker just started this schedule
    else:
        tick = _aware(row.next_at)
        failed = _failed_job(conn, app, auto.name, tick)
        if failed is not None:
            moved = _give_up(conn, app, auto, failed, tick, now)
            if moved is None:
                return False  # another worker gave up on it and queued the next tick
            tick = moved
    return bool(schedule_job(conn, JOB_KIND, tick, app=app, entity=auto.entity, name=auto.name,
                             payload={"sig": sig, "tick": tick.isoformat()}, key=_key(app, auto.name)))


def _key(app: str, name: str) -> str:
    """The unique pending key of an automation's tick job: one pending tick at a time."""
    return f"{JOB_KIND}:{app}:{name}"


def _failed_job(conn: Connection, app: str, name: str, tick: datetime) -> Any:
    """The automation's latest tick job when the scheduler marked it failed (it used up
    its attempts) and it was for ``tick``, the tick the state still waits on; else None."""
    from jimu.runtime.workflow.tables import jobs

    last = conn.execute(sa.select(jobs).where(jobs.c.kind == JOB_KIND, jobs.c.app == app, jobs.c.name == name)
                        .order_by(jobs.c.id.desc()).limit(1)).mappings().first()
    if last is None or last["status"] != "failed":
        return None
    return last if _job_tick(last) == tick else None


def _job_tick(job: Mapping[str, Any]) -> datetime:
    """The tick a job fires: its payload's, since a retry moves ``due_at`` by the backoff."""
    try:
        return _aware(datetime.fromisoformat(str((job["payload"] or {})["tick"])))
    except (KeyError, TypeError, ValueError):
        return _aware(job["due_at"])


def _give_up(conn: Connection, app: str, auto: Any, job: Mapping[str, Any], tick: datetime,
             now: datetime) -> datetime | None:
    """A tick failed on every attempt the scheduler allows (each retried with its backoff):
    record it as ``failed`` in the automation run log with the last error and move the
    schedule to its next tick instead of queueing the failed one again. Returns the next
    tick, or None when another worker already moved it."""
    from jimu.runtime.automations.engine import _log
    from jimu.runtime.events.tables import automation_state as st

    nxt = next_tick(auto.trigger or {}, max(now, tick))
    moved = conn.execute(sa.update(st).where(st.c.app == app, st.c.automation == auto.name, st.c.next_at == tick)
                         .values(next_at=nxt, last_at=tick)).rowcount
    if not moved:
        return None
    detail = f"tick {tick.isoformat()} failed after {job['attempts']} attempts: {job['last_error']}"
    log.warning("scheduled automation %s.%s: %s", app, auto.name, detail)
    _log(conn, _failed_event(job, auto, tick), auto.name, "failed", 0, detail[:1000])
    return nxt


def ensure_schedule_jobs(jimu: Any, now: datetime | None = None) -> int:
    """Queue the next tick of every enabled schedule automation that has none pending;
    returns how many were queued. Automations with a bad schedule are logged and skipped."""
    at = _aware(now or clock.now())
    queued = 0
    with jimu.db.write() as conn:
        for app, auto, anchor in list(_scheduled(jimu, conn)):
            sp = conn.begin_nested()
            try:
                queued += _ensure_one(conn, app, auto, anchor, at)
                sp.commit()
            except Exception:  # noqa: BLE001 - one bad schedule must not stop the others
                sp.rollback()
                log.exception("cannot schedule automation %s.%s", app, auto.name)
    return queued


def run_scheduled_automations(jimu: Any, now: datetime) -> dict[str, int]:
    """Due runner: queue the next ticks, fire what is due (leased jobs, so concurrent
    runners never run one tick twice), then dispatch the events ticks emitted (here or
    in the scheduler loop's own pass over due jobs) so their actions have run."""
    from jimu.runtime.events.dispatcher import run_once
    from jimu.runtime.events.tables import events
    from jimu.runtime.scheduler.jobs import run_due_jobs

    queued = ensure_schedule_jobs(jimu, now)
    fired = 0
    while True:
        n = run_due_jobs(jimu, now)
        fired += n
        if n < 500:
            break
    with jimu.db.read() as c:
        waiting = c.execute(sa.select(events.c.seq).where(events.c.dispatched_at.is_(None),
                                                          events.c.kind == "schedule.fired").limit(1)).first()
    if waiting is not None:
        run_once(jimu, now)
    return {"queued": queued, "fired": fired}


# --- firing a tick ----------------------------------------------------------------------------

def _matching_ids(jimu: Any, conn: Connection, rt: Any, auto: Any, now: datetime) -> list[int]:
    from jimu.core.errors import ExpressionError
    from jimu.platform.expressions import Env, compile_expression

    table = rt.tables(auto.entity)
    env = Env(user=SYSTEM.username, roles=tuple(SYSTEM.roles), now=now)
    stmt = sa.select(table.c.id).order_by(table.c.id)
    if not auto.condition:
        return [int(i) for i in conn.execute(stmt).scalars()]
    try:
        clause = compile_expression(auto.condition, rt.spec, auto.entity, purpose="view_filter").to_sql(rt.tables, env)
        return [int(i) for i in conn.execute(stmt.where(clause)).scalars()]
    except ExpressionError:
        pass  # not SQL-capable: evaluate in Python
    compiled = compile_expression(auto.condition, rt.spec, auto.entity, purpose="condition")
    out = []
    for rid in conn.execute(stmt).scalars():
        rec = jimu.records.get(rt.name, auto.entity, rid, conn=conn)
        if compiled.test(rec, env):
            out.append(int(rid))
    return out


def _failed_event(job: Mapping[str, Any], auto: Any, tick: datetime) -> dict[str, Any]:
    """The run-log row's event fields for a tick that failed before it emitted anything."""
    return {"id": f"sched-{job['id']}"[:36], "app": job["app"], "entity": auto.entity, "record": None,
            "data": {"automation": auto.name, "tick": tick.isoformat()}}


def run_schedule_job(ctx: Any) -> None:
    """Job handler of ``automation.schedule``: claim the tick (compare-and-set on the
    automation's state), queue the next one, emit a ``schedule.fired`` event per matching
    record (the engine runs the actions when the dispatcher delivers them)."""
    from jimu.runtime.events.outbox import emit
    from jimu.runtime.events.tables import automation_state as st
    from jimu.runtime.scheduler.jobs import schedule_job

    job, conn = ctx.job, ctx.conn
    app, name = str(job["app"]), str(job["name"])
    tick = _job_tick(job)
    try:
        rt = ctx.jimu.apps.get(app, conn)
    except NotFound:  # app gone or unpublished: the schedule ends
        conn.execute(sa.delete(st).where(st.c.app == app, st.c.automation == name))
        return
    auto = next((a for a in rt.spec.automations if a.name == name), None)
    trig = (auto.trigger or {}) if auto is not None else {}
    if auto is None or not auto.enabled or trig.get("type") != "schedule" or \
            (job["payload"] or {}).get("sig") != _sig(trig):
        # removed, disabled or rescheduled: the due runner queues the current schedule
        conn.execute(sa.delete(st).where(st.c.app == app, st.c.automation == name, st.c.next_at == tick))
        return
    now = _aware(ctx.now)
    nxt = next_tick(trig, max(now, tick))
    claimed = conn.execute(sa.update(st).where(st.c.app == app, st.c.automation == name, st.c.next_at == tick)
                           .values(next_at=nxt, last_at=tick)).rowcount
    if not claimed:
        log.info("tick %s of %s.%s already ran", tick, app, name)
        return
    schedule_job(conn, JOB_KIND, nxt, app=app, entity=auto.entity, name=name,
                 payload={"sig": _sig(trig), "tick": nxt.isoformat()}, key=_key(app, name))
    data = {"automation": name, "tick": tick.isoformat()}
    for rid in _matching_ids(ctx.jimu, conn, rt, auto, now) if auto.entity else [None]:
        emit(conn, app, "schedule.fired", entity=auto.entity, record=rid, data=data)


def catch_up_ticks(jimu: Any, conn: Connection, app: str, now: datetime) -> list[str]:
    """One tick at ``now`` of every enabled schedule automation of ``app`` whose actions
    only set fields (upkeep of the data, like the nightly quarantine of expired batches):
    the ``schedule.fired`` events a tick would emit for the records its condition matches
    now, written on ``conn``; returns their ids. For data written as if it had lived (the
    demo's generated history) while no scheduler ran; the schedules' own next ticks are
    left as they are. Run the ticks with :func:`run_catch_up` once ``conn`` committed."""
    from jimu.runtime.events.outbox import emit

    rt = jimu.apps.get(app, conn)
    ids: list[str] = []
    for auto in rt.spec.automations:
        kinds = {str(a.get("type")) for a in auto.actions}
        if not auto.enabled or (auto.trigger or {}).get("type") != "schedule" or not auto.entity \
                or not kinds or kinds != {"set_fields"}:
            continue
        data = {"automation": auto.name, "tick": _aware(now).isoformat(), "catch_up": True}
        ids += [emit(conn, app, "schedule.fired", entity=auto.entity, record=rid, data=data)
                for rid in _matching_ids(jimu, conn, rt, auto, _aware(now))]
    return ids


def run_catch_up(jimu: Any, ids: list[str]) -> int:
    """Run the automations of the catch-up ticks ``ids`` now, through the engine as the
    dispatcher would (which, delivering the events later, finds them done); returns how
    many ran ok."""
    from jimu.runtime.automations.engine import run_automations
    from jimu.runtime.events.tables import events

    ran = 0
    for i in range(0, len(ids), 500):
        with jimu.db.read() as c:
            rows = c.execute(sa.select(events).where(events.c.id.in_(ids[i:i + 500]))
                             .order_by(events.c.seq)).mappings().all()
        for row in rows:
            ran += run_automations(jimu, None, dict(row))
    return ran


def schedule_findings(app: Any) -> list[Any]:
    """Publish-time check: AUT-E004 a schedule trigger without a valid cron/every/timezone."""
    from jimu.platform.findings import Finding

    out = []
    for auto in app.automations:
        trig = auto.trigger or {}
        if trig.get("type") != "schedule":
            continue
        try:
            schedule_of(trig)
        except Exception as exc:  # noqa: BLE001 - ValueError or ZoneInfoNotFoundError
            out.append(Finding("AUT-E004", "error", f"automations.{auto.name}.trigger",
                               f"automation {auto.name}: bad schedule: {exc}",
                               'use {"cron": "0 8 * * *"} (minute hour day month weekday) or {"every": "PT15M"}'))
    return out


class _Plugin:
    @hookimpl
    def jimu_spec_validators(self) -> list[Any]:
        return [schedule_findings]


def register() -> None:
    """Register the job kind, the recurring step, the due runner and the schedule validator (idempotent; done
    on import)."""
    from jimu.platform import hooks
    from jimu.runtime.due import register_due_runner, register_recurring
    from jimu.runtime.scheduler.jobs import register_job_kind

    register_job_kind(JOB_KIND, run_schedule_job)
    register_recurring(ensure_schedule_jobs)
    register_due_runner(run_scheduled_automations)
    hooks.register(_Plugin(), name="jimu.runtime.automations.schedule")


register()

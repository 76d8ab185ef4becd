"""Automations: record-event triggers, a condition, actions; run by the event dispatcher.

Spec (``AutomationSpec``)::

    {"name": "freeze_slow_customer", "entity": "sales_order",
     "trigger": {"type": "created" | "updated" | "transition" | "webhook_in",
                 "fields": ["state"],          # updated: only when one of these changed
                 "transition": "submit",       # transition: only this one
                 "hook": "erp"},               # webhook_in: the incoming hook's name
     "condition": "amount > 5000",             # expression on the record (optional)
     "actions": [{"type": "set_fields", "values": {"note": "'big order'"}},
                 {"type": "create_record", "entity": "task", "values": {"title": "CONCAT('Check ', number)"}},
                 {"type": "transition", "transition": "approve"},
                 {"type": "notify", "users": ["boss"], "roles": ["manager"], "title": "Big order"},
                 {"type": "webhook", "webhook": "ding"},
                 {"type": "script", "code": "result = {'note': 'x'}", "apply": true}]}

Actions run at the event's depth + 1, as the triggering user unless ``"as": "system"``.
An event deeper than ``MAX_DEPTH`` does not trigger automations (a loop is stopped and
logged as ``loop_stopped``). Action kinds come from the ``jimu_automation_actions`` hook;
the built-ins register like any plugin.

Transactions (the engine is a dispatcher consumer that opens its own): consecutive
actions that run in a transaction (``ActionKind.in_transaction``: set_fields,
create_record, ...) share one write transaction, committed or rolled back together; an
action that must not (a script, which can run for seconds) runs with no transaction open
and writes through its own short ones. An automation made only of transactional actions
is therefore all-or-nothing, as it always was. Each step writes a processed-marker
(:mod:`jimu.runtime.events.consumed`, ``automation:<name>#<step>``) and the whole
automation one more (``automation:<name>``) with its run log, in the transaction of its
last effects, so a retried event resumes after the steps that committed and never applies
one twice. An action that fails on the app author's terms (a refused write, a script
error, a bad expression) ends the automation as ``error`` in ``jimu_automation_run``
(not retried: it would fail the same way); a database error propagates, and the
dispatcher retries the event with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from jimu.core import clock
from jimu.core.errors import NotFound
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.expressions import compile_expression
from jimu.platform.hooks import collect
from jimu.runtime.events import consumed
from jimu.runtime.events.outbox import event_depth
from jimu.runtime.events.tables import automation_runs

if TYPE_CHECKING:
    from jimu.runtime.context import Jimu

__all__ = ["MAX_DEPTH", "ActionContext", "run_automation", "run_automations", "triggered", "wants_at_emit", "wants_event"]

log = logging.getLogger("jimu.automations")
MAX_DEPTH = 5
_TRIGGER_OF = {"record.created": "created", "record.updated": "updated", "record.transitioned": "transition",
               "webhook.received": "webhook_in", "schedule.fired": "schedule"}


class ActionContext:
    """What an action sees: the Jimu context, the open write transaction (None for an
    action that runs outside one), the app runtime, the event, the record (typed, as
    stored after the change) and the acting user."""

    def __init__(self, jimu: Jimu, conn: Connection | None, event: Mapping[str, Any],
                 record: dict[str, Any] | None, actor: Actor) -> None:
        self.jimu = jimu
        self.conn = conn
        self.event = event
        self.record = record
        self.actor = actor
        self.app = str(event["app"])
        self.rt = jimu.apps.get(self.app, conn)
        self.entity = event.get("entity")


def triggered(auto: Any, event: Mapping[str, Any]) -> bool:
    """Whether ``auto``'s trigger matches ``event`` (condition not yet evaluated)."""
    trig = auto.trigger or {}
    kind = _TRIGGER_OF.get(str(event["kind"]))
    if not auto.enabled or kind is None or trig.get("type") != kind:
        return False
    if kind == "webhook_in":
        return trig.get("hook") in (None, (event.get("data") or {}).get("hook"))
    if kind == "schedule":  # a tick names the one automation it fired
        return (event.get("data") or {}).get("automation") == auto.name
    if auto.entity and auto.entity != event["entity"]:
        return False
    if kind == "updated" and trig.get("fields"):
        changed = {c.get("field") for c in event["changes"] or []}
        return bool(changed & set(trig["fields"]))
    if kind == "transition" and trig.get("transition"):
        return (event.get("data") or {}).get("transition", {}).get("transition") == trig["transition"]
    return True


def _actions() -> dict[str, Any]:
    return {a.name: a for a in collect("jimu_automation_actions")}


def wants_event(jimu: Jimu, conn: Connection | None, event: Mapping[str, Any]) -> bool:
    """The dispatcher's pre-check (``register_consumer(wants=...)``): False only when
    :func:`run_automations` would return 0 without writing or raising, i.e. no automation
    of the published app is triggered by ``event`` (or the app is gone or unpublished).
    The published app is looked up once per app in the dispatch transaction ``conn``
    (which also sees the version the consumer would load); an app that fails to load for
    another reason answers True, so the consumer runs, raises, and the event is retried."""
    if event["kind"] not in _TRIGGER_OF:
        return False
    memo: dict[str, Any] | None = None
    if conn is not None:
        tx = conn.get_transaction()
        held = conn.info.get("jimu_auto_apps")
        if held is None or held[0] is not tx:  # the memo holds tx: its identity cannot be reused
            held = conn.info["jimu_auto_apps"] = (tx, {})
        memo = held[1]
    app = str(event["app"])
    if memo is not None and app in memo:
        rt = memo[app]
    else:
        try:
            rt = jimu.apps.get(app, conn)
        except NotFound:
            rt = None
        except Exception:  # noqa: BLE001 - let the consumer raise it (and the event be retried)
            return True
        if memo is not None:
            memo[app] = rt
    return rt is not None and any(triggered(a, event) for a in rt.spec.automations)


def wants_at_emit(rt: Any, event: Mapping[str, Any]) -> bool:
    """:func:`wants_event` answered by the writer of a record event (``rt``: the published
    app runtime its write used): False when no automation of the app is triggered by it."""
    return event["kind"] in _TRIGGER_OF and any(triggered(a, event) for a in rt.spec.automations)


def run_automations(jimu: Jimu, conn: Connection | None, event: Mapping[str, Any]) -> int:
    """The dispatcher consumer (registered with ``transactional=False``: ``conn`` is None,
    each automation opens its own transactions): run every automation ``event`` triggers
    that has not already run for it; returns how many ran ok. An app that cannot be
    loaded for another reason than not being published raises, so the dispatcher retries
    the event instead of dropping its automations."""
    if event["kind"] not in _TRIGGER_OF:
        return 0
    try:
        rt = jimu.apps.get(str(event["app"]))
    except NotFound:  # the app was deleted or has no published version: it has no automations
        return 0
    autos = [a for a in rt.spec.automations if triggered(a, event)]
    if not autos:
        return 0
    depth = int(event["depth"] or 0)
    if depth >= MAX_DEPTH:
        with jimu.db.write() as c:
            if not consumed.is_done(c, "automations:loop", event["id"]):
                for a in autos:
                    _log(c, event, a.name, "loop_stopped", depth, f"event depth {depth} reached the limit {MAX_DEPTH}")
                consumed.mark_done(c, "automations:loop", event["id"])
                log.warning("automation loop stopped at depth %s (%s)", depth, ", ".join(a.name for a in autos))
        return 0
    actor = _actor(jimu, event)
    kinds = _actions()
    # A tick selected its records by the condition when it fired (with the tick's time).
    check = event["kind"] != "schedule.fired"
    return sum(run_automation(jimu, auto, event, actor, check_condition=check, kinds=kinds) == "ok" for auto in autos)


def _actor(jimu: Jimu, event: Mapping[str, Any]) -> Actor:
    """The triggering user with the roles they acted with and their current attributes
    (row filters may read them); the system user for system events."""
    name = event["actor"]
    if not name:
        return SYSTEM
    roles = tuple(event["actor_roles"] or ())
    user = jimu.users.by_name(str(name))
    if user is None:  # an API key or a removed user: the recorded roles only
        return Actor(str(name), roles)
    return Actor(user.username, roles, dict(user.attributes), None, user.manager, user.id)


def _steps(auto: Any, kinds: Mapping[str, Any]) -> list[tuple[bool, list[tuple[Any, Mapping[str, Any]]]]]:
    """The automation's actions grouped into steps: (in a transaction?, [(kind, spec)]).
    Raises LookupError for an unknown action type."""
    steps: list[tuple[bool, list[tuple[Any, Mapping[str, Any]]]]] = []
    for spec in auto.actions:
        kind = kinds.get(str(spec.get("type")))
        if kind is None:
            raise LookupError(f"unknown action type {spec.get('type')!r}")
        inside = bool(getattr(kind, "in_transaction", True))
        if steps and steps[-1][0] and inside:
            steps[-1][1].append((kind, spec))
        else:
            steps.append((inside, [(kind, spec)]))
    return steps


def run_automation(jimu: Jimu, auto: Any, event: Mapping[str, Any], actor: Actor, *,
                   record: dict[str, Any] | None = None, check_condition: bool = True,
                   kinds: Mapping[str, Any] | None = None) -> str:
    """Run one automation for ``event``, the single code path of every trigger (record
    events, incoming webhooks, schedules): test its condition on the record (unless
    ``check_condition`` is False: the caller already selected the record by it), then run
    its steps (see the module docstring) at the event's depth + 1, each action as
    ``actor`` unless it says ``"as": "system"``, reloading the record after each. Logs the
    run in ``jimu_automation_run``; returns ``"ok"``, ``"skipped"`` (condition false, not
    logged), ``"done"`` (already ran for this event) or ``"error"``. Call it with no
    write transaction open."""
    kinds = _actions() if kinds is None else kinds
    key = f"automation:{auto.name}"
    depth = int(event["depth"] or 0)
    with jimu.db.read() as c:
        state = consumed.handled(c, [event["id"]]).get(event["id"], {})
    if state.get(key, ("", 0))[0] == "done":
        return "done"
    record = _load(jimu, event) if record is None else record
    try:
        resumed = any(k.startswith(f"{key}#") for k in state)  # steps committed: the condition held
        if check_condition and auto.condition and event["entity"] and not resumed:
            if not compile_expression(auto.condition, jimu.apps.get(str(event["app"])).spec, event["entity"],
                                      purpose="condition").test(record or {}):
                return "skipped"
        steps = _steps(auto, kinds)
        with event_depth(depth + 1):
            for i, (inside, actions) in enumerate(steps):
                step_key, last = f"{key}#{i}", i == len(steps) - 1
                if state.get(step_key, ("", 0))[0] == "done":
                    continue
                if inside:
                    with jimu.db.write() as conn:
                        for kind, spec in actions:
                            record = _act(jimu, conn, kind, spec, event, record, actor)
                        if last:  # the run log and the marker commit with the last effects
                            _log(conn, event, auto.name, "ok", depth)
                            consumed.mark_done(conn, key, event["id"])
                        else:
                            consumed.mark_done(conn, step_key, event["id"])
                    continue
                for kind, spec in actions:
                    record = _act(jimu, None, kind, spec, event, record, actor)
                with jimu.db.write() as conn:
                    if last:
                        _log(conn, event, auto.name, "ok", depth)
                        consumed.mark_done(conn, key, event["id"])
                    else:
                        consumed.mark_done(conn, step_key, event["id"])
    except DBAPIError:
        raise  # the database failed, not the automation: the dispatcher retries the event
    except Exception as exc:  # noqa: BLE001 - the author's error (refused write, script error, ...): logged, not retried
        log.warning("automation %s.%s failed on %s #%s: %s", event["app"], auto.name, event["entity"],
                    event["record"], exc)
        with jimu.db.write() as conn:
            _log(conn, event, auto.name, "error", depth, f"{type(exc).__name__}: {exc}"[:1000])
            consumed.mark_done(conn, key, event["id"])
        return "error"
    return "ok"


def _act(jimu: Jimu, conn: Connection | None, kind: Any, spec: Mapping[str, Any], event: Mapping[str, Any],
         record: dict[str, Any] | None, actor: Actor) -> dict[str, Any] | None:
    """Run one action; returns the record as it is afterwards (read on ``conn`` when in a
    transaction, so the next action sees this one's changes)."""
    who = SYSTEM if spec.get("as") == "system" else actor
    kind.run(ActionContext(jimu, conn, event, record, who), spec)
    if event["entity"] and record is not None:
        return _load(jimu, event, conn) or record
    return record


def _load(jimu: Jimu, event: Mapping[str, Any], conn: Connection | None = None) -> dict[str, Any] | None:
    if event["kind"] == "webhook.received":
        return dict((event.get("data") or {}).get("payload") or {})
    if not event["entity"] or event["record"] is None:
        return None
    try:
        return jimu.records.get(str(event["app"]), str(event["entity"]), event["record"], conn=conn)
    except NotFound:  # deleted since the event
        return None


def _log(conn: Connection, event: Mapping[str, Any], name: str, status: str, depth: int, detail: str | None = None) -> None:
    conn.execute(automation_runs.insert().values(app=event["app"], automation=name, event_id=event["id"],
                                                 entity=event["entity"], record=event["record"], status=status,
                                                 depth=depth, detail=detail, at=clock.now()))

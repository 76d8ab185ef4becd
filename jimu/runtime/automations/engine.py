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

Actions run in the dispatcher's transaction (with the event's depth + 1), as the
triggering user unless ``"as": "system"``. An event deeper than ``MAX_DEPTH`` does not
trigger automations (a loop is stopped and logged as ``loop_stopped``). Action kinds
come from the ``jimu_automation_actions`` hook; the built-ins register like any plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.expressions import compile_expression
from jimu.platform.hooks import collect
from jimu.runtime.events.outbox import event_depth
from jimu.runtime.events.tables import automation_runs

if TYPE_CHECKING:
    from jimu.runtime.context import Jimu

__all__ = ["MAX_DEPTH", "ActionContext", "run_automation", "run_automations", "triggered"]

log = logging.getLogger("jimu.automations")
MAX_DEPTH = 5
_TRIGGER_OF = {"record.created": "created", "record.updated": "updated", "record.transitioned": "transition",
               "webhook.received": "webhook_in"}


class ActionContext:
    """What an action sees: the Jimu context, the open transaction, the app runtime, the
    event, the record (typed, as stored after the change) and the acting user."""

    def __init__(self, jimu: Jimu, conn: Connection, event: Mapping[str, Any], record: dict[str, Any] | None,
                 actor: Actor) -> None:
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


def run_automations(jimu: Jimu, conn: Connection, event: Mapping[str, Any]) -> int:
    """The dispatcher consumer: run every automation ``event`` triggers; returns how many ran."""
    if not str(event["kind"]).startswith(("record.", "webhook.")) or event["kind"] == "record.deleted":
        return 0
    try:
        rt = jimu.apps.get(str(event["app"]), conn)
    except Exception:  # noqa: BLE001 - an app without a published version has no automations
        return 0
    autos = [a for a in rt.spec.automations if triggered(a, event)]
    if not autos:
        return 0
    depth = int(event["depth"] or 0)
    if depth >= MAX_DEPTH:
        for a in autos:
            _log(conn, event, a.name, "loop_stopped", depth, f"event depth {depth} reached the limit {MAX_DEPTH}")
        log.warning("automation loop stopped at depth %s (%s)", depth, ", ".join(a.name for a in autos))
        return 0
    actor = Actor(event["actor"], tuple(event["actor_roles"] or ())) if event["actor"] else SYSTEM
    record = _load(jimu, conn, event)
    kinds = _actions()
    ran = 0
    for auto in autos:
        if run_automation(jimu, conn, auto, event, record, actor, kinds=kinds) == "ok":
            ran += 1
            record = _load(jimu, conn, event) or record  # the next automation sees this one's changes
    return ran


def run_automation(jimu: Jimu, conn: Connection, auto: Any, event: Mapping[str, Any], record: dict[str, Any] | None,
                   actor: Actor, *, check_condition: bool = True, kinds: Mapping[str, Any] | None = None) -> str:
    """Run one automation for ``event``, the single code path of every trigger (record
    events, incoming webhooks, schedules): in a savepoint of ``conn``, test its condition
    on ``record`` (unless ``check_condition`` is False: the caller already selected the
    record by it), then run its actions at the event's depth + 1, each as ``actor`` unless
    the action says ``"as": "system"``, reloading the record after each. Logs the run in
    ``jimu_automation_run``; returns ``"ok"``, ``"skipped"`` (condition false, not logged)
    or ``"error"`` (rolled back to the savepoint, logged with the error)."""
    kinds = _actions() if kinds is None else kinds
    depth = int(event["depth"] or 0)
    sp = conn.begin_nested()
    try:
        if check_condition and auto.condition and event["entity"]:
            if not compile_expression(auto.condition, jimu.apps.get(str(event["app"]), conn).spec, event["entity"],
                                      purpose="condition").test(record or {}):
                sp.rollback()
                return "skipped"
        with event_depth(depth + 1):
            for spec in auto.actions:
                kind = kinds.get(str(spec.get("type")))
                if kind is None:
                    raise LookupError(f"unknown action type {spec.get('type')!r}")
                who = SYSTEM if spec.get("as") == "system" else actor
                kind.run(ActionContext(jimu, conn, event, record, who), spec)
                if event["entity"] and record is not None:
                    record = _load(jimu, conn, event) or record
        sp.commit()
    except Exception as exc:  # noqa: BLE001 - one failing automation (or record) must not stop the others
        sp.rollback()
        log.warning("automation %s.%s failed on %s #%s: %s", event["app"], auto.name, event["entity"],
                    event["record"], exc)
        _log(conn, event, auto.name, "error", depth, f"{type(exc).__name__}: {exc}"[:1000])
        return "error"
    _log(conn, event, auto.name, "ok", depth)
    return "ok"


def _load(jimu: Jimu, conn: Connection, event: Mapping[str, Any]) -> dict[str, Any] | None:
    if event["kind"] == "webhook.received":
        return dict((event.get("data") or {}).get("payload") or {})
    if not event["entity"] or event["record"] is None:
        return None
    try:
        return jimu.records.get(str(event["app"]), str(event["entity"]), event["record"], conn=conn)
    except Exception:  # noqa: BLE001 - deleted meanwhile
        return None


def _log(conn: Connection, event: Mapping[str, Any], name: str, status: str, depth: int, detail: str | None = None) -> None:
    conn.execute(automation_runs.insert().values(app=event["app"], automation=name, event_id=event["id"],
                                                 entity=event["entity"], record=event["record"], status=status,
                                                 depth=depth, detail=detail, at=clock.now()))

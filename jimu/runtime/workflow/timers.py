"""Workflow timers: scheduled as job rows when a record enters a state, cancelled when it
leaves, fired by the scheduler.

A TimerSpec is ``{"name", "state", "after": "PT48H"}`` (after so long in ``state``) or
``{"name", "state"?, "at_field": "due_date", "offset": "-P1D"}`` (at a date field plus a
signed offset; without ``state`` it is scheduled when the record is created). An optional
``condition`` expression is checked when the timer fires (false: nothing happens). Its
``action`` is one of:

- ``{"kind": "notify", "to": "approvers" | "submitter" | "owner" | "role:NAME" | "user:NAME",
  "title": "..."}``: an inbox entry (kind "notification");
- ``{"kind": "escalate"}``: the current approvers' managers get an inbox entry (kind
  "escalation") and may decide the step (mode ``any``); an audit row (action "escalate");
  without an open approval, the record owner's manager is told;
- ``{"kind": "transition", "transition": "cancel", "inputs": {...}}``: fired as the system;
- ``{"kind": "set", "target": "customer", "values": {"frozen": "true"}}``: update the record
  (no target) or the record a link field points to ("freeze the customer");
- ``{"kind": "action", "name": "...", "params": {...}}``: an automation action from the
  ``jimu_automation_actions`` hook, called with a :class:`TimerAction` context.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import NotFound, ValidationError
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.audit import record_audit
from jimu.platform.hooks import collect
from jimu.platform.specs.workflow import TimerSpec, WorkflowSpec
from jimu.platform.values import parse_duration
from jimu.runtime.workflow import approvals as ap
from jimu.runtime.workflow import inbox as inbox_mod

__all__ = ["signed_duration", "timer_due", "on_state_change", "fire_timer", "fire_notify", "fire_notify_batch", "JOB_KINDS", "BATCH_KINDS",
           "TimerAction"]

log = logging.getLogger("jimu.workflow.timers")
TIMER_JOB = "wf_timer"
_SIGN = re.compile(r"^\s*([+-]?)\s*(P.*)$", re.IGNORECASE)


def signed_duration(text: str) -> timedelta:
    """``PT48H`` / ``-P1D`` as a timedelta."""
    m = _SIGN.match(text or "")
    if not m:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    secs = parse_duration(m.group(2))
    return timedelta(seconds=-secs if m.group(1) == "-" else secs)


def timer_due(timer: TimerSpec, record: Mapping[str, Any], entered: datetime) -> datetime | None:
    """When ``timer`` falls due for a record that entered its state at ``entered``."""
    if timer.at_field:
        value = record.get(timer.at_field)
        if value is None:
            return None
        if isinstance(value, datetime):
            base = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, date):
            base = datetime(value.year, value.month, value.day, tzinfo=UTC)
        else:
            base = datetime.fromisoformat(str(value))
        return base + (signed_duration(timer.offset) if timer.offset else timedelta(0))
    if timer.after:
        return entered + signed_duration(timer.after)
    return None


def on_state_change(conn: Connection, app: str, wf: WorkflowSpec, record: Mapping[str, Any],
                    old: str | None, new: str | None, now: datetime, created: bool = False) -> None:
    """Cancel the timers of the state left, schedule those of the state entered."""
    from jimu.runtime.scheduler.jobs import cancel_jobs, schedule_job

    rid = int(record["id"])
    if old is not None and not created:
        cancel_jobs(conn, app=app, entity=wf.entity, record=rid, kind=TIMER_JOB, state=old)
    for timer in wf.timers:
        if timer.state is None and not created:
            continue
        if timer.state is not None and timer.state != new:
            continue
        due = timer_due(timer, record, now)
        if due is not None:
            schedule_job(conn, TIMER_JOB, due, app=app, entity=wf.entity, record=rid, name=timer.name,
                         state=timer.state, payload={"workflow": wf.name})


@dataclass
class TimerAction:
    """What an automation action called by a timer receives."""

    jimu: Any
    conn: Connection
    app: str
    entity: str
    record: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    actor: Actor = SYSTEM


def fire_timer(ctx: Any) -> None:
    """Job handler of ``wf_timer``: re-check the record is still in the state, then act."""
    job = ctx.job
    jimu, conn = ctx.jimu, ctx.conn
    rt = jimu.apps.get(job["app"])
    wf = rt.workflow_for(job["entity"])
    timer = next((t for t in wf.timers if t.name == job["name"]), None) if wf else None
    if wf is None or timer is None:
        return  # the spec changed since: nothing to do
    try:
        rec = jimu.records.get(rt.name, wf.entity, job["record"], conn=conn)
    except NotFound:
        return
    if timer.state is not None and rec.get(wf.state_field) != timer.state:
        return
    condition = (timer.model_extra or {}).get("condition")
    if condition:
        from jimu.platform.expressions import compile_expression

        if not compile_expression(str(condition), rt.spec, wf.entity, purpose="condition").test(rec):
            return
    action = dict(timer.action or {})
    kind = str(action.get("kind") or action.get("type") or "notify")
    ent = rt.entity(wf.entity)
    title = str(rec.get(ent.title) or f"#{rec['id']}")
    if kind == "notify":
        text = action.get("title") or f"{ent.label.zh or ent.name} {title}: {timer.name}"
        users = _targets(conn, rt.name, wf, rec, str(action.get("to") or "approvers"))
        inbox_mod.add_entries(conn, users, app=rt.name, kind="notification", title=str(text), entity=wf.entity,
                              record=int(rec["id"]), payload={"timer": timer.name})
    elif kind == "escalate":
        _escalate(conn, rt, ent, wf, rec, timer, title, action)
    elif kind == "transition":
        from jimu.runtime.workflow.engine import WorkflowEngine

        WorkflowEngine(jimu).fire(rt.name, wf.entity, rec["id"], str(action["transition"]),
                                  action.get("inputs") or {}, SYSTEM, f"timer {timer.name}", conn=conn)
    elif kind == "set":
        target_field = action.get("target")
        values = dict(action.get("values") or {})
        if target_field:
            f = ent.field(str(target_field))
            if f is None or not f.target or rec.get(f.name) is None:
                return
            jimu.records.update(rt.name, f.target, rec[f.name], values, actor=SYSTEM, conn=conn)
        else:
            jimu.records.update(rt.name, wf.entity, rec["id"], values, actor=SYSTEM, conn=conn)
    elif kind == "action":
        _automation(jimu, conn, rt.name, wf.entity, rec, action)
    else:
        raise ValidationError(f"timer {timer.name}: unknown action kind {kind!r}")


def _targets(conn: Connection, app: str, wf: WorkflowSpec, rec: Mapping[str, Any], to: str) -> list[str]:
    inst = ap.current_instance(conn, app, wf.entity, int(rec["id"]))
    if to == "approvers" and inst is not None:
        return list(inst["steps"][int(inst["step"])]["approvers"])
    if to == "submitter" and inst is not None and inst["submitter"]:
        return [str(inst["submitter"])]
    if to.startswith("role:"):
        people = ap.active_users(conn)
        return sorted(u for u, i in people.items() if to[5:] in i["roles"])
    if to.startswith("user:"):
        return [to[5:]]
    return [str(rec["created_by"])] if rec.get("created_by") else []


def _escalate(conn: Connection, rt: Any, ent: Any, wf: WorkflowSpec, rec: Mapping[str, Any], timer: TimerSpec,
              title: str, action: Mapping[str, Any]) -> None:
    inst = ap.current_instance(conn, rt.name, wf.entity, int(rec["id"]))
    if inst is not None and inst["pending_state"] == rec.get(wf.state_field):
        step = inst["steps"][int(inst["step"])]
        base = list(step["approvers"])
    else:
        step, base = None, [str(rec["created_by"])] if rec.get("created_by") else []
    managers: list[str] = []
    for user in base:
        managers.extend(m for m in ap.managers_of(conn, user, 1) if m not in base)
    managers = list(dict.fromkeys(managers))
    if inst is not None and step is not None and managers and step["mode"] == "any":
        ap.add_approvers(conn, inst, managers)
    text = str(action.get("title") or f"升级 / Escalated: {ent.label.zh or ent.name} {title} "
               f"在 {rec.get(wf.state_field)} 已超时 ({timer.after or timer.name})")
    for m in managers:
        inbox_mod.add_entry(conn, app=rt.name, user=m, kind="escalation", title=text, entity=wf.entity,
                            record=int(rec["id"]), approval_id=int(inst["id"]) if inst else None,
                            step=int(inst["step"]) if inst else None, payload={"timer": timer.name, "from": base})
    who = ", ".join(managers) or "nobody (no manager on record)"
    record_audit(conn, app=rt.name, user="system", action="escalate", entity=ent, record=rec["id"], changes=[],
                 summary=(f"系统 将 {ent.label.zh or ent.name} {title} 升级给 {who}（{timer.name}：审批人 "
                          f"{', '.join(base) or '无'} 超时未处理）",
                          f"system escalated {ent.label.en or ent.name} {title} to {who} ({timer.name}: "
                          f"{', '.join(base) or 'nobody'} did not act in time)"),
                 document=f"timer:{timer.name}")


def _automation(jimu: Any, conn: Connection, app: str, entity: str, rec: dict[str, Any],
                action: Mapping[str, Any]) -> None:
    name = str(action.get("name") or "")
    for candidate in collect("jimu_automation_actions"):
        cname = candidate.get("name") if isinstance(candidate, Mapping) else getattr(candidate, "name", None)
        if cname != name:
            continue
        run = candidate.get("run") if isinstance(candidate, Mapping) else getattr(candidate, "run", None)
        if run is None:
            break
        run(TimerAction(jimu, conn, app, entity, rec, dict(action.get("params") or {})))
        return
    raise ValidationError(f"no automation action named {name!r}")


def fire_notify(ctx: Any) -> None:
    """Job handler of ``notify``: one inbox entry from the payload {app, user, title, ...}."""
    p = dict(ctx.job["payload"] or {})
    inbox_mod.add_entry(ctx.conn, app=str(p.get("app") or ctx.job["app"] or ""), user=str(p["user"]),
                        kind=str(p.get("kind") or "notification"), title=str(p.get("title") or ""),
                        entity=p.get("entity") or ctx.job["entity"], record=p.get("record") or ctx.job["record"],
                        payload={"job": int(ctx.job["id"])})


def fire_notify_batch(ctxs: list[Any]) -> None:
    """Batch handler of ``notify``: every entry in one multi-row insert."""
    from jimu.runtime.workflow.tables import inbox

    rows = []
    for ctx in ctxs:
        p = dict(ctx.job["payload"] or {})
        rows.append({"app": str(p.get("app") or ctx.job["app"] or ""), "user": str(p["user"]),
                     "kind": str(p.get("kind") or "notification"), "title": str(p.get("title") or ""),
                     "entity": p.get("entity") or ctx.job["entity"], "record": p.get("record") or ctx.job["record"],
                     "approval_id": None, "step": None, "at": ctx.now, "read": False, "done": False,
                     "payload": {"job": int(ctx.job["id"])}})
    ctxs[0].conn.execute(inbox.insert(), rows)


JOB_KINDS: dict[str, Any] = {TIMER_JOB: fire_timer, "notify": fire_notify}
BATCH_KINDS: dict[str, Any] = {"notify": fire_notify_batch}

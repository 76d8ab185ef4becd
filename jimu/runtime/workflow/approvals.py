"""Approval instances: resolving approvers, opening steps, recording votes, delegation.

A transition with ``approval`` opens an instance when it fires. Each step's approvers are
resolved when the instance opens (a snapshot, so later role changes do not move a
decision already under way):

- ``{"kind": "role", "value": "manager"}``: active holders of the role;
- ``{"kind": "user", "value": "alice"}``: that user;
- ``{"kind": "field", "value": "owner"}``: the user named (or with the id) in a field;
- ``{"kind": "manager", "value": "1"}``: the submitter's manager, ``"2"`` the manager's
  manager, ``"chain"`` every manager up the chain;
- ``{"kind": "expression", "value": "IF(amount > 9000, 'cfo', 'vp')"}``: user name(s).

A step with a ``condition`` that is false is skipped; conditions and expression approvers
read the record in the base currency (:func:`in_base`: an amount with a base-currency field,
``options.base_of``, reads that field), so a threshold in CNY holds for a USD order; a step whose approvers are all
vacant (no active user) falls back to the active holders of ``fallback_role``. Modes:
``any`` (one approval), ``all`` (every approver), ``n_of_m`` (``n`` approvals); any reject
rejects the instance. A delegate acts on behalf of an approver while a delegation row is
active; the vote records both.

Nobody approves their own document: the submitter is left out of every step's approvers
(a step only they could approve falls back to ``fallback_role``), and an approval by the
submitter, or on the submitter's behalf, is refused even when a delegation names them
(403 ``workflow.self_approval``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import Conflict
from jimu.platform.expressions import Env, compile_expression
from jimu.platform.specs import AppSpec
from jimu.platform.specs.workflow import ApprovalSpec, ApprovalStep
from jimu.platform.store.tables import users
from jimu.runtime.workflow import inbox as inbox_mod
from jimu.runtime.workflow.tables import approvals, delegations, votes

__all__ = ["active_users", "in_base", "resolve_steps", "open_instance", "current_instance", "eligible_principal",
           "self_approval", "record_vote", "cancel_instance", "step_view", "managers_of", "add_delegation"]


def active_users(conn: Connection) -> dict[str, dict[str, Any]]:
    """username -> {roles, manager} for every active user (read in the caller's transaction)."""
    rows = conn.execute(sa.select(users.c.username, users.c.roles, users.c.manager)
                        .where(users.c.active.is_(True))).mappings()
    return {r["username"]: {"roles": list(r["roles"] or []), "manager": r["manager"]} for r in rows}


def _holders(people: Mapping[str, Mapping[str, Any]], role: str) -> list[str]:
    return sorted(u for u, info in people.items() if role in info["roles"])


def managers_of(conn: Connection, username: str | None, depth: int | None = 1) -> list[str]:
    """The manager chain of ``username`` (``depth`` levels; None: the whole chain)."""
    rows = conn.execute(sa.select(users.c.username, users.c.manager, users.c.active)).mappings()
    info = {r["username"]: r for r in rows}
    out: list[str] = []
    cur = username
    while cur is not None and (depth is None or len(out) < depth):
        mgr = info.get(cur, {}).get("manager") if cur in info else None
        if mgr is None or mgr in out or mgr == username:
            break
        out.append(mgr)
        cur = mgr
    return [m for m in out if m in info and info[m]["active"]]


def _rule_users(conn: Connection, people: Mapping[str, Mapping[str, Any]], app: AppSpec, entity: str,
                rule: Any, record: Mapping[str, Any], submitter: str | None, env: Env) -> list[str]:
    kind, value = rule.kind, rule.value
    if kind == "role":
        return _holders(people, value)
    if kind == "user":
        return [value] if value in people else []
    if kind == "field":
        raw = record.get(value)
        if raw is None:
            return []
        if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit() and raw not in people):
            name = conn.execute(sa.select(users.c.username).where(users.c.id == int(raw))).scalar()
            return [name] if name in people else []
        return [str(raw)] if str(raw) in people else []
    if kind == "manager":
        depth = None if value == "chain" else int(value or 1)
        chain = managers_of(conn, submitter, depth)
        return chain if value == "chain" else chain[-1:]
    if kind == "expression":
        result = compile_expression(value, app, entity, purpose="formula").evaluate(record, env)
        names = result if isinstance(result, list) else [result]
        return [str(n) for n in names if n is not None and str(n) in people]
    return []


def in_base(app: AppSpec, entity: str, record: Mapping[str, Any]) -> Mapping[str, Any]:
    """``record`` as approvals read it: every field with a base-currency field
    (``options.base_of``, e.g. a sales order's ``amount`` with ``base_amount`` =
    amount × fx_rate) holds that field's value, so ``amount > 100000`` compares CNY with the
    CNY threshold for a USD order too. Records of entities without base fields (single-
    currency apps) are returned as they are."""
    ent = app.entity(entity)
    if ent is None:
        return record
    swaps = {str(f.options["base_of"]): f.name for f in ent.active_fields
             if f.stored and f.options.get("base_of")}
    swaps = {of: base for of, base in swaps.items() if record.get(base) is not None}
    if not swaps:
        return record
    return {**record, **{of: record[base] for of, base in swaps.items()}}


def resolve_steps(conn: Connection, app: AppSpec, entity: str, spec: ApprovalSpec, record: Mapping[str, Any],
                  submitter: str | None, env: Env) -> list[dict[str, Any]]:
    """The instance's steps with conditions decided and approvers resolved (409 when a step
    that applies has nobody to approve it and no fallback); the record is read in the base
    currency (:func:`in_base`)."""
    people = active_users(conn)
    record = in_base(app, entity, record)
    out: list[dict[str, Any]] = []
    for step in spec.steps:
        applies = True
        if step.condition:
            applies = compile_expression(step.condition, app, entity, purpose="condition").test(record, env)
        approvers: list[str] = []
        fallback = False
        if applies:
            for rule in step.approvers:
                approvers.extend(_rule_users(conn, people, app, entity, rule, record, submitter, env))
            approvers = [u for u in dict.fromkeys(approvers) if u != submitter]
            if not approvers and step.fallback_role:
                approvers, fallback = [u for u in _holders(people, step.fallback_role) if u != submitter], True
            if not approvers:
                raise Conflict(f"approval step '{step.name}' has no approver (vacant, no fallback_role)",
                               code="workflow.no_approver")
        out.append({"name": step.name, "label": step.label.dump(), "approvers": approvers, "mode": step.mode,
                    "n": _needed(step, approvers), "skipped": not applies, "fallback": fallback})
    return out


def _needed(step: ApprovalStep, approvers: Sequence[str]) -> int:
    if step.mode == "all":
        return max(1, len(approvers))
    if step.mode == "n_of_m":
        return max(1, min(int(step.n or 1), len(approvers) or 1))
    return 1


def _first_open_step(steps: list[dict[str, Any]], start: int) -> int | None:
    return next((i for i in range(start, len(steps)) if not steps[i]["skipped"]), None)


def _notify_step(conn: Connection, inst: Mapping[str, Any], steps: list[dict[str, Any]], idx: int,
                 title: str) -> None:
    step = steps[idx]
    inbox_mod.add_entries(conn, step["approvers"], app=inst["app"], kind="approval",
                          title=f"待审批 / Approve: {title} — {step['label'].get('zh') or step['name']}",
                          entity=inst["entity"], record=inst["record"], approval_id=inst["id"], step=idx)


def open_instance(conn: Connection, *, app: str, entity: str, record: int, workflow: str, transition: str,
                  pending_state: str, from_state: str, steps: list[dict[str, Any]], submitter: str | None,
                  title: str) -> dict[str, Any] | None:
    """Open an instance at its first applicable step (inbox entries for its approvers);
    None when no step applies (nothing to approve)."""
    first = _first_open_step(steps, 0)
    if first is None:
        return None
    at = clock.now()
    iid = int(conn.execute(approvals.insert().values(
        app=app, entity=entity, record=record, workflow=workflow, transition=transition,
        pending_state=pending_state, from_state=from_state, status="open", step=first, steps=steps,
        submitter=submitter, opened_at=at, step_opened_at=at).returning(approvals.c.id)).scalar_one())
    inst = current_instance(conn, app, entity, record)
    assert inst is not None and inst["id"] == iid
    _notify_step(conn, inst, steps, first, title)
    return inst


# Built once: it runs on every transition (its SQLAlchemy cache key is memoised).
_CURRENT_INSTANCE = sa.select(approvals).where(
    approvals.c.app == sa.bindparam("_app"), approvals.c.entity == sa.bindparam("_entity"),
    approvals.c.record == sa.bindparam("_record"), approvals.c.status == "open",
).order_by(approvals.c.id.desc()).limit(1)


def current_instance(conn: Connection, app: str, entity: str, record: int) -> dict[str, Any] | None:
    """The open approval instance of a record, if any."""
    row = conn.execute(_CURRENT_INSTANCE, {"_app": app, "_entity": entity, "_record": record}).mappings().first()
    return dict(row) if row else None


def step_view(inst: Mapping[str, Any]) -> dict[str, Any]:
    """The current step as the API shows it."""
    idx = int(inst["step"])
    step = inst["steps"][idx]
    return {"approval": int(inst["id"]), "step": idx + 1, "name": step["name"], "label": step["label"],
            "approvers": step["approvers"], "mode": step["mode"], "needed": step["n"]}


def _voted(conn: Connection, iid: int, step: int) -> list[Mapping[str, Any]]:
    return list(conn.execute(sa.select(votes).where(votes.c.approval_id == iid, votes.c.step == step))
                .mappings())


def eligible_principal(conn: Connection, inst: Mapping[str, Any], username: str | None,
                       now: datetime | None = None) -> str | None:
    """Whom ``username`` may vote for on the current step: themselves, or an approver who
    delegates to them right now; None when they may not vote (or already did)."""
    if not username:
        return None
    step = inst["steps"][int(inst["step"])]
    done = {v["on_behalf_of"] for v in _voted(conn, int(inst["id"]), int(inst["step"]))}
    for principal in inbox_mod.principals_for(conn, username, str(inst["app"]), now):
        if principal in step["approvers"] and principal not in done:
            return principal
    return None


def self_approval(inst: Mapping[str, Any], user: str | None, principal: str | None) -> bool:
    """Whether an approval by ``user`` on behalf of ``principal`` would be the submitter
    approving their own document (directly or through a delegation, either way round)."""
    submitter = inst.get("submitter")
    return bool(submitter) and submitter in (user, principal)


def record_vote(conn: Connection, inst: Mapping[str, Any], *, user: str, principal: str, decision: str,
                comment: str | None, title: str) -> str:
    """Record one decision; returns ``"pending"`` (step needs more), ``"next"`` (the next
    step opened), ``"approved"`` or ``"rejected"`` (instance closed)."""
    iid, idx = int(inst["id"]), int(inst["step"])
    steps: list[dict[str, Any]] = list(inst["steps"])
    at = clock.now()
    conn.execute(votes.insert().values(approval_id=iid, step=idx, step_name=steps[idx]["name"], user=user,
                                       on_behalf_of=principal, decision=decision, comment=comment, at=at))
    inbox_mod.close_approval_entries(conn, iid, idx, [principal, user])
    if decision == "reject":
        _close(conn, iid, "rejected", at)
        return "rejected"
    approved = {v["on_behalf_of"] for v in _voted(conn, iid, idx) if v["decision"] == "approve"}
    if len(approved) < int(steps[idx]["n"]):
        return "pending"
    inbox_mod.close_approval_entries(conn, iid, idx)
    nxt = _first_open_step(steps, idx + 1)
    if nxt is None:
        _close(conn, iid, "approved", at)
        return "approved"
    conn.execute(sa.update(approvals).where(approvals.c.id == iid).values(step=nxt, step_opened_at=at))
    _notify_step(conn, {**inst, "step": nxt}, steps, nxt, title)
    return "next"


def _close(conn: Connection, iid: int, status: str, at: datetime) -> None:
    conn.execute(sa.update(approvals).where(approvals.c.id == iid).values(status=status, closed_at=at))
    inbox_mod.close_approval_entries(conn, iid)


def cancel_instance(conn: Connection, inst: Mapping[str, Any]) -> None:
    """The record left the pending state another way (e.g. cancelled): close the instance."""
    _close(conn, int(inst["id"]), "cancelled", clock.now())


def add_approvers(conn: Connection, inst: Mapping[str, Any], extra: Sequence[str]) -> None:
    """Escalation: let ``extra`` users decide the current step too (mode ``any`` steps)."""
    steps = [dict(s) for s in inst["steps"]]
    idx = int(inst["step"])
    steps[idx]["approvers"] = list(dict.fromkeys([*steps[idx]["approvers"], *extra]))
    conn.execute(sa.update(approvals).where(approvals.c.id == inst["id"]).values(steps=steps))


def add_delegation(conn: Connection, user: str, delegate: str, *, from_at: datetime | None = None,
                   until_at: datetime | None = None, app: str | None = None) -> int:
    """While ``user`` is away, ``delegate`` may decide ``user``'s approvals."""
    return int(conn.execute(delegations.insert().values(
        user=user, delegate=delegate, app=app, from_at=from_at or clock.now(), until_at=until_at,
        created_at=clock.now()).returning(delegations.c.id)).scalar_one())


def env_with(env: Env, extra: Mapping[str, Any]) -> Env:
    """``env`` with extra names (transition inputs) added."""
    return replace(env, extra={**env.extra, **extra})

"""The workflow engine: the only writer of a record's state field.

``fire`` checks, in this order: the transition exists and leaves the current state (409
TransitionNotAllowed with the transitions this user may fire), the user may fire it (403
naming it; while an approval is open, ``approve*``/``reject*`` transitions are votes and
the approval step decides who may fire them), the inputs (422 per input), the guard (409
GuardFailed, or 422 naming the inputs it mentions). Then, in one transaction: the state
change with the ``set`` fields and the inputs stored on the record, the ledger postings,
the approval rows, the timers of the new state and the audit row (action "transition").

Approvals: a transition with ``approval`` moves the record to its ``to`` state and opens
the instance. While it is open, firing ``approve`` (or the approvals API) records a vote;
the record stays until the last applicable step is approved, then ``approve`` completes
(its ``to``, ``set`` and postings apply). ``reject`` closes the instance and moves the
record to ``approval.reject_to``, else the reject transition's ``to``. When no step
applies (e.g. ``amount > 5000`` is false for the only step), the approve transition
completes at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.audit import record_audit
from jimu.platform.specs import EntitySpec
from jimu.platform.specs.workflow import STAY, TransitionSpec, WorkflowSpec
from jimu.runtime.apps import AppRuntime
from jimu.runtime.records.computed import expression_env
from jimu.runtime.workflow import approvals as ap
from jimu.runtime.workflow.inputs import check_guard, check_inputs, set_values, stored_inputs
from jimu.runtime.workflow.postings import run_transition_postings
from jimu.runtime.workflow.progress import plan_progress

__all__ = ["WorkflowEngine", "vote_kind"]


def vote_kind(t: TransitionSpec) -> str | None:
    """``approve`` / ``reject`` for transitions that decide an open approval, else None."""
    for kind in ("approve", "reject"):
        if t.name == kind or t.name.startswith(kind):
            return kind
    return None


def _leaves(wf: WorkflowSpec, t: TransitionSpec, state: str | None) -> bool:
    if t.from_:
        return state in t.from_ or "*" in t.from_
    st = wf.state(state or "")
    return st is None or not st.final  # no ``from``: any non-final state


class WorkflowEngine:
    """Fires transitions and decides approvals for the published apps of ``jimu``."""

    def __init__(self, jimu: Any) -> None:
        self.jimu = jimu
        from jimu.runtime.workflow.plugin import ensure_listener

        ensure_listener(jimu.records)

    # Public API ---------------------------------------------------------------------------
    def fire(self, app: str, entity: str, record_id: Any, transition: str, inputs: Mapping[str, Any] | None = None,
             actor: Actor = SYSTEM, comment: str | None = None, *, conn: Connection | None = None) -> dict[str, Any]:
        """Fire ``transition`` on one record; returns the record as stored afterwards."""
        with self._tx(conn) as c:
            rt, ent, wf = self._spec(app, entity, c)  # the app version read once, in the transaction
            rec = self._load(c, rt, ent, record_id)
            return self._fire(c, rt, ent, wf, rec, transition, inputs, actor, comment)

    def decide(self, app: str, entity: str, record_id: Any, step: str | int, decision: str, actor: Actor,
               comment: str | None = None, *, conn: Connection | None = None) -> dict[str, Any]:
        """The approvals API: approve or reject the current ``step`` (its 1-based number
        or name); 409 when that step is not the one waiting."""
        if decision not in ("approve", "reject"):
            raise NotFound(f"unknown decision '{decision}'", code="approval.decision")
        with self._tx(conn) as c:
            rt, ent, wf = self._spec(app, entity, c)
            rec = self._load(c, rt, ent, record_id)
            inst = ap.current_instance(c, app, entity, rec["id"])
            if inst is None or rec.get(wf.state_field) != inst["pending_state"]:
                raise Conflict(f"{entity} {rec['id']} has no approval waiting", code="approval.none")
            cur = ap.step_view(inst)
            if str(step) not in (str(cur["step"]), cur["name"]):
                raise Conflict(f"step {step} is not waiting; step {cur['step']} ({cur['name']}) is",
                               code="approval.step", extra={"current": cur})
            t = next((x for x in wf.transitions if vote_kind(x) == decision
                      and _leaves(wf, x, inst["pending_state"])), None)
            return self._vote(c, rt, ent, wf, rec, inst, decision, t, {}, actor, comment)

    def allowed(self, app: str, entity: str, record: Mapping[str, Any] | Any, actor: Actor) -> list[str]:
        """Names of the transitions ``actor`` may fire from ``record``'s current state
        (guards and inputs are not evaluated)."""
        rt, ent, wf = self._spec(app, entity)
        with self.jimu.db.read() as c:
            rec = record if isinstance(record, Mapping) else self._load(c, rt, ent, record, lock=False)
            return self._allowed(c, rt, wf, rec, actor)

    def describe(self, app: str, entity: str, record_id: Any, actor: Actor) -> dict[str, Any]:
        """What a form shows: the state, the allowed transitions with their inputs, and
        the approval step waiting (if any)."""
        rt, ent, wf = self._spec(app, entity)
        with self.jimu.db.read() as c:
            rec = self._load(c, rt, ent, record_id, lock=False)
            names = self._allowed(c, rt, wf, rec, actor)
            inst = ap.current_instance(c, app, entity, rec["id"])
        data = []
        for name in names:
            t = wf.transition(name)
            assert t is not None
            data.append({"name": t.name, "label": t.label.dump(), "to": t.to,
                         "inputs": [f.dump() for f in t.inputs], "approval": t.approval is not None})
        return {"state": rec.get(wf.state_field), "version": rec["version"], "data": data,
                "approval": ap.step_view(inst) if inst else None, "next_cursor": None}

    # Internals ----------------------------------------------------------------------------
    def _spec(self, app: str, entity: str, conn: Connection | None = None
              ) -> tuple[AppRuntime, EntitySpec, WorkflowSpec]:
        rt = self.jimu.apps.get(app, conn)
        ent = rt.entity(entity)
        wf = rt.workflow_for(entity)
        if wf is None:
            raise NotFound(f"{entity} has no workflow", code="workflow.not_found")
        return rt, ent, wf

    @contextlib.contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.jimu.db.write() as c:
                yield c

    def _load(self, c: Connection, rt: AppRuntime, ent: EntitySpec, record_id: Any, lock: bool = True) -> dict[str, Any]:
        if lock and not self.jimu.db.is_sqlite:
            table = rt.tables(ent.name)
            with contextlib.suppress(ValueError, TypeError):
                c.execute(sa.select(table.c.id).where(table.c.id == int(record_id)).with_for_update())
        rec: dict[str, Any] = self.jimu.records.get(rt.name, ent.name, record_id, conn=c)
        return rec

    def _allowed(self, c: Connection, rt: AppRuntime, wf: WorkflowSpec, rec: Mapping[str, Any],
                 actor: Actor) -> list[str]:
        state = rec.get(wf.state_field)
        inst = ap.current_instance(c, rt.name, wf.entity, int(rec["id"]))
        if inst is not None and inst["pending_state"] != state:
            inst = None
        out = []
        for t in wf.transitions:
            if not _leaves(wf, t, state):
                continue
            if inst is not None and vote_kind(t):
                principal = ap.eligible_principal(c, inst, actor.username)
                if principal is not None and not (vote_kind(t) == "approve"
                                                  and ap.self_approval(inst, actor.username, principal)):
                    out.append(t.name)
            elif self._may(t, actor, rt, wf.entity):
                out.append(t.name)
        return out

    @staticmethod
    def _may(t: TransitionSpec, actor: Actor, rt: AppRuntime | None = None, entity: str | None = None) -> bool:
        """The transition's own ``roles``, or a role whose rights on the entity list it
        (DESIGN 8: roles grant transitions per entity; ``*`` grants all)."""
        if actor.system or not t.roles or any(actor.has_role(r) for r in t.roles):
            return True
        if rt is None or entity is None:
            return False
        from jimu.platform.permissions import effective_roles, entity_grant

        roles = effective_roles(rt.spec, actor.roles)
        return entity_grant(rt.spec, roles, entity).can_transition(t.name)

    def _fire(self, c: Connection, rt: AppRuntime, ent: EntitySpec, wf: WorkflowSpec, rec: dict[str, Any],
              name: str, raw_inputs: Mapping[str, Any] | None, actor: Actor, comment: str | None) -> dict[str, Any]:
        state = rec.get(wf.state_field)
        t = wf.transition(name)
        if t is None or not _leaves(wf, t, state):
            allowed = self._allowed(c, rt, wf, rec, actor)
            why = "no such transition" if t is None else f"not allowed from '{state}'"
            raise TransitionNotAllowed(
                f"{ent.name} {rec['id']}: '{name}' is {why}; allowed: {', '.join(allowed) or 'none'}",
                extra={"allowed": allowed, "state": state, "transition": name})
        inst = ap.current_instance(c, rt.name, ent.name, int(rec["id"]))
        kind = vote_kind(t)
        if inst is not None and inst["pending_state"] == state and kind is not None:
            return self._vote(c, rt, ent, wf, rec, inst, kind, t, raw_inputs, actor, comment)
        if not self._may(t, actor, rt, ent.name):
            raise PermissionDenied(f"you may not fire '{t.name}' on {ent.name} (roles: {', '.join(t.roles)})",
                                   code="workflow.transition_forbidden", extra={"transition": t.name})
        env = expression_env(self.jimu.records, c, rt, actor).get()
        inputs = check_inputs(rt.spec, ent, t, raw_inputs, rec, env)
        check_guard(rt.spec, ent, t, rec, inputs, env)
        if inst is not None:
            ap.cancel_instance(c, inst)  # leaving the pending state another way (e.g. cancel)
        after = self._apply(c, rt, ent, wf, rec, t, t.to, inputs, actor, comment, env)
        if t.approval is None:
            return after
        steps = ap.resolve_steps(c, rt.spec, ent.name, t.approval, after, actor.username, env)
        opened = ap.open_instance(c, app=rt.name, entity=ent.name, record=int(rec["id"]), workflow=wf.name,
                                  transition=t.name, pending_state=t.to, from_state=str(state), steps=steps,
                                  submitter=actor.username, title=self._title(ent, after))
        if opened is not None:
            return after
        outcome = self._outcome(wf, t.to, "approve")
        if outcome is None:
            return after
        return self._apply(c, rt, ent, wf, after, outcome, outcome.to, {}, actor, "auto-approved: no step applies",
                           env)

    def _outcome(self, wf: WorkflowSpec, pending: str, kind: str) -> TransitionSpec | None:
        return next((x for x in wf.transitions if vote_kind(x) == kind and _leaves(wf, x, pending)), None)

    def _vote(self, c: Connection, rt: AppRuntime, ent: EntitySpec, wf: WorkflowSpec, rec: dict[str, Any],
              inst: dict[str, Any], kind: str, t: TransitionSpec | None, raw_inputs: Mapping[str, Any] | None,
              actor: Actor, comment: str | None) -> dict[str, Any]:
        step = ap.step_view(inst)
        principal = ap.eligible_principal(c, inst, actor.username)
        if principal is None:
            raise PermissionDenied(
                f"step {step['step']} ({step['name']}) of this approval waits for "
                f"{', '.join(step['approvers'])}; you may not {kind} it",
                code="workflow.not_approver", extra={"transition": t.name if t else kind, "approval": step})
        if kind == "approve" and ap.self_approval(inst, actor.username, principal):
            raise PermissionDenied(
                f"{actor.username} submitted this {ent.name} and may not approve it, not even on behalf of "
                f"{principal} / 提交人不能审批自己提交的单据(委托代审也不行)",
                code="workflow.self_approval", extra={"transition": t.name if t else kind, "approval": step,
                                                      "submitter": inst.get("submitter")})
        env = expression_env(self.jimu.records, c, rt, actor).get()
        inputs: dict[str, Any] = {}
        if t is not None:
            inputs = check_inputs(rt.spec, ent, t, raw_inputs, rec, env)
            if kind == "approve":
                check_guard(rt.spec, ent, t, rec, inputs, env)
        title = self._title(ent, rec)
        outcome = ap.record_vote(c, inst, user=str(actor.username), principal=principal, decision=kind,
                                 comment=comment, title=title)
        self._audit_vote(c, rt, ent, rec, actor, principal, kind, step, outcome, comment)
        if outcome in ("pending", "next"):
            return dict(self.jimu.records.get(rt.name, ent.name, rec["id"], conn=c))
        spec = next((x for x in wf.transitions if x.name == inst["transition"]), None)
        if kind == "reject":
            target = (spec.approval.reject_to if spec and spec.approval else None) or (t.to if t else None)
            target = target or str(inst["from_state"])
        else:
            target = t.to if t else str(inst["pending_state"])
        if t is None:
            t = TransitionSpec.model_validate({"name": kind, "from": [inst["pending_state"]], "to": target})
        return self._apply(c, rt, ent, wf, rec, t, target, inputs, actor, comment, env)

    def _apply(self, c: Connection, rt: AppRuntime, ent: EntitySpec, wf: WorkflowSpec, rec: dict[str, Any],
               t: TransitionSpec, to: str, inputs: Mapping[str, Any], actor: Actor, comment: str | None,
               env: Any) -> dict[str, Any]:
        data = {**stored_inputs(ent, inputs, wf.state_field), **set_values(rt.spec, ent, t, rec, inputs, env)}
        # Partial receipts/shipments: the per-line quantities are planned (and refused when
        # above what is left) before anything is written; the progress fields and the state
        # (``partial_to`` while a line has a rest) go with the transition's own update.
        if to == STAY:  # ``to: "*"``: an action on the record that leaves it in its state
            to = str(rec.get(wf.state_field))
        plans = plan_progress(c, rt, ent, t, rec, inputs)
        for plan in plans.values():
            data[plan.lines_field] = [{"id": ln["id"], plan.progress_field: plan.done[str(ln["id"])]}
                                      for ln in rec.get(plan.lines_field) or []]
            if not plan.complete and t.partial_to:
                to = t.partial_to
        data[wf.state_field] = to
        extra = {"transition": t.name, "transition_label": t.label.dump(), "from": rec.get(wf.state_field),
                 "to": to, "comment": comment}
        # ``rec`` was read in this transaction (or returned by the last write in it); the
        # UPDATE's version check still guards it.
        after: dict[str, Any] = self.jimu.records.update(rt.name, ent.name, rec["id"], data, actor=actor, conn=c,
                                                         _allow_state=True, _extra=extra, _action="transition",
                                                         _before=rec)
        if t.actions:
            from jimu.runtime.workflow.actions import run_transition_actions

            # Actions marked ``before_postings`` (e.g. a stocktake's book figure at posting)
            # write fields the postings read, so they run first and the record is re-read.
            if run_transition_actions(self.jimu, c, rt, ent, after, t, actor, phase="before_postings"):
                after = dict(self.jimu.records.get(rt.name, ent.name, after["id"], conn=c))
        run_transition_postings(c, rt, ent, after, t, actor, self.jimu.records, plans)
        if t.actions:
            from jimu.runtime.workflow.actions import run_transition_actions

            if run_transition_actions(self.jimu, c, rt, ent, after, t, actor):
                after = dict(self.jimu.records.get(rt.name, ent.name, after["id"], conn=c))
        from jimu.runtime.stock.allocations import record_allocations

        # Lines that took batch stock say which batches (from the movements just written).
        if record_allocations(c, rt, ent.name, after):
            after = dict(self.jimu.records.get(rt.name, ent.name, after["id"], conn=c))
        return after

    @staticmethod
    def _title(ent: EntitySpec, rec: Mapping[str, Any]) -> str:
        return str(rec.get(ent.title) or f"#{rec.get('id')}")

    def _audit_vote(self, c: Connection, rt: AppRuntime, ent: EntitySpec, rec: Mapping[str, Any], actor: Actor,
                    principal: str, kind: str, step: Mapping[str, Any], outcome: str, comment: str | None) -> None:
        who = actor.username or "system"
        behalf = "" if principal == actor.username else f"（代 {principal}）"
        behalf_en = "" if principal == actor.username else f" on behalf of {principal}"
        zh_kind = "同意" if kind == "approve" else "驳回"
        step_zh = step["label"].get("zh") or step["name"]
        summary = (f"{who}{behalf} {zh_kind}了 {ent.label.zh or ent.name} {self._title(ent, rec)} 的第 {step['step']} 步"
                   f"审批（{step_zh}）" + (f"：{comment}" if comment else ""),
                   f"{who}{behalf_en} {kind}d step {step['step']} ({step['name']}) of {ent.label.en or ent.name} "
                   f"{self._title(ent, rec)}: {outcome}" + (f" — {comment}" if comment else ""))
        record_audit(c, app=rt.name, user=actor.username, action="approval", entity=ent, record=rec["id"],
                     changes=[], summary=summary, source=actor.source,
                     document=f"approval:{step['approval']}:{step['step']}:{kind}")

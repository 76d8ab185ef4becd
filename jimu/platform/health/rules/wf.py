"""WF: workflows — unreachable and dead-end states, transitions nobody may fire, approvals
with no possible approver, timers without escalation, a state field writable outside the
workflow, workflows that never finish."""

from __future__ import annotations

from jimu.platform.health.model import Fix, Hit, Rule, ScanContext
from jimu.platform.health.rules._util import copy_app
from jimu.platform.specs import ApproverRule, AppSpec, WorkflowSpec

__all__ = ["RULES"]


def _reachable(wf: WorkflowSpec) -> set[str]:
    start = wf.initial_state
    if start is None:
        return set()
    seen = {start.name}
    frontier = [start.name]
    while frontier:
        state = frontier.pop()
        for t in wf.transitions:
            if state not in t.from_ and "*" not in t.from_:
                continue
            for target in (t.to, t.partial_to):
                if target is not None and target not in seen:
                    seen.add(target)
                    frontier.append(target)
    return seen


def check_unreachable(ctx: ScanContext) -> list[Hit]:
    hits = []
    for wf in ctx.app.workflows:
        reached = _reachable(wf)
        for s in wf.states:
            if s.name not in reached:
                hits.append(Hit(f"state:{wf.name}.{s.name}", f"workflows.{wf.name}.states.{s.name}",
                                f"state '{s.name}' of workflow '{wf.name}' cannot be reached from the initial state"))
    return hits


def check_dead_ends(ctx: ScanContext) -> list[Hit]:
    hits = []
    for wf in ctx.app.workflows:
        exits = {s for t in wf.transitions for s in t.from_}
        for s in wf.states:
            if not s.final and s.name not in exits and "*" not in exits:
                hits.append(Hit(f"state:{wf.name}.{s.name}", f"workflows.{wf.name}.states.{s.name}",
                                f"state '{s.name}' of workflow '{wf.name}' is not final but has no way out"))
    return hits


def check_nobody_fires(ctx: ScanContext) -> list[Hit]:
    hits = []
    for wf in ctx.app.workflows:
        granted = set()
        for role in ctx.app.roles:
            rights = role.rights(wf.entity)
            if rights:
                granted.update(rights.transitions)
        for t in wf.transitions:
            if not t.roles and t.name not in granted and "*" not in granted:
                hits.append(Hit(f"transition:{wf.name}.{t.name}", f"workflows.{wf.name}.transitions.{t.name}",
                                f"no role may fire transition '{t.name}' of workflow '{wf.name}'"))
    return hits


def _possible(ctx: ScanContext, rule: ApproverRule) -> bool:
    """Whether somebody can decide by ``rule``: a role some active user holds, an active
    user (when the scan knows the users: ``stats["role_holders"]``/``["active_users"]``)."""
    if rule.kind == "role":
        return _role_held(ctx, rule.value)
    if rule.kind == "user":
        people = ctx.stats.get("active_users")
        return bool(rule.value) and (people is None or rule.value in people)
    return bool(rule.value) or rule.kind == "manager"


def _role_held(ctx: ScanContext, role: str | None) -> bool:
    """The role is defined and, when the scan knows who holds what, held by an active user."""
    if not role or role not in ctx.roles:
        return False
    holders = ctx.stats.get("role_holders")
    return holders is None or role not in holders or int(holders[role]) > 0


def check_no_approver(ctx: ScanContext) -> list[Hit]:
    hits = []
    for wf in ctx.app.workflows:
        for t in wf.transitions:
            if t.approval is None:
                continue
            for step in t.approval.steps:
                if any(_possible(ctx, a) for a in step.approvers) or _role_held(ctx, step.fallback_role):
                    continue
                who = ", ".join(f"{a.kind} {a.value}" for a in step.approvers) or "nobody"
                hits.append(Hit(f"transition:{wf.name}.{t.name}",
                                f"workflows.{wf.name}.transitions.{t.name}.approval.steps.{step.name}",
                                f"approval step '{step.name}' of '{wf.name}.{t.name}' has no possible approver "
                                f"({who}; role undefined or held by nobody) and no fallback role"))
    return hits


_ESCALATING = frozenset({"escalate", "transition", "run", "action", "automation"})


def check_timer_escalation(ctx: ScanContext) -> list[Hit]:
    hits = []
    for wf in ctx.app.workflows:
        for timer in wf.timers:
            action = timer.action or {}
            kind = str(action.get("kind") or action.get("type") or "")
            if kind not in _ESCALATING and not action.get("escalate_to"):
                hits.append(Hit(f"timer:{wf.name}.{timer.name}", f"workflows.{wf.name}.timers.{timer.name}",
                                f"timer '{timer.name}' of '{wf.name}' only {kind or 'does nothing'}: "
                                "nobody is escalated to when it fires"))
    return hits


def check_state_writable(ctx: ScanContext) -> list[Hit]:
    hits = []
    for wf in ctx.app.workflows:
        for role in ctx.app.roles:
            rights = role.entities.get(wf.entity)
            if rights and rights.fields.get(wf.state_field) == "write":
                hits.append(Hit(f"role:{role.name}", f"roles.{role.name}.entities.{wf.entity}.fields.{wf.state_field}",
                                f"role '{role.name}' may write '{wf.entity}.{wf.state_field}' outside workflow "
                                f"'{wf.name}'"))
    return hits


def _fix_state_read(app: AppSpec, hits: list[Hit]) -> AppSpec:
    new = copy_app(app)
    for h in hits:
        parts = h.path.split(".")  # roles.R.entities.E.fields.F
        role = new.role(parts[1])
        if role is not None and parts[3] in role.entities:
            role.entities[parts[3]].fields[parts[5]] = "read"
    return new


def check_no_final(ctx: ScanContext) -> list[Hit]:
    return [Hit(f"workflow:{wf.name}", f"workflows.{wf.name}.states",
                f"workflow '{wf.name}' has no final state: records never finish")
            for wf in ctx.app.workflows if wf.states and not any(s.final for s in wf.states)]


RULES = [
    Rule("WF-01", "WF", "medium", "不可达状态", "Unreachable state", check_unreachable,
         "Add a transition into the state or remove it."),
    Rule("WF-02", "WF", "high", "非终态无出口", "Dead-end non-final state", check_dead_ends,
         "Add a transition out of the state (e.g. cancel) or mark it final."),
    Rule("WF-03", "WF", "high", "无人可执行的流转", "Transition nobody may fire", check_nobody_fires,
         "List the roles allowed on the transition, or grant it in a role's transitions."),
    Rule("WF-04", "WF", "critical", "审批无可用审批人", "Approval with no possible approver", check_no_approver,
         "Name a defined role that users hold, or set a fallback role; otherwise documents wait forever."),
    Rule("WF-05", "WF", "medium", "定时器未升级", "Timer without escalation", check_timer_escalation,
         "Let the timer escalate (action kind 'escalate' or escalate_to) instead of only notifying."),
    Rule("WF-06", "WF", "high", "状态字段可被直接修改", "State field writable outside the workflow",
         check_state_writable, "Make the state field read-only for every role; transitions change it.",
         Fix(lambda hits: [f"set {h.path} to 'read'" for h in hits], _fix_state_read)),
    Rule("WF-07", "WF", "medium", "工作流没有终态", "Workflow without final state", check_no_final,
         "Mark the closing states (completed, cancelled, ...) final."),
]

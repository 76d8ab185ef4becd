"""Publish-time checks of workflow specs, as findings with stable ids.

WFV-E001 no states / no initial state           WFV-E002 unknown state in a transition
WFV-E003 guard/condition/set does not compile    WFV-E004 approval step with no approver
WFV-E005 timer with a bad duration/state/action  WFV-W001 unreachable state
WFV-W002 dead end (non-final state, no way out)  WFV-W003 transition nobody may fire
WFV-W004 approval without an approve transition  WFV-E006 state field missing on the entity
"""

from __future__ import annotations

from jimu.core.errors import ExpressionError
from jimu.platform.expressions import compile_expression
from jimu.platform.findings import Finding
from jimu.platform.specs import AppSpec
from jimu.platform.specs.workflow import STAY, TransitionSpec, WorkflowSpec

__all__ = ["workflow_findings"]


def workflow_findings(app: AppSpec) -> list[Finding]:
    """Every workflow problem of ``app`` (errors block publishing, warnings do not)."""
    out: list[Finding] = []
    for wf in app.workflows:
        out.extend(_check(app, wf))
    return out


def _vote(t: TransitionSpec, kind: str) -> bool:
    return t.name == kind or t.name.startswith(kind)


def _check(app: AppSpec, wf: WorkflowSpec) -> list[Finding]:
    out: list[Finding] = []
    base = f"workflows.{wf.name}"
    names = {s.name for s in wf.states}
    ent = app.entity(wf.entity)
    if ent is not None and ent.field(wf.state_field) is None:
        out.append(Finding("WFV-E006", "error", f"{base}.state_field",
                           f"workflow {wf.name}: entity {wf.entity} has no field '{wf.state_field}'",
                           "add a choice field for the state"))
    initial = wf.initial_state
    if initial is None:
        return out + [Finding("WFV-E001", "error", base, f"workflow {wf.name} has no states",
                              "add states with one marked initial")]
    edges: dict[str, set[str]] = {s: set() for s in names}
    role_names = {r.name for r in app.roles}
    for t in wf.transitions:
        tp = f"{base}.transitions.{t.name}"
        targets = [x for x in [t.to, t.partial_to] if x and x != STAY]  # ``*``: stays where it was
        for s in [*t.from_, *targets]:
            if s != "*" and s not in names:
                out.append(Finding("WFV-E002", "error", tp, f"transition {t.name} uses unknown state '{s}'",
                                   f"states: {', '.join(sorted(names))}"))
        sources = names if (not t.from_ or "*" in t.from_) else set(t.from_) & names
        for s in sources:
            st = wf.state(s)
            if t.from_ or (st is not None and not st.final):
                edges.setdefault(s, set()).update(targets)
        if t.approval is not None:
            if t.approval.reject_to:
                edges.setdefault(t.to, set()).add(t.approval.reject_to)
            if not any(_vote(x, "approve") and (t.to in x.from_ or not x.from_) for x in wf.transitions):
                out.append(Finding("WFV-W004", "warning", tp,
                                   f"transition {t.name} opens an approval but nothing approves out of '{t.to}'",
                                   "add an 'approve' transition from that state"))
            for i, step in enumerate(t.approval.steps):
                sp = f"{tp}.approval.steps.{step.name or i}"
                vacant = [r.value for r in step.approvers if r.kind == "role" and role_names
                          and r.value not in role_names]
                if not step.approvers and not step.fallback_role:
                    out.append(Finding("WFV-E004", "error", sp, f"approval step {step.name} has no approver",
                                       "add an approver rule or a fallback_role"))
                elif vacant and len(vacant) == len(step.approvers) and not step.fallback_role:
                    out.append(Finding("WFV-E004", "error", sp,
                                       f"approval step {step.name}: role(s) {', '.join(vacant)} do not exist",
                                       "use an existing role or set fallback_role"))
                if step.condition:
                    out.extend(_expr(app, wf.entity, step.condition, "condition", sp + ".condition", {}))
        if t.roles and role_names and not set(t.roles) & role_names and not _vote(t, "approve") \
                and not _vote(t, "reject"):
            out.append(Finding("WFV-W003", "warning", tp, f"nobody may fire {t.name}: roles "
                               f"{', '.join(t.roles)} do not exist", "grant it to an existing role"))
        extra = {f.name: f.value_type for f in t.inputs}
        if t.guard:
            out.extend(_expr(app, wf.entity, t.guard, "guard", tp + ".guard", extra))
        for fname, source in t.set.items():
            if ent is not None and ent.field(fname) is None:
                out.append(Finding("WFV-E003", "error", f"{tp}.set.{fname}",
                                   f"transition {t.name} sets unknown field '{fname}'", "pick a field of the entity"))
            out.extend(_expr(app, wf.entity, source, "formula", f"{tp}.set.{fname}", extra))
    reach = {initial.name}
    todo = [initial.name]
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in reach:
                reach.add(nxt)
                todo.append(nxt)
    for s in wf.states:
        sp = f"{base}.states.{s.name}"
        if s.name not in reach:
            out.append(Finding("WFV-W001", "warning", sp, f"state {s.name} cannot be reached from {initial.name}",
                               "add a transition into it or remove it"))
        if not s.final and not edges.get(s.name):
            out.append(Finding("WFV-W002", "warning", sp, f"state {s.name} is a dead end (not final, no way out)",
                               "mark it final or add a transition out of it"))
    for timer in wf.timers:
        tp = f"{base}.timers.{timer.name}"
        problems = []
        if timer.state is not None and timer.state not in names:
            problems.append(f"unknown state '{timer.state}'")
        for dur in (timer.after, timer.offset):
            if dur:
                try:
                    from jimu.runtime.workflow.timers import signed_duration

                    signed_duration(dur)
                except ValueError:
                    problems.append(f"bad duration {dur!r}")
        if not timer.after and not timer.at_field:
            problems.append("neither 'after' nor 'at_field'")
        action = timer.action or {}
        if action.get("kind") == "transition" and wf.transition(str(action.get("transition"))) is None:
            problems.append(f"unknown transition {action.get('transition')!r}")
        for p in problems:
            out.append(Finding("WFV-E005", "error", tp, f"timer {timer.name}: {p}", "fix the timer"))
    return out


def _expr(app: AppSpec, entity: str, source: str, purpose: str, path: str, extra: dict[str, str]) -> list[Finding]:
    try:
        compile_expression(source, app, entity, purpose=purpose, extra_names=extra)
    except ExpressionError as exc:
        return [Finding("WFV-E003", "error", path, f"{purpose} '{source}': {exc.plain_message}", exc.hint or "")]
    return []

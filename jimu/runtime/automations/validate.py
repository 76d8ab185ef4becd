"""Publish-time checks of automation specs, as findings with stable ids.

AUT-E001 unknown trigger type            AUT-E002 condition/value does not compile
AUT-E003 unknown action type             AUT-W001 the automation can trigger itself (loop)
AUT-W002 automations trigger each other in a cycle
AUT-E005 a script's cpu/timeout is not a positive number within the sandbox's hard maxima
AUT-E006 a chat_order action in an app without items or sales orders with lines
"""

from __future__ import annotations

from typing import Any

from jimu.core.errors import ExpressionError
from jimu.platform.expressions import compile_expression
from jimu.platform.findings import Finding
from jimu.platform.hooks import collect
from jimu.platform.specs import AppSpec
from jimu.runtime.sandbox.limits import MAX_CPU, MAX_WALL, limit_problems

__all__ = ["automation_findings", "TRIGGERS"]

TRIGGERS = ("created", "updated", "transition", "schedule", "webhook_in")
_WRITES = {"set_fields": "record", "transition": "record", "script": "record", "create_record": "entity"}


def _writes(auto: Any) -> set[tuple[str, str]]:
    """(entity, event type) pairs the automation's actions may cause."""
    out: set[tuple[str, str]] = set()
    for a in auto.actions:
        t = a.get("type")
        if t == "set_fields" and auto.entity:
            out.add((auto.entity, "updated"))
        elif t == "transition" and auto.entity:
            out.update({(auto.entity, "transition"), (auto.entity, "updated")})
        elif t == "script" and auto.entity and a.get("apply"):
            out.add((auto.entity, "updated"))
        elif t == "create_record" and a.get("entity"):
            out.add((str(a["entity"]), "created"))
        elif t == "chat_order":
            out.add(("sales_order", "created"))
    return out


def _chat_ready(app: AppSpec) -> bool:
    order = app.entity("sales_order")
    lines = order.field("lines") if order is not None else None
    return app.entity("item") is not None and lines is not None and lines.type == "child_table"


def _listens(auto: Any) -> tuple[str, str] | None:
    t = (auto.trigger or {}).get("type")
    return (auto.entity, t) if auto.entity and t in ("created", "updated", "transition") else None


def automation_findings(app: AppSpec) -> list[Finding]:
    """Every automation problem of ``app``: errors block publishing, loops are warnings
    (they are also stopped at run time by the depth counter)."""
    out: list[Finding] = []
    known = {a.name for a in collect("jimu_automation_actions")}
    for auto in app.automations:
        base = f"automations.{auto.name}"
        t = (auto.trigger or {}).get("type")
        if t not in TRIGGERS:
            out.append(Finding("AUT-E001", "error", f"{base}.trigger", f"automation {auto.name}: unknown trigger {t!r}",
                               f"use one of {', '.join(TRIGGERS)}"))
        if auto.condition and auto.entity:
            try:
                compile_expression(auto.condition, app, auto.entity, purpose="condition")
            except ExpressionError as exc:
                out.append(Finding("AUT-E002", "error", f"{base}.condition",
                                   f"automation {auto.name}: condition does not compile: {exc.plain_message}", exc.hint or ""))
        for i, a in enumerate(auto.actions):
            if a.get("type") not in known:
                out.append(Finding("AUT-E003", "error", f"{base}.actions[{i}]",
                                   f"automation {auto.name}: unknown action {a.get('type')!r}",
                                   f"use one of {', '.join(sorted(known))}"))
            if a.get("type") == "chat_order" and not _chat_ready(app):
                out.append(Finding("AUT-E006", "error", f"{base}.actions[{i}]",
                                   f"automation {auto.name}: chat_order needs the item and sales_order entities "
                                   "(sales_order with its lines)", "install the item and sales_order units"))
            if a.get("type") == "script":
                for key, message in limit_problems(a):
                    out.append(Finding("AUT-E005", "error", f"{base}.actions[{i}].{key}",
                                       f"automation {auto.name}: {message}",
                                       f"scripts may use at most {MAX_CPU:g} s of CPU and {MAX_WALL:g} s in all"))
        me = _listens(auto)
        if me is not None and me in _writes(auto):
            fields = set((auto.trigger or {}).get("fields") or [])
            written = {k for a in auto.actions if a.get("type") == "set_fields" for k in (a.get("values") or {})}
            if not fields or fields & written or me[1] != "updated":
                out.append(Finding("AUT-W001", "high", base,
                                   f"automation {auto.name} triggers itself: its actions cause the {me[1]} event "
                                   f"on {me[0]} it listens to",
                                   "narrow the trigger (fields) or the condition so the action's own change does "
                                   "not match; runs stop at the depth limit"))
    edges: dict[str, set[str]] = {}
    for a in app.automations:
        for b in app.automations:
            lb = _listens(b)
            if a.name != b.name and lb is not None and lb in _writes(a):
                edges.setdefault(a.name, set()).add(b.name)
    reported: set[frozenset[str]] = set()
    for start in edges:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start and len(path) > 1 and frozenset(path) not in reported:
                    reported.add(frozenset(path))
                    out.append(Finding("AUT-W002", "high", f"automations.{start}",
                                       "automations trigger each other in a cycle: " + " → ".join([*path, start]),
                                       "break the cycle with a condition; runs stop at the depth limit"))
                elif nxt not in path and len(path) < 8:
                    stack.append((nxt, [*path, nxt]))
    return out

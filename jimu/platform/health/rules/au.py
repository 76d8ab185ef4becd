"""AU: automations — update loops, webhooks without retries or signatures, scripts without
a time limit.

The automation shapes read here: ``trigger = {"kind": "record", "event": "updated" |
"created" | "saved", "entity"?, "fields"?: [...]}`` or ``{"kind": "webhook", "secret"?}``;
actions ``{"kind": "update" | "set_field", "entity"?, "set": {field: expr}}``,
``{"kind": "webhook", "url", "retry"?, "secret"?}``, ``{"kind": "script", "timeout"?}``.
``type`` is accepted for ``kind``.
"""

from __future__ import annotations

from typing import Any

from jimu.platform.health.model import Hit, Rule, ScanContext
from jimu.platform.specs import AutomationSpec

__all__ = ["RULES"]

_UPDATE_KINDS = frozenset({"update", "set_field", "set", "update_record"})
_UPDATE_EVENTS = frozenset({"updated", "saved", "changed", "any", "created_or_updated"})


def _kind(obj: dict[str, Any]) -> str:
    return str(obj.get("kind") or obj.get("type") or "")


def _updates(auto: AutomationSpec) -> list[tuple[str, set[str]]]:
    out = []
    for action in auto.actions:
        if _kind(action) in _UPDATE_KINDS:
            entity = str(action.get("entity") or auto.entity or "")
            fields = set(action.get("set") or {}) | ({str(action["field"])} if action.get("field") else set())
            out.append((entity, fields))
    return out


def _triggered_by(auto: AutomationSpec, entity: str, fields: set[str]) -> bool:
    t = auto.trigger
    if not auto.enabled or _kind(t) not in ("record", "") or str(t.get("event", "")) not in _UPDATE_EVENTS:
        return False
    if str(t.get("entity") or auto.entity or "") != entity:
        return False
    watched = set(t.get("fields") or [])
    return not watched or not fields or bool(watched & fields)


def check_loops(ctx: ScanContext) -> list[Hit]:
    autos = [a for a in ctx.app.automations if a.enabled]
    edges = {a.name: [b.name for b in autos for ent, fs in _updates(a) if _triggered_by(b, ent, fs)] for a in autos}
    hits, reported = [], set()
    for start in edges:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in edges[node]:
                if nxt == start and start not in reported:
                    reported.update(trail)
                    hits.append(Hit(f"automation:{start}", f"automations.{start}",
                                    f"automation loop: {' → '.join([*trail, start])} (each update triggers the next)"))
                elif nxt not in trail and len(trail) < 20:
                    stack.append((nxt, [*trail, nxt]))
    return hits


def _webhooks(ctx: ScanContext) -> list[tuple[AutomationSpec, str, dict[str, Any]]]:
    out = []
    for auto in ctx.app.automations:
        if _kind(auto.trigger) == "webhook":
            out.append((auto, f"automations.{auto.name}.trigger", auto.trigger))
        for i, action in enumerate(auto.actions):
            if _kind(action) == "webhook":
                out.append((auto, f"automations.{auto.name}.actions.{action.get('name', i)}", action))
    return out


def check_webhook_retry(ctx: ScanContext) -> list[Hit]:
    return [Hit(f"automation:{a.name}", path, f"webhook of automation '{a.name}' is sent once: no retry")
            for a, path, hook in _webhooks(ctx)
            if not path.endswith(".trigger") and not (hook.get("retry") or hook.get("retries") or hook.get("max_attempts"))]


def check_webhook_signature(ctx: ScanContext) -> list[Hit]:
    return [Hit(f"automation:{a.name}", path, f"webhook of automation '{a.name}' is not signed (no secret)")
            for a, path, hook in _webhooks(ctx)
            if not (hook.get("secret") or hook.get("signing_secret") or hook.get("signature"))]


def check_script_timeout(ctx: ScanContext) -> list[Hit]:
    hits = []
    for auto in ctx.app.automations:
        for i, action in enumerate(auto.actions):
            if _kind(action) in ("script", "python") and not action.get("timeout"):
                hits.append(Hit(f"automation:{auto.name}", f"automations.{auto.name}.actions.{action.get('name', i)}",
                                f"script action of automation '{auto.name}' has no timeout"))
    return hits


RULES = [
    Rule("AU-01", "AU", "high", "自动化循环触发", "Automation loop", check_loops,
         "Narrow the trigger to fields the action does not set, or add a condition that stops the loop."),
    Rule("AU-02", "AU", "medium", "Webhook 无重试", "Webhook without retry", check_webhook_retry,
         "Set retry (e.g. {\"attempts\": 5, \"backoff\": \"PT1M\"}) so a brief outage loses nothing."),
    Rule("AU-03", "AU", "high", "Webhook 未签名", "Webhook without signature", check_webhook_signature,
         "Set a secret: outgoing calls are signed (HMAC), incoming ones are verified."),
    Rule("AU-04", "AU", "medium", "脚本未设置超时", "Script without timeout", check_script_timeout,
         "Set timeout (seconds) on the script action; the sandbox also caps it."),
]

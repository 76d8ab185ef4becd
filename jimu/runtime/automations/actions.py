"""Built-in automation actions, registered through ``jimu_automation_actions`` like any
CBU's: set_fields, create_record, transition, notify (the workflow inbox), webhook (queue a
delivery on a configured webhook) and script (the sandbox, as the triggering user, with
no transaction open: see :func:`_script`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from jimu.core import clock
from jimu.core.errors import ValidationError
from jimu.platform.expressions import compile_expression

__all__ = ["ActionKind", "BUILTIN_ACTIONS"]


@dataclass(frozen=True)
class ActionKind:
    """An automation action: ``run(ctx, spec)``. With ``in_transaction`` (the default)
    it runs inside the automation's write transaction (``ctx.conn``); without, ``ctx.conn``
    is None and the action must open its own short transactions (it may take long)."""

    name: str
    description: str
    run: Callable[[Any, Mapping[str, Any]], Any]
    in_transaction: bool = True


def _values(ctx: Any, entity: str | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """Each value is an expression evaluated on the triggering record (strings), or a literal."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, str) and ctx.entity:
            out[k] = compile_expression(v, ctx.rt.spec, ctx.entity, purpose="default").evaluate(ctx.record or {})
        else:
            out[k] = v
    return out


def _set_fields(ctx: Any, spec: Mapping[str, Any]) -> None:
    ctx.jimu.records.update(ctx.app, ctx.entity, ctx.event["record"], _values(ctx, ctx.entity, spec.get("values") or {}),
                            actor=ctx.actor, conn=ctx.conn)


def _create_record(ctx: Any, spec: Mapping[str, Any]) -> None:
    ctx.jimu.records.create(ctx.app, str(spec["entity"]), _values(ctx, ctx.entity, spec.get("values") or {}),
                            actor=ctx.actor, conn=ctx.conn)


def _transition(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.workflow import WorkflowEngine

    WorkflowEngine(ctx.jimu).fire(ctx.app, ctx.entity, ctx.event["record"], str(spec["transition"]),
                                  spec.get("inputs") or {}, ctx.actor, spec.get("comment"), conn=ctx.conn)


def _notify(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.platform.store.tables import users
    from jimu.runtime.workflow.inbox import add_entries

    names = list(spec.get("users") or [])
    roles = set(spec.get("roles") or [])
    if roles:
        for row in ctx.conn.execute(sa.select(users.c.username, users.c.roles).where(users.c.active.is_(True))):
            r = row.roles if isinstance(row.roles, list) else json.loads(row.roles or "[]")
            if roles & set(r):
                names.append(row.username)
    title = str(spec.get("title") or f"{ctx.entity} #{ctx.event['record']}")
    add_entries(ctx.conn, names, app=ctx.app, kind="notification", title=title, entity=ctx.entity,
                record=int(ctx.event["record"]) if ctx.event["record"] else None)


def _webhook(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.access import AccessPolicy
    from jimu.runtime.events.tables import deliveries, webhooks
    from jimu.runtime.events.visibility import render_event
    from jimu.runtime.events.webhooks import build_body, webhook_actor

    hook = ctx.conn.execute(sa.select(webhooks).where(webhooks.c.app == ctx.app, webhooks.c.name == spec["webhook"],
                                                      webhooks.c.direction == "out")).mappings().first()
    if hook is None:
        raise ValidationError(f"no outgoing webhook named {spec['webhook']!r}")
    data = render_event(AccessPolicy(ctx.jimu, ctx.rt, webhook_actor(hook)), ctx.event)
    if data is None:
        return
    at = clock.now()
    ctx.conn.execute(deliveries.insert().values(
        webhook_id=hook["id"], event_id=f"{ctx.event['id'][:27]}-a{hook['id']}"[:36], app=ctx.app,
        body=build_body(hook, ctx.event, data), status="pending", attempts=0, next_at=at, created_at=at))


def _script(ctx: Any, spec: Mapping[str, Any]) -> None:
    """Run the script in the sandbox as ``ctx.actor`` with no transaction open
    (``ctx.conn`` is None): its ``api`` calls go through the record gate with the user's
    policy, each write committing on its own (read-your-writes, no write lock held while
    the script runs). ``apply`` writes the script's ``result`` dict to the triggering
    record through the gate too (field rights, state lock, row filter). CPU and wall time
    come from the spec, capped by :mod:`jimu.runtime.sandbox.limits`."""
    from jimu.runtime.access import AccessPolicy, gate
    from jimu.runtime.sandbox import get_pool
    from jimu.runtime.sandbox.api import record_api
    from jimu.runtime.sandbox.limits import script_limits

    policy = AccessPolicy.for_actor(ctx.jimu, ctx.app, ctx.actor)
    rendered = policy.render(ctx.entity, ctx.record) if ctx.entity and ctx.record else dict(ctx.record or {})
    cpu, wall = script_limits(spec)
    out = get_pool().run(str(spec.get("code") or ""), {"record": rendered, "event": {
        "kind": ctx.event["kind"], "entity": ctx.entity, "id": ctx.event["record"]}},
        record_api(policy), cpu=cpu, wall=wall)
    if spec.get("apply") and isinstance(out.result, dict) and out.result and ctx.entity:
        gate.update(policy, ctx.entity, ctx.event["record"], out.result)


BUILTIN_ACTIONS = [
    ActionKind("set_fields", "Set fields of the triggering record (values are expressions).", _set_fields),
    ActionKind("create_record", "Create a record of another entity.", _create_record),
    ActionKind("transition", "Fire a workflow transition on the triggering record.", _transition),
    ActionKind("notify", "Inbox notification to users and/or roles.", _notify),
    ActionKind("webhook", "Queue a delivery on an outgoing webhook (DingTalk/WeCom/JSON).", _webhook),
    ActionKind("script", "Run a sandboxed script as the triggering user.", _script, in_transaction=False),
]

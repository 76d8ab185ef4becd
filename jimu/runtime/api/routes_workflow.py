"""Workflow routes: transitions, approvals, the inbox and delegations.

```
GET  /api/apps/{app}/data/{entity}/{id}/transitions            allowed transitions + inputs
POST /api/apps/{app}/data/{entity}/{id}/transitions/{name}     {"inputs": {...}, "comment": "..."}
POST /api/apps/{app}/data/{entity}/{id}/approvals/{step}/approve|reject   {"comment": "..."}
GET  /api/apps/{app}/inbox?limit=&cursor=&unread=1             approvals and notifications for the caller
POST /api/apps/{app}/inbox/{id}/read
POST /api/apps/{app}/delegations                               {"delegate", "from"?, "until"?}
```

The record must be readable by the caller (row filter: 404 otherwise); the answer is the
record rendered by the caller's field rights. Errors are problem+json (409 with
``allowed``, 403 naming the transition, 422 per input).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core import clock
from jimu.core.errors import FieldError, ValidationError
from jimu.platform.permissions import is_admin
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.api.util import json_response, page, path_id, query_flag, query_id, query_int, read_json
from jimu.runtime.scheduler import register_with_due
from jimu.runtime.workflow import WorkflowEngine, add_delegation, list_inbox, mark_read

__all__ = ["routes"]

register_with_due()


def _policy(request: Request) -> AccessPolicy:
    return AccessPolicy.for_actor(jimu_of(request), str(request.path_params["app"]), current_actor(request))


def _engine(request: Request) -> WorkflowEngine:
    jimu = jimu_of(request)
    engine = jimu.settings.get("_workflow_engine")
    if engine is None:
        engine = jimu.settings["_workflow_engine"] = WorkflowEngine(jimu)
    return engine  # type: ignore[no-any-return]


def _comment(body: dict[str, Any]) -> str | None:
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ValidationError("comment must be text", errors=[FieldError("comment", "type", "expected text")])
    return comment


async def list_transitions(request: Request) -> Response:
    """GET .../data/{entity}/{id}/transitions: what the caller may fire, with inputs."""
    policy = _policy(request)
    entity = str(request.path_params["entity"])
    rec = policy.load(entity, request.path_params["id"])
    return json_response(_engine(request).describe(policy.app, entity, rec["id"], policy.actor))


async def fire_transition(request: Request) -> Response:
    """POST .../data/{entity}/{id}/transitions/{transition} {inputs, comment}."""
    policy = _policy(request)
    entity = str(request.path_params["entity"])
    rec = policy.load(entity, request.path_params["id"])
    body = await read_json(request, allowed=("inputs", "comment"), optional=True)
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise ValidationError("inputs must be an object", errors=[FieldError("inputs", "type", "expected an object")])
    after = _engine(request).fire(policy.app, entity, rec["id"], str(request.path_params["transition"]), inputs,
                                  policy.actor, _comment(body))
    return json_response(policy.render(entity, after), 200, {"ETag": f'"{after["version"]}"'})


async def decide(request: Request) -> Response:
    """POST .../data/{entity}/{id}/approvals/{step}/approve|reject {comment}."""
    policy = _policy(request)
    entity = str(request.path_params["entity"])
    rec = policy.load(entity, request.path_params["id"])
    body = await read_json(request, allowed=("comment",), optional=True)
    after = _engine(request).decide(policy.app, entity, rec["id"], str(request.path_params["step"]),
                                    str(request.path_params["decision"]), policy.actor, _comment(body))
    return json_response(policy.render(entity, after), 200, {"ETag": f'"{after["version"]}"'})


async def inbox(request: Request) -> Response:
    """GET /api/apps/{app}/inbox: the caller's approvals and notifications, newest first."""
    policy = _policy(request)
    limit = query_int(request, "limit", 50)
    after_id = query_id(request, "cursor")
    jimu = jimu_of(request)
    with jimu.db.read() as c:
        rows = list_inbox(c, policy.app, str(policy.actor.username), after_id=after_id, limit=limit + 1,
                          unread_only=query_flag(request, "unread"))
    more = len(rows) > limit
    rows = rows[:limit]
    return page(rows, str(rows[-1]["id"]) if more and rows else None)


async def read_entry(request: Request) -> Response:
    """POST /api/apps/{app}/inbox/{id}/read."""
    policy = _policy(request)
    entry = path_id(request, "no inbox entry", "inbox.not_found")
    with jimu_of(request).db.write() as c:
        return json_response(mark_read(c, policy.app, str(policy.actor.username), entry))


def _when(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{key} must be an ISO datetime",
                              errors=[FieldError(key, "type", "expected an ISO 8601 datetime")]) from None


async def delegate(request: Request) -> Response:
    """POST /api/apps/{app}/delegations {delegate, from?, until?}: the caller's approvals
    may be decided by ``delegate`` in that window."""
    policy = _policy(request)
    body = await read_json(request, allowed=("delegate", "from", "until"))
    target = body.get("delegate")
    jimu = jimu_of(request)
    user = jimu.users.by_name(target) if isinstance(target, str) and target else None
    app_roles = {r.name for r in policy.rt.spec.roles}
    if (user is None or not user.active or user.username == policy.actor.username
            or not (is_admin(user.roles) or app_roles & set(user.roles))):
        # One answer for "no such user" and "not someone you may delegate to": the
        # endpoint must not tell a caller which usernames exist.
        raise ValidationError("cannot delegate to this user / 不能委托给该用户", code="delegation.invalid",
                              errors=[FieldError("delegate", "delegate.invalid",
                                                 "an active user of this app other than you / 本应用中的其他在职用户")])
    start, until = _when(body, "from") or clock.now(), _when(body, "until")
    with jimu.db.write() as c:
        did = add_delegation(c, str(policy.actor.username), target, from_at=start, until_at=until, app=policy.app)
    return json_response({"id": did, "user": policy.actor.username, "delegate": target, "from": start.isoformat(),
                          "until": until.isoformat() if until else None}, 201)


def routes() -> list[BaseRoute]:
    base = "/api/apps/{app}/data/{entity}/{id}"
    return [
        Route(base + "/transitions", list_transitions, methods=["GET"]),
        Route(base + "/transitions/{transition}", fire_transition, methods=["POST"]),
        Route(base + "/approvals/{step}/{decision}", decide, methods=["POST"]),
        Route("/api/apps/{app}/inbox", inbox, methods=["GET"]),
        Route("/api/apps/{app}/inbox/{id}/read", read_entry, methods=["POST"]),
        Route("/api/apps/{app}/delegations", delegate, methods=["POST"]),
    ]

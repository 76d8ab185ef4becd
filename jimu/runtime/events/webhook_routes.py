"""Webhook administration (the app's admins) and incoming webhooks (a token URL).

::

    GET|POST /api/apps/{app}/webhooks                         list envelope / create
    GET|PATCH|DELETE /api/apps/{app}/webhooks/{id}
    GET  /api/apps/{app}/webhooks/{id}/deliveries             list envelope, newest first
    GET  /api/apps/{app}/webhooks/{id}/deliveries/{did}       with the attempt log
    POST /api/apps/{app}/webhooks/{id}/deliveries/{did}/resend
    POST /api/hooks/{token}                                   incoming: create/update as the hook's role
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core import clock
from jimu.core.errors import NotFound, PermissionDenied
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.api.util import json_response, page, path_id, query_id, query_int, read_json
from jimu.runtime.events import webhooks as wh
from jimu.runtime.events.outbox import emit
from jimu.runtime.events.tables import deliveries, webhooks

__all__ = ["webhook_routes"]

_FIELDS = ("name", "direction", "url", "format", "secret", "role", "kinds", "entities", "entity", "mode", "key_field",
           "max_attempts", "backoff", "timeout", "active")


def _admin(request: Request) -> AccessPolicy:
    actor = current_actor(request)
    policy = AccessPolicy.for_actor(jimu_of(request), str(request.path_params["app"]), actor)
    if not policy.is_admin:
        raise PermissionDenied("managing webhooks needs the admin role", code="forbidden.admin")
    if actor.attrs.get("api_key_app"):
        # A webhook sends data out of the app under a role of its choosing: an API key
        # (a long-lived, often shared secret) must not be able to set one up.
        raise PermissionDenied("webhooks are managed by a signed-in admin, not with an API key / "
                               "管理 Webhook 需要管理员登录，不能使用 API 密钥", code="forbidden.api_key")
    return policy


def _hook(policy: AccessPolicy, request: Request) -> dict[str, Any]:
    """The webhook of the path's ``{id}`` in the path's app (404 otherwise)."""
    hook_id = path_id(request, "no webhook", "webhook.not_found")
    with policy.jimu.db.read() as c:
        row = c.execute(sa.select(webhooks).where(webhooks.c.id == hook_id,
                                                  webhooks.c.app == policy.app)).mappings().first()
    if row is None:
        raise NotFound(f"no webhook {hook_id}", code="webhook.not_found")
    return dict(row)


async def list_hooks(request: Request) -> Response:
    policy = _admin(request)
    with policy.jimu.db.read() as c:
        rows = c.execute(sa.select(webhooks).where(webhooks.c.app == policy.app).order_by(webhooks.c.id)).mappings()
        return page([wh.webhook_dict(r) for r in rows])


async def create_hook(request: Request) -> Response:
    policy = _admin(request)
    body = wh.check_spec(await read_json(request, allowed=_FIELDS))
    values = {k: body[k] for k in _FIELDS if k in body}
    values.setdefault("direction", "out")
    values.setdefault("format", "json")
    values["kinds"] = values.get("kinds") or []
    token = None
    if values["direction"] == "in":
        token, values["token_hash"] = wh.new_token()
        values.setdefault("mode", "create")
    with policy.jimu.db.write() as c:
        hid = c.execute(webhooks.insert().values(app=policy.app, created_by=policy.actor.username,
                                                 created_at=clock.now(), **values).returning(webhooks.c.id)).scalar_one()
        row = c.execute(sa.select(webhooks).where(webhooks.c.id == hid)).mappings().one()
    out = wh.webhook_dict(row)
    if token:
        out["token"] = token
        out["hook_url"] = f"/api/hooks/{token}"
    return json_response(out, status=201)


async def get_hook(request: Request) -> Response:
    policy = _admin(request)
    return json_response(wh.webhook_dict(_hook(policy, request)))


async def patch_hook(request: Request) -> Response:
    policy = _admin(request)
    current = _hook(policy, request)
    body = await read_json(request, allowed=[f for f in _FIELDS if f != "direction"])
    checked = wh.check_spec({**current, **body})
    changes = {k: checked[k] for k in body if k in checked}
    if changes:
        with policy.jimu.db.write() as c:
            c.execute(sa.update(webhooks).where(webhooks.c.id == current["id"]).values(**changes))
    return json_response(wh.webhook_dict(_hook(policy, request)))


async def delete_hook(request: Request) -> Response:
    policy = _admin(request)
    current = _hook(policy, request)
    with policy.jimu.db.write() as c:
        c.execute(sa.update(webhooks).where(webhooks.c.id == current["id"]).values(active=False, token_hash=None))
    return Response(status_code=204)


async def list_deliveries(request: Request) -> Response:
    policy = _admin(request)
    hook = _hook(policy, request)
    limit = query_int(request, "limit", 50)
    cursor = query_id(request, "cursor")
    stmt = sa.select(deliveries).where(deliveries.c.webhook_id == hook["id"])
    if cursor is not None:
        stmt = stmt.where(deliveries.c.id < cursor)
    with policy.jimu.db.read() as c:
        rows = c.execute(stmt.order_by(deliveries.c.id.desc()).limit(limit + 1)).mappings().all()
        data = [wh.delivery_dict(c, r, with_attempts=True) for r in rows[:limit]]
    return page(data, str(rows[limit - 1]["id"]) if len(rows) > limit else None)


async def get_delivery(request: Request) -> Response:
    policy = _admin(request)
    hook = _hook(policy, request)
    did = path_id(request, "no delivery", "webhook.delivery_not_found", "did")
    with policy.jimu.db.read() as c:
        row = c.execute(sa.select(deliveries).where(deliveries.c.webhook_id == hook["id"],
                                                    deliveries.c.id == did)).mappings().first()
        if row is None:
            raise NotFound(f"no delivery {did}", code="webhook.delivery_not_found")
        return json_response(wh.delivery_dict(c, row, with_attempts=True))


async def resend_delivery(request: Request) -> Response:
    policy = _admin(request)
    hook = _hook(policy, request)
    did = path_id(request, "no delivery", "webhook.delivery_not_found", "did")
    out = await run_in_threadpool(wh.resend, policy.jimu, policy.app, hook["id"], did)
    return json_response(out)


async def incoming(request: Request) -> Response:
    """POST /api/hooks/{token}: create (or upsert by ``key_field``) a record as the hook's
    role through the ordinary permission checks; ``mode: trigger`` only emits an event
    for automations with a ``webhook_in`` trigger."""
    jimu = jimu_of(request)
    digest = hashlib.sha256(str(request.path_params["token"]).encode()).hexdigest()
    with jimu.db.read() as c:
        hook = c.execute(sa.select(webhooks).where(webhooks.c.token_hash == digest, webhooks.c.direction == "in",
                                                   webhooks.c.active.is_(True))).mappings().first()
    if hook is None:
        raise NotFound("no such hook", code="hook.not_found")
    body = await read_json(request)
    actor = wh.webhook_actor(hook)
    policy = AccessPolicy.for_actor(jimu, hook["app"], actor)
    if hook["mode"] == "trigger" or not hook["entity"]:
        with jimu.db.write() as c:
            eid = emit(c, hook["app"], "webhook.received", entity=hook["entity"], data={"hook": hook["name"],
                                                                                       "payload": body}, actor=actor)
        return json_response({"event": eid}, status=202)
    entity = str(hook["entity"])
    return await run_in_threadpool(_write, policy, hook, entity, body)


def _write(policy: AccessPolicy, hook: Any, entity: str, body: dict[str, Any]) -> Response:
    jimu = policy.jimu
    key = hook["key_field"]
    if hook["mode"] == "upsert" and key and body.get(key) is not None:
        policy.require(entity, "read")
        flt = policy.row_clause(entity, "update")
        table = policy.rt.tables(entity)
        ent = policy.rt.entity(entity)
        f = ent.field(key)
        if f is not None:
            from jimu.platform.schema import column_name

            stmt = sa.select(table.c.id).where(table.c[column_name(f)] == body[key])
            if flt is not None:
                stmt = stmt.where(flt)
            with jimu.db.read() as c:
                rid = c.execute(stmt.limit(1)).scalar()
            if rid is not None:
                policy.check_write(entity, body)
                with jimu.db.write() as c:  # the state checked is the state written
                    policy.check_state_write(entity, jimu.records.get(policy.app, entity, rid, conn=c), body)
                    rec = jimu.records.update(policy.app, entity, rid, body, actor=policy.actor, conn=c)
                return json_response(policy.render(entity, rec))
    policy.check_write(entity, body, creating=True)
    rec = jimu.records.create(policy.app, entity, body, actor=policy.actor)
    return json_response(policy.render(entity, rec), status=201)


def webhook_routes() -> list[BaseRoute]:
    """Routes for webhooks (admin) and incoming hooks."""
    base = "/api/apps/{app}/webhooks"
    return [
        Route(base, list_hooks, methods=["GET"]),
        Route(base, create_hook, methods=["POST"]),
        Route(base + "/{id}", get_hook, methods=["GET"]),
        Route(base + "/{id}", patch_hook, methods=["PATCH"]),
        Route(base + "/{id}", delete_hook, methods=["DELETE"]),
        Route(base + "/{id}/deliveries", list_deliveries, methods=["GET"]),
        Route(base + "/{id}/deliveries/{did}", get_delivery, methods=["GET"]),
        Route(base + "/{id}/deliveries/{did}/resend", resend_delivery, methods=["POST"]),
        Route("/api/hooks/{token}", incoming, methods=["POST"]),
    ]

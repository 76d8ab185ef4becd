"""Record routes: list, create, read, update (If-Match), delete, export, audit trail and
the per-caller OpenAPI document. Every one goes through :class:`AccessPolicy`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import (
    FieldError,
    PermissionDenied,
    PreconditionRequired,
    ValidationError,
)
from jimu.core.ids import parse_id
from jimu.platform import cooperative
from jimu.platform.audit import query_audit
from jimu.runtime.access import AccessPolicy, gate
from jimu.runtime.access.audit import filter_audit
from jimu.runtime.access.export import export_rows, to_csv, to_xlsx
from jimu.runtime.api import credcache
from jimu.runtime.api.auth import (
    current_actor,
    has_credentials,
    jimu_of,
    optimistically,
    published_version_seen,
)
from jimu.runtime.api.openapi import build_openapi
from jimu.runtime.api.util import json_response, page, parse_json, query_id, query_int, read_body, read_json
from jimu.runtime.records.codec import SYSTEM_FIELDS

__all__ = ["routes"]

def _policy(request: Request, db: Connection | None = None) -> AccessPolicy:
    """The caller's policy on the app of the path. The credentials and the app's published
    version are read in one query (on ``db`` when given), so the user's deactivation and a
    publish by another worker both apply to the very next request."""
    app = str(request.path_params["app"])
    actor = current_actor(request, db=db, app=app)
    return AccessPolicy.for_actor(jimu_of(request), app, actor, conn=db, version=published_version_seen(request, app))

def _etag(record: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{record["version"]}"'}

def _fields_param(request: Request, policy: AccessPolicy, entity: str) -> list[str] | None:
    raw = request.query_params.get("fields")
    if not raw:
        return None
    wanted = [x.strip() for x in raw.split(",") if x.strip()]
    readable = set(policy.readable_fields(entity)) | set(SYSTEM_FIELDS)
    unknown = [w for w in wanted if w not in readable]
    if unknown:
        raise ValidationError("unknown fields: " + ", ".join(unknown),
                              errors=[FieldError("fields", "field.unknown", f"'{w}' is not a field") for w in unknown])
    return wanted

def _expand(request: Request, policy: AccessPolicy, entity: str, records: list[dict[str, Any]]) -> None:
    raw = request.query_params.get("expand")
    if not raw:
        return
    ent = policy.rt.entity(entity)
    for name in [x.strip() for x in raw.split(",") if x.strip()]:
        f = ent.field(name)
        if f is None or f.type != "link" or not f.target or policy.field_rule(entity, name).access not in ("read", "write"):
            raise ValidationError(f"cannot expand '{name}'", errors=[FieldError("expand", "expand.invalid",
                                                                                f"'{name}' is not a link you can read")])
        if not policy.can(f.target, "read"):
            continue
        ids = {r[name] for r in records if isinstance(r.get(name), int)}
        if not ids:
            continue
        table = policy.rt.tables(f.target)
        clause = policy.row_clause(f.target)
        where = table.c.id.in_(sorted(ids)) if clause is None else sa.and_(table.c.id.in_(sorted(ids)), clause)
        found = {r["id"]: r for r in jimu_of(request).records.list(policy.app, f.target, where=where,
                                                                    limit=500, actor=policy.actor).data}
        for r in records:
            if r.get(name) in found:
                r[name] = found[r[name]]

async def list_records(request: Request) -> Response:
    """GET /api/apps/{app}/data/{entity}?filter=&sort=&limit=&cursor=&fields=&expand=.

    One read: the credentials and the app's published version, then the page. On
    PostgreSQL both go in one round trip when the token's row is remembered: the page is
    read on the credentials as remembered and answered only once the check read with it
    confirms them (:func:`~jimu.runtime.api.auth.optimistically`)."""
    return await optimistically(request, _list_records)  # type: ignore[no-any-return]

def _waits_on_loop(request: Request) -> bool:
    """Whether the request's PostgreSQL round trips can wait on the event loop
    (:func:`jimu.platform.cooperative.run`): psycopg only; SQLite has nothing to wait for."""
    return jimu_of(request).db.engine.dialect.driver == "psycopg"


async def _list_records(request: Request) -> Response:
    return await cooperative.run(_list_page, request, cooperative=_waits_on_loop(request))

def _list_page(request: Request) -> Response:
    entity = str(request.path_params["entity"])
    q = request.query_params
    with jimu_of(request).db.read() as c:
        try:
            policy = _policy(request, c)
            fields = _fields_param(request, policy, entity)
            # Without expand the rows go straight to JSON objects through the compiled
            # encoder (render_many's answer); expand needs the records first.
            encoded = not q.get("expand")
            result = gate.list_page(policy, c, entity, filter=q.get("filter") or None, sort=q.get("sort") or None,
                                    limit=query_int(request, "limit", 50), cursor=q.get("cursor") or None,
                                    encoded=encoded, fields=fields)
        finally:
            credcache.settle(c, request.scope["state"])  # the credentials confirmed before any answer, a refusal included
    if encoded:
        return page(result.data, result.next_cursor)
    _expand(request, policy, entity, result.data)
    return page(policy.render_many(entity, result.data, fields=fields), result.next_cursor)

async def create_record(request: Request) -> Response:
    """POST /api/apps/{app}/data/{entity} -> 201 with the created record.

    One write transaction: the credentials and the app's published version are read in
    it, then the record is written. The body is read before the transaction opens (no
    await holds SQLite's write lock), but only when the request carries credentials: an
    anonymous call gets its 401 without the body being read."""
    if not has_credentials(request):
        current_actor(request)  # 401
    raw = await read_body(request)

    async def create(request: Request) -> Response:
        # Only the round trip that ends the transaction (its last statement and COMMIT)
        # gives way: see jimu.platform.cooperative (a write holds row locks until then).
        return await cooperative.run(_create, request, raw, cooperative=_waits_on_loop(request))

    return await optimistically(request, create)  # type: ignore[no-any-return]


def _create(request: Request, raw: bytes) -> Response:
    """``create_record``'s transaction. On PostgreSQL, with the token's row remembered,
    the credential check goes with the transaction's first statement (the record's
    INSERT for most entities) and is verified before anything is answered or committed
    (:func:`~jimu.runtime.api.auth.optimistically`)."""
    entity = str(request.path_params["entity"])
    jimu = jimu_of(request)
    with jimu.db.write() as c:
        try:
            policy = _policy(request, c)
            jimu.apps.note_version(policy.app, published_version_seen(request, policy.app), c)
            body = parse_json(request, raw)
            rec = gate.create(policy, c, entity, body)
        finally:
            credcache.settle(c, request.scope["state"])  # the credentials confirmed before any answer, a refusal included
    headers = {**_etag(rec), "Location": f"/api/apps/{policy.app}/data/{entity}/{rec['id']}"}
    return json_response(policy.render(entity, rec), 201, headers)

async def get_record(request: Request) -> Response:
    """GET /api/apps/{app}/data/{entity}/{id} with ETag."""
    policy = _policy(request)
    entity = str(request.path_params["entity"])
    rec = policy.load(entity, request.path_params["id"])
    _expand(request, policy, entity, [rec])
    return json_response(policy.render(entity, rec, fields=_fields_param(request, policy, entity)), 200, _etag(rec))

def _if_match(request: Request, required: bool) -> int | None:
    """The version the client read (its ETag), None for ``*`` or, when not ``required``,
    no header; 428 when required and missing, 422 when not an ETag of this API."""
    raw = request.headers.get("if-match")
    if raw is None:
        if required:
            raise PreconditionRequired("send If-Match with the version you read (the ETag)",
                                       errors=[FieldError("If-Match", "required", "the record's ETag")])
        return None
    text = raw.strip()
    if text == "*":
        return None  # RFC 9110: any current version; the record must exist (404 otherwise)
    text = text[2:] if text.startswith("W/") else text
    version = parse_id(text.strip('"'))
    if version is None:
        raise ValidationError("If-Match must be the record's ETag, e.g. \"3\"",
                              errors=[FieldError("If-Match", "invalid", "a version number in quotes")])
    return version

async def patch_record(request: Request) -> Response:
    """PATCH /api/apps/{app}/data/{entity}/{id}: If-Match required (428), stale is 409."""
    policy = _policy(request)
    entity = str(request.path_params["entity"])
    current = policy.load(entity, request.path_params["id"], "update")
    version = _if_match(request, True)
    body = await read_json(request)
    # The state lock is judged on ``current``; If-Match makes sure that state is the one written.
    rec = gate.update(policy, entity, request.path_params["id"], body, expected_version=version, current=current)
    return json_response(policy.render(entity, rec), 200, _etag(rec))

async def delete_record(request: Request) -> Response:
    """DELETE /api/apps/{app}/data/{entity}/{id} (If-Match optional) -> 204."""
    policy = _policy(request)
    entity = str(request.path_params["entity"])
    policy.load(entity, request.path_params["id"], "delete")
    jimu_of(request).records.delete(policy.app, entity, request.path_params["id"], actor=policy.actor,
                                    expected_version=_if_match(request, False))
    return Response(status_code=204)

async def export(request: Request) -> Response:
    """GET /api/apps/{app}/export?entity=&format=csv|xlsx&filter=. The app and the rights
    are checked before the parameters (a caller who may export nothing gets 403, not 422)."""
    policy = _policy(request)
    if not any(policy.can(e.name, "export") for e in policy.rt.spec.entities):
        raise PermissionDenied("you may not export records", code="forbidden.export")
    entity = request.query_params.get("entity")
    fmt = request.query_params.get("format", "csv")
    if not entity:
        raise ValidationError("entity is required", errors=[FieldError("entity", "required", "an entity name")])
    policy.require(entity, "read")
    if fmt not in ("csv", "xlsx"):
        raise ValidationError("format is csv or xlsx", errors=[FieldError("format", "invalid", "csv or xlsx")])
    flt = request.query_params.get("filter") or None
    if flt:
        gate.check_filter(policy, entity, flt)
    columns, rows = export_rows(policy, entity, filter=flt)
    name = f"{policy.app}-{entity}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(to_csv(columns, rows), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(to_xlsx(columns, rows, entity), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

def _when(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name} must be an ISO 8601 date-time",
                              errors=[FieldError(name, "datetime.invalid", "e.g. 2026-11-30T08:00:00+08:00")]) from None
    if value.tzinfo is None:
        raise ValidationError(f"{name} needs a time zone", errors=[FieldError(name, "datetime.zone", "add +08:00 or Z")])
    return value

async def audit(request: Request) -> Response:
    """GET /api/apps/{app}/audit?entity=&record=&user=&since=&until=&cursor=&limit=."""
    policy = _policy(request)
    q = request.query_params
    entity, record = q.get("entity") or None, q.get("record") or None
    if record is not None and parse_id(record) is None:
        raise ValidationError("record must be a record id", errors=[FieldError("record", "id.invalid", "a record id")])
    if entity:
        policy.require(entity, "read")
        if record is not None and policy.row_clause(entity) is not None:
            policy.load(entity, record)
    elif record is not None:
        raise ValidationError("record needs entity", errors=[FieldError("record", "requires", "pass entity too")])
    cursor = query_id(request, "cursor")
    limit = query_int(request, "limit", 50)
    since, until = _when(request, "since"), _when(request, "until")
    with jimu_of(request).db.read() as c:
        rows = query_audit(c, policy.app, entity=entity, record=record, user=q.get("user") or None, since=since,
                           until=until, after_id=cursor, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return page(filter_audit(policy, rows), str(rows[-1]["id"]) if more else None)

async def openapi(request: Request) -> Response:
    """GET /api/apps/{app}/openapi.json: the OpenAPI 3.1 document of what the caller may use."""
    return json_response(build_openapi(_policy(request)))

def routes() -> list[BaseRoute]:
    """The data routes."""
    base = "/api/apps/{app}/data/{entity}"
    return [
        Route(base, list_records, methods=["GET"]),
        Route(base, create_record, methods=["POST"]),
        Route(base + "/{id}", get_record, methods=["GET"]),
        Route(base + "/{id}", patch_record, methods=["PATCH"]),
        Route(base + "/{id}", delete_record, methods=["DELETE"]),
        Route("/api/apps/{app}/export", export, methods=["GET"]),
        Route("/api/apps/{app}/audit", audit, methods=["GET"]),
        Route("/api/apps/{app}/openapi.json", openapi, methods=["GET"]),
    ]

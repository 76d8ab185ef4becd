"""User administration (admin role): list, create, change (DESIGN 15 "Users")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.core.ids import MAX_ROW_ID
from jimu.platform.auth.users import check_password_policy
from jimu.runtime.api.auth import jimu_of, require_admin
from jimu.runtime.api.util import json_response, page, path_id, query_id, query_int, read_json

__all__ = ["routes"]

USER_KEYS = ("username", "password", "roles", "manager", "active", "display_name", "attributes")


def _user_id(request: Request) -> int:
    return path_id(request, "no user", "user.not_found", high=MAX_ROW_ID)


async def list_users(request: Request) -> Response:
    """GET /api/users?cursor=&limit=."""
    require_admin(request)
    limit = query_int(request, "limit", 100)
    cursor = query_id(request, "cursor", low=0, high=MAX_ROW_ID) or 0
    users = jimu_of(request).users.list(after_id=cursor, limit=limit + 1)
    more = len(users) > limit
    users = users[:limit]
    return page([u.as_dict() for u in users], str(users[-1].id) if more else None)


async def create_user(request: Request) -> Response:
    """POST /api/users {username, password, roles, manager?, active?} -> 201 user."""
    require_admin(request)
    body = await read_json(request, allowed=USER_KEYS)
    missing = [FieldError(k, "required", f"{k} is required") for k in ("username", "password") if k not in body]
    if missing:
        raise ValidationError("username and password are required", errors=missing)
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise ValidationError("active must be a boolean", errors=[FieldError("active", "type", "true or false")])
    attrs = body.get("attributes") or {}
    if not isinstance(attrs, dict):
        raise ValidationError("attributes must be an object", errors=[FieldError("attributes", "type", "object")])
    password = check_password_policy(body["password"])  # people choose passwords here: the policy applies
    user = jimu_of(request).users.create(body["username"], password, body.get("roles") or [],
                                         manager=body.get("manager"), active=active,
                                         display_name=body.get("display_name"), attributes=attrs)
    return json_response(user.as_dict(), 201)


async def get_user(request: Request) -> Response:
    """GET /api/users/{id}."""
    require_admin(request)
    return json_response(jimu_of(request).users.get(_user_id(request)).as_dict())


async def patch_user(request: Request) -> Response:
    """PATCH /api/users/{id}: deactivating or a new password revokes earlier tokens."""
    require_admin(request)
    uid = _user_id(request)
    body = await read_json(request, allowed=tuple(k for k in USER_KEYS if k != "username"))
    if "attributes" in body and not isinstance(body["attributes"], dict):
        raise ValidationError("attributes must be an object", errors=[FieldError("attributes", "type", "object")])
    if "password" in body:
        check_password_policy(body["password"])
    return json_response(jimu_of(request).users.update(uid, body).as_dict())


def routes() -> list[BaseRoute]:
    """The user routes."""
    return [
        Route("/api/users", list_users, methods=["GET"]),
        Route("/api/users", create_user, methods=["POST"]),
        Route("/api/users/{id}", get_user, methods=["GET"]),
        Route("/api/users/{id}", patch_user, methods=["PATCH"]),
    ]

"""Auth routes: bearer tokens, screen sessions, the caller, integration API keys."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, TooManyRequests, ValidationError
from jimu.core.ids import MAX_ROW_ID, is_identifier
from jimu.runtime.api.auth import (
    _ttl,
    create_api_key,
    current_actor,
    issue_token,
    jimu_of,
    list_api_keys,
    login_session,
    logout_session,
    require_admin,
    revoke_api_key,
)
from jimu.runtime.api.errors import problem_response
from jimu.runtime.api.throttle import throttled_login
from jimu.runtime.api.util import json_response, path_id, read_json

__all__ = ["routes"]


async def _login(request: Request) -> object:
    """The user for a username/password body: per-user lockout and per-address throttling
    both answer 429 with Retry-After."""
    body = await read_json(request, allowed=("username", "password"))
    errors = [FieldError(k, "required", f"{k} is required") for k in ("username", "password")
              if not isinstance(body.get(k), str) or not body.get(k)]
    if errors:
        raise ValidationError("username and password are required", errors=errors)
    try:
        return throttled_login(request, body["username"], body["password"])
    except TooManyRequests as exc:
        wait = str(exc.extra.get("retry_after", 60))
        return problem_response(429, exc.message, code=exc.code, extra={"retry_after": int(wait)},
                                headers={"Retry-After": wait})


async def token(request: Request) -> Response:
    """POST /api/auth/token {username, password} -> {access_token, token_type, expires_in}."""
    user = await _login(request)
    if isinstance(user, Response):
        return user
    jimu = jimu_of(request)
    return json_response({"access_token": issue_token(jimu, user), "token_type": "bearer",  # type: ignore[arg-type]
                          "expires_in": _ttl(jimu)})


async def session_login(request: Request) -> Response:
    """POST /api/auth/session: log in the screens (cookies); answers the CSRF token."""
    user = await _login(request)
    if isinstance(user, Response):
        return user
    response = json_response({})
    csrf = login_session(request, user, response)  # type: ignore[arg-type]
    response.body = json_response({"user": user.as_dict(), "csrf_token": csrf}).body  # type: ignore[union-attr]
    response.headers["content-length"] = str(len(response.body))
    return response


async def session_logout(request: Request) -> Response:
    """DELETE /api/auth/session."""
    response = Response(status_code=204)
    logout_session(request, response)
    return response


async def me(request: Request) -> Response:
    """GET /api/auth/me: who the caller is."""
    actor = current_actor(request)
    return json_response({"username": actor.username, "roles": list(actor.roles), "user_id": actor.user_id,
                          "manager": actor.manager})


async def api_key_create(request: Request) -> Response:
    """POST /api/apps/{app}/api-keys {name, role} (admin): the key is shown only once."""
    actor = require_admin(request)
    app = request.path_params["app"]
    jimu = jimu_of(request)
    jimu.store.app_info(app)
    body = await read_json(request, allowed=("name", "role"))
    errors = []
    if not isinstance(body.get("name"), str) or not body["name"].strip() or len(body["name"]) > 150:
        errors.append(FieldError("name", "required", "a name for the integration"))
    if not isinstance(body.get("role"), str) or not is_identifier(body["role"]):
        errors.append(FieldError("role", "required", "an app role name"))
    if errors:
        raise ValidationError("invalid API key", errors=errors)
    return json_response(create_api_key(jimu, app, body["role"], body["name"].strip(), actor), 201)


async def api_key_list(request: Request) -> Response:
    """GET /api/apps/{app}/api-keys (admin): the app's keys without their secrets."""
    require_admin(request)
    app = request.path_params["app"]
    jimu = jimu_of(request)
    jimu.store.app_info(app)
    return json_response({"data": list_api_keys(jimu, app)})


async def api_key_revoke(request: Request) -> Response:
    """DELETE /api/apps/{app}/api-keys/{id} (admin): the key stops working at once."""
    actor = require_admin(request)
    app = request.path_params["app"]
    jimu = jimu_of(request)
    jimu.store.app_info(app)
    key_id = path_id(request, f"app '{app}' has no API key", "api_key.not_found", high=MAX_ROW_ID)
    return json_response(revoke_api_key(jimu, app, key_id, actor))


def routes() -> list[BaseRoute]:
    """The auth routes."""
    return [
        Route("/api/auth/token", token, methods=["POST"]),
        Route("/api/auth/session", session_login, methods=["POST"]),
        Route("/api/auth/session", session_logout, methods=["DELETE"]),
        Route("/api/auth/me", me, methods=["GET"]),
        Route("/api/apps/{app}/api-keys", api_key_create, methods=["POST"]),
        Route("/api/apps/{app}/api-keys", api_key_list, methods=["GET"]),
        Route("/api/apps/{app}/api-keys/{id}", api_key_revoke, methods=["DELETE"]),
    ]

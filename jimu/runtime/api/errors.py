"""Every HTTP error as application/problem+json (DESIGN section 9)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Route

from jimu.core.errors import JimuError

__all__ = ["caller_lang", "problem_response", "exception_handlers"]

log = logging.getLogger("jimu.api")

TITLES = {400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 413: "Payload too large", 415: "Unsupported media type", 422: "Validation failed",
          428: "Precondition required", 429: "Too many requests", 500: "Internal server error"}


def problem_response(status: int, detail: str, *, code: str | None = None, errors: list[dict[str, str]] | None = None,
                     extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://jimu.dev/problems/{code or status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    if code:
        body["code"] = code
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def caller_lang(request: Request) -> str | None:
    """``zh`` or ``en`` as the caller asked (the ``jimu_lang`` cookie, else the first of
    them in ``Accept-Language``), None when they did not say."""
    cookie = request.cookies.get("jimu_lang")
    if cookie in ("zh", "en"):
        return cookie
    for part in (request.headers.get("accept-language") or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return None


def _localized(request: Request, exc: JimuError) -> JimuError:
    """``exc`` in the caller's language (:func:`caller_lang`, else zh, the product
    default), its records named (see :mod:`jimu.runtime.localize`)."""
    from jimu.runtime.localize import localize

    app = request.path_params.get("app") if request.scope.get("path_params") else None
    jimu = getattr(getattr(request.app, "state", None), "jimu", None)
    return localize(jimu, app, exc, caller_lang(request) or "zh")


async def _jimu_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JimuError)
    body = _localized(request, exc).problem()
    messages = body.get("messages")
    if isinstance(messages, dict):
        # An error that carries its message in zh and en answers in the caller's language.
        lang = caller_lang(request) or "zh"
        if isinstance(messages.get(lang), str):
            body["detail"] = messages[lang]
    return JSONResponse(body, status_code=exc.status, media_type="application/problem+json")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(405, f"{request.method} is not allowed here; allowed: {headers['Allow']}",
                                code="method.not_allowed", headers=headers)
    return problem_response(exc.status_code, str(exc.detail), headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path. Starlette answers 405 from
    the first route whose path matches and so lists only that route's methods (``GET,
    HEAD`` for a path whose POST, PATCH or DELETE is another route)."""
    methods: set[str] = set()
    scope = {**request.scope, "method": "GET"}
    for route in getattr(request.app, "routes", []):
        if isinstance(route, Route) and route.methods and route.matches(scope)[0] != Match.NONE:
            methods |= route.methods
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "an unexpected error occurred; it has been logged", code="internal")


exception_handlers: dict[Any, Any] = {JimuError: _jimu_error, HTTPException: _http_error, Exception: _unexpected}

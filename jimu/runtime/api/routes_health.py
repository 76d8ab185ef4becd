"""``GET /api/apps/{app}/health[?format=sarif]`` and
``PATCH /api/apps/{app}/health/findings/{id}`` (DESIGN 13, 15). Admin only: the report
names every element of the app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.platform.health.store import set_finding_state
from jimu.runtime.api.auth import jimu_of, require_admin
from jimu.runtime.api.util import json_response, path_param, read_json
from jimu.runtime.health import scan_app

__all__ = ["routes"]


async def health(request: Request) -> Response:
    jimu = jimu_of(request)
    require_admin(request)
    app = path_param(request, "app")
    jimu.store.app_info(app)  # 404 for an unknown app
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "sarif"):
        raise ValidationError("format must be json or sarif",
                              errors=[FieldError("format", "format.invalid", "json or sarif")])
    report = scan_app(jimu, app)
    if fmt == "sarif":
        return json_response(report.to_sarif())
    return json_response(report.as_dict())


async def patch_finding(request: Request) -> Response:
    jimu = jimu_of(request)
    actor = require_admin(request)
    app = path_param(request, "app")
    jimu.store.app_info(app)
    body = await read_json(request, allowed=("state", "reason", "snoozed_until"))
    if "state" not in body:
        raise ValidationError("state is required", errors=[FieldError("state", "required", "open, fixed, "
                                                                      "false_positive, wont_fix or snoozed")])
    snoozed = body.get("snoozed_until")
    if snoozed is not None:
        from datetime import datetime

        try:
            snoozed = datetime.fromisoformat(str(snoozed).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("snoozed_until must be an ISO date-time",
                                  errors=[FieldError("snoozed_until", "type", "ISO 8601 date-time")]) from None
    result = set_finding_state(jimu.db, app, path_param(request, "id"), body["state"], body.get("reason"),
                               actor.username, snoozed_until=snoozed)
    return json_response(result)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/apps/{app}/health", health, methods=["GET"]),
        Route("/api/apps/{app}/health/findings/{id}", patch_finding, methods=["PATCH"]),
    ]

"""The intelligence reports (DESIGN 16, Intelligence), each through the caller's policy:

- ``GET /api/apps/{app}/reports/replenishment?warehouse=&days=&service_level=&lead_time_days=&cover_days=``
  (:mod:`jimu.runtime.intel.replenishment`); ``POST .../reports/replenishment/orders``
  ``{rows: [{item, qty}], warehouse}`` → 201 ``{orders, refused}`` (draft POs by supplier);
- ``GET .../reports/forecast?item=&weeks=8&history_weeks=`` (:mod:`jimu.runtime.intel.forecast_report`);
- ``GET .../reports/abc?by=value|movement&days=`` and ``POST .../reports/abc/apply``
  ``{by, days?}`` (:mod:`jimu.runtime.intel.abc`);
- ``GET .../reports/bri?days=`` (:mod:`jimu.runtime.intel.bri`).

Importing this module registers the dashboard panels (:mod:`jimu.runtime.intel.reports`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of, published_version_seen
from jimu.runtime.api.util import json_response, read_json
from jimu.runtime.intel import reports as _reports  # noqa: F401 - registers the dashboard panels
from jimu.runtime.intel.abc import abc_report, apply_abc
from jimu.runtime.intel.bri import bri_report
from jimu.runtime.intel.forecast_report import forecast_report
from jimu.runtime.intel.replenishment import create_orders, replenishment_report

__all__ = ["routes"]

PARAMS = {
    "replenishment": ("warehouse", "days", "service_level", "lead_time_days", "cover_days"),
    "forecast": ("item", "weeks", "history_weeks"),
    "abc": ("by", "days"),
    "bri": ("days",),
}


def _policy(request: Request) -> AccessPolicy:
    app = str(request.path_params["app"])
    actor = current_actor(request, app=app)
    return AccessPolicy.for_actor(jimu_of(request), app, actor, version=published_version_seen(request, app))


def _query(request: Request, name: str) -> dict[str, Any]:
    allowed = PARAMS[name]
    unknown = [k for k in request.query_params if k not in allowed]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", f"one of: {', '.join(allowed)}") for k in unknown])
    return dict(request.query_params)


def _get(name: str, run: Callable[[AccessPolicy, dict[str, Any]], dict[str, Any]]) -> Any:
    async def endpoint(request: Request) -> Response:
        policy = _policy(request)
        params = _query(request, name)
        return json_response(await run_in_threadpool(run, policy, params))

    return endpoint


async def replenishment_orders(request: Request) -> Response:
    policy = _policy(request)
    body = await read_json(request, allowed=("rows", "warehouse", "lang"))
    return json_response(await run_in_threadpool(create_orders, policy, body), 201)


async def abc_apply(request: Request) -> Response:
    policy = _policy(request)
    body = await read_json(request, allowed=("by", "days"))
    return json_response(await run_in_threadpool(apply_abc, policy, body))


def routes() -> list[BaseRoute]:
    base = "/api/apps/{app}/reports"
    return [
        Route(base + "/replenishment", _get("replenishment", replenishment_report), methods=["GET"]),
        Route(base + "/replenishment/orders", replenishment_orders, methods=["POST"]),
        Route(base + "/forecast", _get("forecast", forecast_report), methods=["GET"]),
        Route(base + "/abc", _get("abc", abc_report), methods=["GET"]),
        Route(base + "/abc/apply", abc_apply, methods=["POST"]),
        Route(base + "/bri", _get("bri", bri_report), methods=["GET"]),
    ]

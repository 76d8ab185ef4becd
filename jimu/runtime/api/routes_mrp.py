"""The planner's MRP reports (DESIGN 16, Manufacturing), through the caller's policy:

- ``GET /api/apps/{app}/reports/mrp-grid?run=&item=``: the time-phased grid of ``item``
  in MRP run ``run`` (:func:`jimu.runtime.mrp.grid.item_grid`): one column per bucket,
  rows gross requirements, scheduled receipts, projected on hand, net requirements,
  planned order receipts and releases; the planned orders with their pegging, the
  demands and receipts behind the figures, the item's exceptions;
- ``GET /api/apps/{app}/reports/mrp-exceptions?run=&kind=&item=&limit=&offset=``: the
  run's exceptions (:func:`jimu.runtime.mrp.grid.run_exceptions`), each with its item's
  label and the document's link when the caller may read it.

The run is read through the policy: 403 without read on ``mrp_run``, 404 for a run the
caller's row filter hides or that does not exist (the same answer as
``GET /data/mrp_run/{id}``)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, NotFound, ValidationError
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of, published_version_seen
from jimu.runtime.api.util import json_response, query_id, query_int
from jimu.runtime.mrp.grid import item_grid, open_run, run_exceptions

__all__ = ["routes", "PARAMS"]

PARAMS = {"grid": ("run", "item"), "exceptions": ("run", "kind", "item", "limit", "offset")}


def _policy(request: Request, *entities: str) -> AccessPolicy:
    """The caller's policy, with read on ``mrp_run`` and ``entities`` checked before the
    parameters (404 ``mrp.not_installed`` in an app without MRP runs): the report answers
    exactly the callers whose OpenAPI document lists it (:mod:`openapi_mrp`)."""
    app = str(request.path_params["app"])
    actor = current_actor(request, app=app)
    policy = AccessPolicy.for_actor(jimu_of(request), app, actor, version=published_version_seen(request, app))
    if policy.rt.spec.entity("mrp_run") is None:
        raise NotFound(f"app '{app}' has no MRP runs", code="mrp.not_installed")
    for entity in ("mrp_run", *entities):
        policy.require(entity, "read")
    return policy


def _check(request: Request, name: str, required: tuple[str, ...]) -> dict[str, Any]:
    allowed = PARAMS[name]
    unknown = [k for k in request.query_params if k not in allowed]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", f"one of: {', '.join(allowed)}") for k in unknown])
    out: dict[str, Any] = {}
    for key in ("run", "item"):
        if key in allowed:
            out[key] = query_id(request, key)
    missing = [k for k in required if out.get(k) is None]
    if missing:
        raise ValidationError(f"missing {', '.join(missing)} (缺少参数 {', '.join(missing)})", errors=[
            FieldError(k, "required", "an id from this API") for k in missing])
    return out


async def grid(request: Request) -> Response:
    policy = _policy(request, "item")
    q = _check(request, "grid", ("run", "item"))

    def answer() -> dict[str, Any]:
        return item_grid(policy, open_run(policy, q["run"]), q["item"])

    return json_response(await run_in_threadpool(answer))


async def exceptions(request: Request) -> Response:
    policy = _policy(request, "mrp_exception")
    q = _check(request, "exceptions", ("run",))
    kind = request.query_params.get("kind") or None
    limit = query_int(request, "limit", 100, low=1, high=500)
    offset = query_int(request, "offset", 0, low=0, high=10_000_000)

    def answer() -> dict[str, Any]:
        return run_exceptions(policy, open_run(policy, q["run"]), kind, q["item"], limit, offset)

    return json_response(await run_in_threadpool(answer))


def routes() -> list[BaseRoute]:
    base = "/api/apps/{app}/reports"
    return [Route(base + "/mrp-grid", grid, methods=["GET"]),
            Route(base + "/mrp-exceptions", exceptions, methods=["GET"])]

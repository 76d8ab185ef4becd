"""Batch trace and recall routes (DESIGN 16).

- ``GET /api/apps/{app}/trace/batch/{id}?direction=down|up&depth=`` : the batch's trace
  (:func:`jimu.runtime.stock.batch_trace.trace_answer`): received, produced_from, shipped,
  consumed and stock of every batch down the consumption (``children``) or up the
  components (``parents``). The caller must read the batch (404 otherwise); documents the
  caller may not read are left out, hidden and masked fields stay out of the labels.
- ``POST /api/apps/{app}/trace/batch/{id}/recall`` ``{"reason"}`` (manager, admin): the
  ``recall`` record, 201 (:func:`jimu.runtime.stock.recall.recall_batch`); 403
  ``recall.forbidden`` for other roles, 422 ``recall.reason`` without a reason, 404 for an
  unknown batch.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.api.util import json_response, path_id, path_param, query_int, read_json
from jimu.runtime.stock.batch_trace import open_trace, trace_answer
from jimu.runtime.stock.recall import RECALL_ENTITY, check_reason, check_recaller, recall_batch

__all__ = ["routes"]

_PARAMS = ("direction", "depth")


def _policy(request: Request) -> AccessPolicy:
    return AccessPolicy.for_actor(jimu_of(request), path_param(request, "app"), current_actor(request))


async def trace(request: Request) -> Response:
    policy = _policy(request)
    unknown = [k for k in request.query_params if k not in _PARAMS]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", f"one of: {', '.join(_PARAMS)}") for k in unknown])
    direction = request.query_params.get("direction") or "down"
    if direction not in ("down", "up"):
        raise ValidationError("direction must be down or up (方向只能是 down 或 up)", code="trace.direction",
                              errors=[FieldError("direction", "choice", "one of down, up")])
    depth = query_int(request, "depth", 20, low=0, high=100)
    batch_id = path_id(request, "no batch", "record.not_found")
    ctx, batch = open_trace(policy, batch_id)
    return json_response(trace_answer(ctx, batch["id"], direction, max_depth=depth))


async def recall(request: Request) -> Response:
    policy = _policy(request)
    check_recaller(policy.actor)
    body = await read_json(request, allowed=("reason",), optional=True)
    check_reason(body.get("reason"))
    batch_id = path_id(request, "no batch", "record.not_found")
    rec = recall_batch(policy, batch_id, body.get("reason"))
    full = policy.jimu.records.get(policy.app, RECALL_ENTITY, rec["id"])
    return json_response(policy.render(RECALL_ENTITY, full), status=201)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/apps/{app}/trace/batch/{id}", trace, methods=["GET"]),
        Route("/api/apps/{app}/trace/batch/{id}/recall", recall, methods=["POST"]),
    ]

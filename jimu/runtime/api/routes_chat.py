"""Chat-order routes (DESIGN 16, Intelligence):

- ``POST /api/apps/{app}/chat-orders/parse`` ``{text, customer?}`` -> ``{customer,
  customer_name, lines: [{item, sku, item_name, qty, unit, confidence, flagged, text,
  alternatives: [{item, sku, item_name, score}]}], unparsed: [...]}``; needs read on items.
- ``POST /api/apps/{app}/chat-orders`` ``{text, customer?, warehouse?}`` -> 201 ``{order,
  customer, lines, flagged, unparsed}``: the draft sales order made of the confident lines
  (needs create on sales_order); flagged lines stay off the order and are named in its note.

Both through the caller's access policy (:mod:`jimu.runtime.intel.chat_orders`)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of, published_version_seen
from jimu.runtime.api.util import json_response, read_json
from jimu.runtime.intel.chat_orders import create_order, parse_for

__all__ = ["routes"]


def _policy(request: Request) -> AccessPolicy:
    app = str(request.path_params["app"])
    actor = current_actor(request, app=app)
    return AccessPolicy.for_actor(jimu_of(request), app, actor, version=published_version_seen(request, app))


async def parse(request: Request) -> Response:
    policy = _policy(request)
    body = await read_json(request, allowed=("text", "customer"))
    result = await run_in_threadpool(parse_for, policy, body.get("text"), body.get("customer"))
    return json_response(result.as_json())


async def create(request: Request) -> Response:
    policy = _policy(request)
    body = await read_json(request, allowed=("text", "customer", "warehouse"))
    out = await run_in_threadpool(create_order, policy, body)
    order = out["order"]
    return json_response(out, 201, {"Location": f"/api/apps/{policy.app}/data/sales_order/{order['id']}"})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/apps/{app}/chat-orders/parse", parse, methods=["POST"]),
        Route("/api/apps/{app}/chat-orders", create, methods=["POST"]),
    ]

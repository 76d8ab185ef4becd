"""``GET /api/apps/{app}/reports/aging?kind=receivable|payable`` (DESIGN 16, Money): open
invoice amounts in the base currency by partner and days past due. Rights and figures:
:mod:`jimu.runtime.money.report`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.api.util import json_response, path_param
from jimu.runtime.money.report import aging_report

__all__ = ["routes"]


async def aging(request: Request) -> Response:
    unknown = [k for k in request.query_params if k != "kind"]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", "the aging report takes only kind") for k in unknown])
    kind = request.query_params.get("kind") or "receivable"
    policy = AccessPolicy.for_actor(jimu_of(request), path_param(request, "app"), current_actor(request))
    return json_response(aging_report(policy, kind))


def routes() -> list[BaseRoute]:
    return [Route("/api/apps/{app}/reports/aging", aging, methods=["GET"])]

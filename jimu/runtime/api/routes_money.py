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
from jimu.runtime.api.util import json_response, path_param, query_id
from jimu.runtime.money.report import aging_report
from jimu.runtime.money.trade_reports import contract_margin, supplier_prices

__all__ = ["routes"]


async def aging(request: Request) -> Response:
    unknown = [k for k in request.query_params if k != "kind"]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", "the aging report takes only kind") for k in unknown])
    kind = request.query_params.get("kind") or "receivable"
    policy = AccessPolicy.for_actor(jimu_of(request), path_param(request, "app"), current_actor(request))
    return json_response(aging_report(policy, kind))


def _only(request: Request, allowed: set[str], report: str) -> None:
    unknown = [k for k in request.query_params if k not in allowed]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", f"the {report} report takes only {', '.join(sorted(allowed)) or 'nothing'}")
            for k in unknown])


async def margin(request: Request) -> Response:
    """``GET /api/apps/{app}/reports/contract-margin``: per contract the margin in CNY at the
    locked rate and the realized exchange difference of its payments."""
    _only(request, set(), "contract-margin")
    policy = AccessPolicy.for_actor(jimu_of(request), path_param(request, "app"), current_actor(request))
    return json_response(contract_margin(policy))


async def prices(request: Request) -> Response:
    """``GET /api/apps/{app}/reports/supplier-prices?item=``: each supplier's last price per
    item in CNY at the day's rates, cheapest first."""
    _only(request, {"item"}, "supplier-prices")
    item = query_id(request, "item")  # ASCII digits within the id column's range, else 422
    policy = AccessPolicy.for_actor(jimu_of(request), path_param(request, "app"), current_actor(request))
    return json_response(supplier_prices(policy, item))


def routes() -> list[BaseRoute]:
    return [Route("/api/apps/{app}/reports/aging", aging, methods=["GET"]),
            Route("/api/apps/{app}/reports/contract-margin", margin, methods=["GET"]),
            Route("/api/apps/{app}/reports/supplier-prices", prices, methods=["GET"])]

"""``GET /api/apps/{app}/reports/inventory-accuracy?warehouse=&days=`` (DESIGN 16, Stock
operations): per warehouse Σ|variance|, Σ system and the rate (账实差异率) of the counts
posted in the last 90 days. Rights and figures: :mod:`jimu.runtime.stock.accuracy`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.core.ids import parse_id
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.api.util import json_response, path_param
from jimu.runtime.stock.accuracy import DEFAULT_DAYS, accuracy_report
from jimu.runtime.stock.prep import prep_suggestion, require_prep

__all__ = ["routes"]

_PARAMS = ("warehouse", "days")


def _int(raw: str | None, name: str, low: int) -> int | None:
    if raw is None or raw == "":
        return None
    value = parse_id(raw, low=low)
    if value is None:
        raise ValidationError(f"{name} must be an integer", errors=[FieldError(name, "type", "expected an integer")])
    return value


async def inventory_accuracy(request: Request) -> Response:
    q = request.query_params
    unknown = [k for k in q if k not in _PARAMS]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", f"filter by one of: {', '.join(_PARAMS)}") for k in unknown])
    warehouse = _int(q.get("warehouse"), "warehouse", 1)
    days = _int(q.get("days"), "days", 1) or DEFAULT_DAYS
    policy = AccessPolicy.for_actor(jimu_of(request), path_param(request, "app"), current_actor(request))
    return json_response(accuracy_report(policy, warehouse, days))


async def prep(request: Request) -> Response:
    """``GET /api/apps/{app}/reports/prep-suggestion?store=&date=`` (catering): per dish the
    portions to prepare and the peak hour, from the last four same weekdays."""
    from datetime import date

    from jimu.core import clock

    policy = AccessPolicy.for_actor(jimu_of(request), path_param(request, "app"), current_actor(request))
    require_prep(policy)  # an app without dish sales is 404 whatever the parameters
    q = request.query_params
    unknown = [k for k in q if k not in ("store", "date")]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", "filter by one of: store, date") for k in unknown])
    store = _int(q.get("store"), "store", 1)
    if store is None:
        raise ValidationError("store is required", errors=[FieldError("store", "required", "门店必填 / the store")])
    try:
        day = date.fromisoformat(q["date"]) if q.get("date") else clock.today()
    except ValueError:
        raise ValidationError("date: YYYY-MM-DD", errors=[FieldError("date", "type", "日期格式 YYYY-MM-DD / a date")]) from None
    return json_response(prep_suggestion(policy, store, day))


def routes() -> list[BaseRoute]:
    return [Route("/api/apps/{app}/reports/inventory-accuracy", inventory_accuracy, methods=["GET"]),
            Route("/api/apps/{app}/reports/prep-suggestion", prep, methods=["GET"])]

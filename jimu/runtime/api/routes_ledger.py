"""``GET /api/apps/{app}/ledgers/{ledger}/balances?item=&warehouse=&batch=`` (DESIGN 15).

A caller sees the balances of a ledger when it may read the entity of the ledger's first
dimension (``item`` in the standard template); a dimension filter is a record id."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, NotFound, ValidationError
from jimu.platform.values import to_json
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.api.util import page, path_param

__all__ = ["routes"]


def _filters(request: Request, dimensions: list[str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    unknown = [k for k in request.query_params if k not in dimensions]
    if unknown:
        raise ValidationError("unknown balance filters", errors=[
            FieldError(k, "filter.unknown", f"filter by one of: {', '.join(dimensions)}") for k in unknown])
    for dim in dimensions:
        raw = request.query_params.get(dim)
        if raw is None or raw == "":
            continue
        try:
            filters[dim] = int(raw)
        except ValueError:
            raise ValidationError(f"{dim} must be a record id",
                                  errors=[FieldError(dim, "type", "expected an integer id")]) from None
    return filters


async def balances(request: Request) -> Response:
    from jimu.platform.ledger import balances as ledger_balances

    jimu = jimu_of(request)
    actor = current_actor(request)
    app = path_param(request, "app")
    name = path_param(request, "ledger")
    policy = AccessPolicy.for_actor(jimu, app, actor)
    spec = policy.rt.spec.ledger(name)
    if spec is None:
        raise NotFound(f"app '{app}' has no ledger '{name}'", code="ledger.not_found")
    dimensions = [d.name for d in spec.dimensions]
    first = next((d.entity for d in spec.dimensions if d.entity), None)
    if first is not None:
        policy.require(first, "read")
    filters = _filters(request, dimensions)
    with jimu.db.read() as conn:
        rows = ledger_balances(conn, app, spec, **filters)
    return page([{k: to_json(v) for k, v in row.items()} for row in rows])


def routes() -> list[BaseRoute]:
    return [Route("/api/apps/{app}/ledgers/{ledger}/balances", balances, methods=["GET"])]

"""Stock routes.

``GET /api/apps/{app}/data/stocktake_line/{id}/trace`` (DESIGN 15): the movements of the
line's item and warehouse since the previous count, with user, time and source document.
For a posted count the window ends at its own posting, so the trace explains exactly the
variance that count found. A line in a blind count is 403 ``stocktake.blind`` to a caller
the count hides the book figure from (its movements add up to it).

Transfer discrepancies (the documents a two-sided transfer opens when what arrived differs
from what was sent), through the caller's rights on the transfer entity:

- ``GET /api/apps/{app}/ledgers/{ledger}/discrepancies?transfer=ID&state=open|resolved``
  (``entity=`` names the transfer entity, default ``stock_transfer``; ``limit``,
  ``cursor``): the discrepancies of the transfers the caller may read, oldest first.
- ``POST /api/apps/{app}/ledgers/{ledger}/discrepancies/{id}/resolve`` ``{"reason",
  "book"?}``: closes one with a reason, posting ``book`` to the target's on_hand (see
  :func:`jimu.runtime.stock.transfers.resolve_discrepancy`); needs the ``update`` right on
  the transfer. A discrepancy or transfer of another app, or one the caller may not read,
  is 404.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, NotFound, PermissionDenied, ValidationError
from jimu.core.ids import parse_id
from jimu.core.money import DecimalInputError, to_decimal
from jimu.platform.ledger import Ledger, as_ledger, movements
from jimu.platform.values import to_json
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.api.util import json_response, page, path_id, path_param, query_int, read_json
from jimu.runtime.stock.stocktake import trace
from jimu.runtime.stock.transfers import TRANSFER_ENTITY, discrepancies, resolve_discrepancy

__all__ = ["routes"]

LINE_ENTITY = "stocktake_line"
COUNT_ENTITY = "stocktake"
STATES = ("open", "resolved")
_LIST_PARAMS = ("transfer", "state", "entity", "limit", "cursor")


def _posted_at(conn: Any, app: str, lg: Any, line: dict[str, Any]) -> datetime | None:
    parent = line.get("_parent_id")
    for m in movements(conn, app, lg, item=line.get("item"), warehouse=line.get("warehouse")):
        doc = m["document"]
        if doc["entity"] == COUNT_ENTITY and str(doc["id"]) == str(parent):
            return m["at"]  # type: ignore[no-any-return]
    return None


async def line_trace(request: Request) -> Response:
    jimu = jimu_of(request)
    app = path_param(request, "app")
    policy = AccessPolicy.for_actor(jimu, app, current_actor(request))
    line = policy.load(LINE_ENTITY, path_param(request, "id"))
    if line.get("blind") and policy.field_rule(LINE_ENTITY, "system_qty").access not in ("read", "write"):
        # The movements add up to the book figure a blind count hides from this caller.
        raise PermissionDenied("this line is in a blind count: its movements show after submit_count",
                               code="stocktake.blind")
    lg = policy.rt.spec.ledger("stock")
    with jimu.db.read() as conn:
        table = policy.rt.tables(LINE_ENTITY)
        parent = conn.execute(table.select().with_only_columns(table.c._parent_id)
                              .where(table.c.id == line["id"])).scalar()
        until = _posted_at(conn, app, lg, {**line, "_parent_id": parent}) if lg is not None else None
        rows = trace(jimu, app, line.get("item"), line.get("warehouse"), until=until, conn=conn) if lg else []
    return page([{k: to_json(v) for k, v in row.items()} for row in rows])


def _ledger(request: Request) -> tuple[AccessPolicy, Ledger]:
    jimu = jimu_of(request)
    app = path_param(request, "app")
    name = path_param(request, "ledger")
    policy = AccessPolicy.for_actor(jimu, app, current_actor(request))
    spec = policy.rt.spec.ledger(name)
    if spec is None:
        raise NotFound(f"app '{app}' has no ledger '{name}'", code="ledger.not_found")
    return policy, as_ledger(spec)


def _id(raw: str | None, field: str) -> int:
    value = parse_id(raw or "", low=0)
    if value is None:
        raise ValidationError(f"{field} must be an integer id",
                              errors=[FieldError(field, "type", "expected an integer id")])
    return value


def _render(row: dict[str, Any]) -> dict[str, Any]:
    return {k: to_json(v) for k, v in row.items()}


async def list_discrepancies(request: Request) -> Response:
    policy, lg = _ledger(request)
    q = request.query_params
    unknown = [k for k in q if k not in _LIST_PARAMS]
    if unknown:
        raise ValidationError("unknown query parameters", errors=[
            FieldError(k, "filter.unknown", f"filter by one of: {', '.join(_LIST_PARAMS)}") for k in unknown])
    entity = q.get("entity") or TRANSFER_ENTITY
    policy.require(entity, "read")
    state = q.get("state") or None
    if state is not None and state not in STATES:
        raise ValidationError(f"state must be one of {', '.join(STATES)}",
                              errors=[FieldError("state", "choice", f"one of {', '.join(STATES)}")])
    limit = query_int(request, "limit", 50)
    after = _id(q.get("cursor"), "cursor") if q.get("cursor") else 0
    transfer = None
    if q.get("transfer"):
        transfer = policy.load(entity, _id(q.get("transfer"), "transfer"))["id"]  # 404 unless visible
    with policy.jimu.db.read() as conn:
        rows = [r for r in discrepancies(conn, policy.app, lg, transfer=transfer, state=state, entity=entity)
                if r["transfer"]["entity"] == entity and r["id"] > after]
    visible = policy.visible_ids(entity, {r["transfer"]["id"] for r in rows})
    rows = [r for r in rows if r["transfer"]["id"] in visible]
    more = len(rows) > limit
    rows = rows[:limit]
    return page([_render(r) for r in rows], str(rows[-1]["id"]) if more else None)


def _book(body: dict[str, Any], lg: Ledger) -> Decimal | None:
    raw = body.get("book")
    if raw is None:
        return None
    try:
        value = to_decimal(raw)
    except DecimalInputError as exc:
        raise ValidationError(f"book: {exc}", errors=[FieldError("book", "type", "expected a decimal")]) from None
    if value.scaleb(lg.scale) != value.scaleb(lg.scale).to_integral_value():
        msg = f"at most {lg.scale} decimal places"
        raise ValidationError(f"book: {msg}", errors=[FieldError("book", "scale", msg)])
    return value


async def resolve(request: Request) -> Response:
    policy, lg = _ledger(request)
    did = path_id(request, "no discrepancy", "discrepancy.not_found")
    body = await read_json(request, allowed=("reason", "book"))
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("a discrepancy is resolved with a reason",
                              errors=[FieldError("reason", "required", "say why the difference is closed")])
    book = _book(body, lg)
    with policy.jimu.db.read() as conn:
        found = discrepancies(conn, policy.app, lg, id=did)
    if not found:
        raise NotFound(f"discrepancy {did} not found", code="discrepancy.not_found")
    doc = found[0]["transfer"]
    policy.load(doc["entity"], doc["id"], "update")  # 404 unless visible, 403 without the right
    with policy.jimu.db.write() as conn:  # the state is checked again under lock
        done = resolve_discrepancy(conn, policy.app, lg, did, reason=reason.strip(), book=book,
                                   user=policy.actor)
    return json_response(_render(done))


def routes() -> list[BaseRoute]:
    return [
        Route("/api/apps/{app}/data/stocktake_line/{id}/trace", line_trace, methods=["GET"]),
        Route("/api/apps/{app}/ledgers/{ledger}/discrepancies", list_discrepancies, methods=["GET"]),
        Route("/api/apps/{app}/ledgers/{ledger}/discrepancies/{id}/resolve", resolve, methods=["POST"]),
    ]

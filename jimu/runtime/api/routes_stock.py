"""``GET /api/apps/{app}/data/stocktake_line/{id}/trace`` (DESIGN 15): the movements of the
line's item and warehouse since the previous count, with user, time and source document.

For a posted count the window ends at its own posting, so the trace explains exactly the
variance that count found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.platform.ledger import movements
from jimu.platform.values import to_json
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of
from jimu.runtime.api.util import page, path_param
from jimu.runtime.stock.stocktake import trace

__all__ = ["routes"]

LINE_ENTITY = "stocktake_line"
COUNT_ENTITY = "stocktake"


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
    lg = policy.rt.spec.ledger("stock")
    with jimu.db.read() as conn:
        table = policy.rt.tables(LINE_ENTITY)
        parent = conn.execute(table.select().with_only_columns(table.c._parent_id)
                              .where(table.c.id == line["id"])).scalar()
        until = _posted_at(conn, app, lg, {**line, "_parent_id": parent}) if lg is not None else None
        rows = trace(jimu, app, line.get("item"), line.get("warehouse"), until=until, conn=conn) if lg else []
    return page([{k: to_json(v) for k, v in row.items()} for row in rows])


def routes() -> list[BaseRoute]:
    return [Route("/api/apps/{app}/data/stocktake_line/{id}/trace", line_trace, methods=["GET"])]

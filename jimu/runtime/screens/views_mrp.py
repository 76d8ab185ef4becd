"""The planner's MRP screens (DESIGN 16, Manufacturing):

- ``GET /app/{app}/_mrp/{run}?item=&q=``: the item picker (search by SKU or name; without
  a search, the run's items with planned orders or exceptions) and the time-phased grid
  of the chosen item, one column per bucket: gross requirements, scheduled receipts,
  projected on hand, net requirements, planned order receipts and releases; a chart of
  projected on hand against safety stock; the planned orders with their pegging (links
  to the sales or work order, or to the parent item's grid) and the item's exceptions;
- ``GET /app/{app}/_mrp/{run}/items?q=``: the picker's list alone (htmx live search);
- ``GET /app/{app}/_mrp/{run}/exceptions?kind=&item=&offset=``: the run's exceptions,
  filtered, 100 a page, each linking the order concerned and the item's grid.

Everything comes from :mod:`jimu.runtime.mrp.grid`, the module the JSON reports answer
from, so the page shows what the caller's API answer holds; the run is opened through the
caller's policy (403 without read on ``mrp_run``, 404 for a run the caller cannot see).
The chart's option rides in a ``data-chart`` attribute through ``attr_json`` (no inline
script: the CSP forbids it)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from jimu.core.errors import NotFound
from jimu.core.ids import parse_id
from jimu.runtime.mrp.grid import KINDS, ROWS, item_grid, open_run, run_exceptions, run_items
from jimu.runtime.screens.base import Screen, open_screen, screen

__all__ = ["planner_page", "items_partial", "exceptions_page", "chart_option", "qty"]

PAGE = 100


def qty(value: Any) -> str:
    """A quantity for people: ``"9.0000"`` -> ``9``, ``"0.5000"`` -> ``0.5``."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return format(d.normalize(), "f") if d != d.to_integral_value() else format(d.to_integral_value(), "f")


async def _open(request: Request) -> tuple[Screen, dict[str, Any]]:
    s = await open_screen(request)
    assert s.policy is not None
    rid = parse_id(str(request.path_params["run"]))
    if rid is None:
        raise NotFound("no such MRP run", code="record.not_found")
    return s, open_run(s.policy, rid)


def _id(raw: str | None) -> int | None:
    return parse_id(raw) if raw else None


def chart_option(grid: dict[str, Any], s: Screen) -> dict[str, Any]:
    """Bars of gross requirements and planned receipts, the line of projected on hand and
    safety stock, per bucket."""
    days = [b["start"][5:] for b in grid["buckets"]]
    rows = grid["rows"]

    def num(values: list[str]) -> list[float]:
        return [float(v) for v in values]

    ss = float(grid["safety_stock"])
    return {"animation": False, "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
            "grid": {"left": 48, "right": 16, "top": 36, "bottom": 28},
            "xAxis": {"type": "category", "data": days}, "yAxis": {"type": "value"},
            "series": [{"name": s.t("mrp_row_gross"), "type": "bar", "data": num(rows["gross"]), "itemStyle": {"color": "#e67e22"}},
                       {"name": s.t("mrp_row_planned_receipts"), "type": "bar", "data": num(rows["planned_receipts"]),
                        "itemStyle": {"color": "#27ae60"}},
                       {"name": s.t("mrp_row_projected"), "type": "line", "step": "end", "data": num(rows["projected"]),
                        "itemStyle": {"color": "#2d6cdf"}},
                       {"name": s.t("mrp_safety_stock"), "type": "line", "data": [ss] * len(days), "symbol": "none",
                        "lineStyle": {"type": "dashed"}, "itemStyle": {"color": "#c0392b"}}]}


def _head(s: Screen, run: dict[str, Any]) -> dict[str, Any]:
    """What the header of both pages shows: the run's number, warehouse, dates, counts."""
    wh = run.get("warehouse")
    name = f"#{wh}"
    if wh is not None and s.policy is not None and s.policy.can("warehouse", "read"):
        try:
            w = s.policy.load("warehouse", wh)
            name = str(w.get("name") or name)
        except NotFound:
            pass
    return {"run": run, "warehouse_name": name, "bucket_label": s.t("mrp_bucket_" + (run.get("bucket") or "week"))}


@screen
async def planner_page(request: Request) -> Response:
    s, run = await _open(request)
    assert s.policy is not None
    q = (request.query_params.get("q") or "").strip()[:100]
    picked = _id(request.query_params.get("item"))
    items = run_items(s.policy, run, q)
    if picked is None and not q and items:
        picked = items[0]["id"]
    grid = item_grid(s.policy, run, picked) if picked is not None else None
    return s.render("mrp_planner.html", **_head(s, run), q=q, items=items, picked=picked, grid=grid, rows=ROWS,
                    chart=chart_option(grid, s) if grid else None, qty=qty)


@screen
async def items_partial(request: Request) -> Response:
    s, run = await _open(request)
    assert s.policy is not None
    q = (request.query_params.get("q") or "").strip()[:100]
    return s.render("_mrp_items.html", run=run, q=q, items=run_items(s.policy, run, q),
                    picked=_id(request.query_params.get("item")))


@screen
async def exceptions_page(request: Request) -> Response:
    s, run = await _open(request)
    assert s.policy is not None
    kind = request.query_params.get("kind") or None
    if kind not in KINDS:
        kind = None
    item = _id(request.query_params.get("item"))
    offset = max(0, min(_id(request.query_params.get("offset")) or 0, 10_000_000))
    page = run_exceptions(s.policy, run, kind, item, PAGE, offset)
    with_exceptions = [i for i in run_items(s.policy, run, "", limit=500) if i["exceptions"]]
    return s.render("mrp_exceptions.html", **_head(s, run), result=page, kind=kind, item=item, kinds=KINDS,
                    items=with_exceptions, offset=offset, limit=PAGE, qty=qty)

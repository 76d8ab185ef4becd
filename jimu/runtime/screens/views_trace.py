"""The batch trace screen (DESIGN 16): ``GET /app/{app}/_trace/{id}?direction=down|up``.

The genealogy is drawn with the vendored ECharts as a ``graph`` series laid out by
generation (left to right), its option carried in the chart element's ``data-chart``
attribute like every dashboard chart (no inline script, CSP-safe); below it the affected
customers and quantities and the stock left, as tables that print (print CSS hides the
chrome). Everything comes from :func:`jimu.runtime.stock.batch_trace.trace_answer`, so the
page shows exactly what the caller's API answer holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from jimu.core.errors import NotFound
from jimu.core.ids import parse_id
from jimu.runtime.screens.base import Screen, open_screen, screen
from jimu.runtime.stock.batch_trace import open_trace, trace_answer

__all__ = ["trace_page", "graph_option"]

_X, _Y = 220, 70


def _batch_text(node: dict[str, Any]) -> str:
    b = node.get("batch") or {}
    return str(b.get("batch_no") or f"#{b.get('id')}")


def _item_text(item: dict[str, Any] | None) -> str:
    if not item:
        return ""
    return " ".join(str(v) for v in (item.get("sku"), item.get("name")) if v) or f"#{item.get('id')}"


def _walk(node: dict[str, Any], rel: str, depth: int = 0) -> Iterator[tuple[int, dict[str, Any], dict[str, Any] | None]]:
    """(depth, node, parent) depth-first; repeats are yielded (for their link) but not entered."""
    yield depth, node, None
    stack = [(depth + 1, child, node) for child in reversed(node.get(rel) or [])]
    while stack:
        d, n, parent = stack.pop()
        yield d, n, parent
        if not n.get("repeat"):
            stack.extend((d + 1, child, n) for child in reversed(n.get(rel) or []))


def graph_option(answer: dict[str, Any], s: Screen) -> dict[str, Any]:
    """The ECharts option of the genealogy: one node per batch at (generation, row), links
    in the trace's direction, the traced batch highlighted."""
    rel = "children" if answer.get("direction", "down") == "down" else "parents"
    rows: dict[int, int] = {}
    nodes: dict[str, dict[str, Any]] = {}
    links = []
    for depth, node, parent in _walk(answer, rel):
        bid = str((node.get("batch") or {}).get("id"))
        if bid not in nodes:
            row = rows.get(depth, 0)
            rows[depth] = row + 1
            nodes[bid] = {"id": bid, "name": f"{_batch_text(node)}\n{_item_text(node.get('item'))}",
                          "x": depth * _X, "y": row * _Y, "symbolSize": 46 if parent is None else 30,
                          "itemStyle": {"color": "#c0392b" if parent is None else "#2d6cdf"}}
        if parent is not None:
            pid = str((parent.get("batch") or {}).get("id"))
            src, dst = (pid, bid) if rel == "children" else (bid, pid)
            links.append({"source": src, "target": dst})
    return {"animation": False, "tooltip": {},
            "series": [{"type": "graph", "layout": "none", "roam": True, "edgeSymbol": ["none", "arrow"],
                        "label": {"show": True, "position": "bottom", "fontSize": 11},
                        "lineStyle": {"width": 2, "color": "#888"}, "data": list(nodes.values()), "links": links}]}


def _customers(answer: dict[str, Any], rel: str) -> list[dict[str, Any]]:
    out = []
    for _d, node, _p in _walk(answer, rel):
        if node.get("repeat"):
            continue
        for s in node.get("shipped") or []:
            cust = s.get("customer") or {}
            out.append({"customer": cust.get("name") or (f"#{cust['id']}" if cust.get("id") else "—"),
                        "batch": _batch_text(node), "item": _item_text(node.get("item")),
                        "document": (s.get("document") or {}).get("number") or "", "qty": Decimal(s["qty"]),
                        "at": (s.get("at") or "")[:10]})
    out.sort(key=lambda r: (r["customer"], r["batch"], r["document"]))
    return out


def _stock(answer: dict[str, Any], rel: str) -> list[dict[str, Any]]:
    out = []
    for _d, node, _p in _walk(answer, rel):
        for st in node.get("stock") or [] if not node.get("repeat") else []:
            wh = st.get("warehouse") or {}
            out.append({"batch": _batch_text(node), "item": _item_text(node.get("item")),
                        "warehouse": wh.get("name") or f"#{wh.get('id')}", "bucket": st["bucket"],
                        "qty": Decimal(st["qty"])})
    return out


@screen
async def trace_page(request: Request) -> Response:
    s = await open_screen(request)
    assert s.policy is not None
    bid = parse_id(str(request.path_params["id"]))
    if bid is None:
        raise NotFound("no such batch", code="record.not_found")
    direction = "up" if request.query_params.get("direction") == "up" else "down"
    ctx, batch = open_trace(s.policy, bid)
    answer = trace_answer(ctx, batch["id"], direction)
    rel = "children" if direction == "down" else "parents"
    down = answer if direction == "down" else trace_answer(ctx, batch["id"], "down")
    customers = _customers(down, "children")
    totals: dict[str, Decimal] = {}
    for r in customers:
        totals[r["customer"]] = totals.get(r["customer"], Decimal(0)) + r["qty"]
    return s.render("trace.html", answer=answer, direction=direction, batch_label=_batch_text(answer),
                    item_label=_item_text(answer.get("item")), batch_id=batch["id"],
                    chart=json.dumps(graph_option(answer, s), ensure_ascii=False),
                    customers=customers, totals=sorted(totals.items()), stock=_stock(answer, rel),
                    may_recall=bool({"manager", "admin"} & set(s.actor.roles)))

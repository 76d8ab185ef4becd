"""The built-in dashboard charts every inventory app gets, whatever its dashboard specs
say: stock by warehouse and turnover days (from the first ledger with item and warehouse
dimensions), orders by workflow state, and batches near expiry (food). Every figure is
limited to the rows, items and warehouses the caller may read."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core.clock import now, today
from jimu.platform.ledger import balances, movements
from jimu.platform.schema import column_name
from jimu.platform.specs.kinds import LedgerSpec
from jimu.runtime.rollups.read import grouped_rows
from jimu.runtime.screens.base import Screen
from jimu.runtime.screens.fields import _titles

__all__ = ["stock_by_warehouse", "turnover_days", "orders_by_state", "near_expiry_batches", "num_text",
           "TURNOVER_WINDOW_DAYS"]

TURNOVER_WINDOW_DAYS = 30


def _sum(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows:
        for bucket in ("on_hand", "reserved", "available"):
            out[str(r.get(key))][bucket] += Decimal(str(r.get(bucket) or 0))
    return out


def _readable_stock(s: Screen) -> tuple[LedgerSpec, list[dict[str, Any]], dict[int, str], dict[int, str]] | None:
    """(ledger, balance rows, warehouse titles, item titles) of the first ledger with item
    and warehouse dimensions, rows limited to the items and warehouses the caller may read
    (cached on the screen: two charts read the same balances)."""
    if "stock" in s.extra:
        cached: tuple[LedgerSpec, list[dict[str, Any]], dict[int, str], dict[int, str]] | None = s.extra["stock"]
        return cached
    policy = s.policy
    assert policy is not None
    found = None
    for lg in policy.rt.spec.ledgers:
        dims = {d.name: d.entity for d in lg.dimensions}
        wh, item = dims.get("warehouse"), dims.get("item")
        if not wh or not item or not policy.can(wh, "read") or not policy.can(item, "read"):
            continue
        with s.jimu.db.read() as c:
            rows = balances(c, s.app, lg)
        wh_titles = _titles(policy, wh, {int(r["warehouse"]) for r in rows if str(r.get("warehouse")).isdigit()})
        it_titles = _titles(policy, item, {int(r["item"]) for r in rows if str(r.get("item")).isdigit()})
        rows = [r for r in rows if str(r.get("warehouse")).isdigit() and int(r["warehouse"]) in wh_titles
                and str(r.get("item")).isdigit() and int(r["item"]) in it_titles]
        found = (lg, rows, wh_titles, it_titles)
        break
    s.extra["stock"] = found
    return found


def stock_by_warehouse(s: Screen) -> dict[str, Any] | None:
    """Balances of the first ledger with item and warehouse dimensions, per warehouse and
    per item × warehouse, limited to what the caller may read."""
    stock = _readable_stock(s)
    if stock is None:
        return None
    lg, rows, wh_titles, it_titles = stock
    per_wh = _sum(rows, "warehouse")
    names = [wh_titles[int(k)] for k in per_wh]
    chart = {"tooltip": {}, "legend": {"top": 0}, "grid": {"left": 48, "right": 16, "top": 36, "bottom": 32},
             "xAxis": {"type": "category", "data": names}, "yAxis": {"type": "value"},
             "series": [{"name": s.t(b), "type": "bar", "data": [float(v[b]) for v in per_wh.values()]}
                        for b in ("on_hand", "reserved", "available")]}
    table = [{"item": it_titles[int(r["item"])], "warehouse": wh_titles[int(r["warehouse"])],
              "on_hand": num_text(r["on_hand"]), "reserved": num_text(r["reserved"]),
              "available": num_text(r["available"])}
             for r in rows[:200]]
    return {"label": s.label(lg.label, lg.name), "chart": json.dumps(chart, ensure_ascii=False), "rows": table}


def turnover_days(s: Screen, window: int = TURNOVER_WINDOW_DAYS) -> dict[str, Any] | None:
    """Days of stock per warehouse: on hand now ÷ the average daily quantity shipped over
    the last ``window`` days (``None`` for a warehouse that shipped nothing), counting only
    the items and warehouses the caller may read."""
    stock = _readable_stock(s)
    if stock is None:
        return None
    lg, rows, wh_titles, it_titles = stock
    on_hand = {k: v["on_hand"] for k, v in _sum(rows, "warehouse").items()}
    with s.jimu.db.read() as c:
        moves = movements(c, s.app, lg, since=now() - timedelta(days=window))
    shipped: dict[str, Decimal] = defaultdict(Decimal)
    for m in moves:
        wh, item = str(m["dims"].get("warehouse")), str(m["dims"].get("item"))
        if m["kind"] == "ship" and wh.isdigit() and int(wh) in wh_titles and item.isdigit() and int(item) in it_titles:
            shipped[wh] -= Decimal(str(m["on_hand"] or 0))
    data = []
    for wh, qty in on_hand.items():
        daily = shipped.get(wh, Decimal(0)) / window
        days = (qty / daily).quantize(Decimal("0.1")) if daily > 0 else None
        data.append({"warehouse": wh_titles[int(wh)], "on_hand": num_text(qty), "shipped": num_text(shipped.get(wh, 0)),
                     "days": None if days is None else num_text(days)})
    chart = {"tooltip": {"trigger": "axis"}, "grid": {"left": 48, "right": 16, "top": 24, "bottom": 32},
             "xAxis": {"type": "category", "data": [d["warehouse"] for d in data]}, "yAxis": {"type": "value"},
             "series": [{"name": s.t("turnover_days"), "type": "bar",
                         "data": [None if d["days"] is None else float(d["days"]) for d in data]}]}
    return {"window": window, "rows": data, "chart": json.dumps(chart, ensure_ascii=False)}


def num_text(value: Any) -> str:
    """A quantity as short text: no trailing zeros."""
    text = f"{Decimal(str(value or 0)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def orders_by_state(s: Screen, limit: int = 3) -> list[dict[str, Any]]:
    """Record counts per workflow state for the caller's readable document entities."""
    policy = s.policy
    assert policy is not None
    out = []
    wfs = sorted(policy.rt.spec.workflows, key=lambda w: ("order" not in w.entity, w.entity))
    for wf in wfs:
        ent = policy.rt.spec.entity(wf.entity)
        f = ent.field(wf.state_field) if ent else None
        if ent is None or f is None or not policy.can(ent.name, "read"):
            continue
        rows = grouped_rows(policy, ent, f, None, "count", [], None)
        if rows is None:  # no rollup (e.g. a row filter reading a column it lacks): scan
            table = policy.rt.tables(ent.name)
            col = table.c[column_name(f)]
            stmt = sa.select(col, sa.func.count()).group_by(col)
            clause = policy.row_clause(ent.name)
            if clause is not None:
                stmt = stmt.where(clause)
            with s.jimu.db.read() as c:
                rows = list(c.execute(stmt).all())
        counts = {str(k): int(n) for k, n in rows}
        data = [{"name": s.label(st.label, st.name), "value": counts.get(st.name, 0)} for st in wf.states
                if counts.get(st.name)]
        chart = {"tooltip": {"trigger": "item"}, "legend": {"bottom": 0},
                 "series": [{"type": "pie", "radius": ["38%", "68%"], "data": data,
                             "label": {"formatter": "{b}: {c}"}}]}
        out.append({"label": s.label(ent.label, ent.name), "entity": ent.name, "total": sum(counts.values()),
                    "chart": json.dumps(chart, ensure_ascii=False)})
        if len(out) >= limit:
            break
    return out


def near_expiry_batches(s: Screen, days: int = 30) -> list[dict[str, Any]] | None:
    """Batches expiring within ``days`` (food template: a ``batch`` entity with ``expiry_date``)."""
    policy = s.policy
    assert policy is not None
    ent = policy.rt.spec.entity("batch")
    if ent is None or ent.field("expiry_date") is None or not policy.can("batch", "read"):
        return None
    recs = s.jimu.records.list(s.app, "batch", where=policy.row_clause("batch"), sort="expiry_date", limit=500,
                               actor=s.actor).data
    day: date = today()
    out = []
    for r in recs:
        exp = r.get("expiry_date")
        if isinstance(exp, date) and (exp - day).days <= days:
            out.append({"id": r["id"], "batch_no": r.get("batch_no") or f"#{r['id']}", "expiry": exp.isoformat(),
                        "days_left": (exp - day).days})
    return out

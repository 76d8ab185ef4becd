"""The business-resilience index (业务韧性指数, BRI; DESIGN 16, Intelligence), after the
four dimensions of the 《进销存数字化效能评估指南》 as the seed article names them:

1. ``supply_response`` 供应链响应弹性 — the standard deviation of the order delivery cycle:
   σ of (day of the last shipment − order_date) in days over the sales orders fully
   shipped whose last shipment falls in the window. Score = 100 × max(0, 1 − σ / 10 days).
2. ``inventory_health`` 库存健康度 — dead-stock share / turnover: dead share = on-hand value
   (at ``cost_price``) of items not shipped in the last ``dead_stock_days`` (90) ÷ all
   on-hand value; turnover = shipped value at cost over the window × 365 / days ÷ on-hand
   value. Score = 100 × max(0, 1 − ratio / 0.25); no turnover with stock on hand is 0.
3. ``demand_sensing`` 需求感知精度 — the rolling 3-month forecast error: WAPE of the
   forecasts of the method chosen per item (:mod:`.forecast`), backtested from every week
   of the last 13 weeks, Σ|error| / Σ actual over the (at most 200) best-selling items.
   Score = 100 × max(0, 1 − WAPE).
4. ``collaboration`` 组织协同效率 — the mean cross-department handling time: hours from an
   approval request (a submitter's document waiting for another department) to its
   decision, over the approvals closed in the window. Score = 100 × max(0, 1 − h / 72 h).

The index is the mean of the scores of the dimensions that could be measured (a dimension
without data has value and score null), to one decimal. Window: ``days`` (default 90)
up to the app clock's date.

Access: read on ``sales_order`` (its row filter limits orders, shipments and approvals of
sales orders) and items with ``cost_price`` in clear (403 ``forbidden.report`` otherwise);
approvals count only on documents the caller may read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import pstdev
from typing import Any

import sqlalchemy as sa

from jimu.core.errors import NotFound
from jimu.core.money import to_decimal
from jimu.runtime.access import AccessPolicy
from jimu.runtime.intel.demand import (
    ITEM,
    Demand,
    demand,
    int_param,
    items_of,
    positions,
    report_settings,
    require_clear,
    stock_ledger,
    today,
)
from jimu.runtime.intel.forecast import Backtest, forecast_series
from jimu.runtime.intel.forecast_report import trimmed_daily

__all__ = ["bri_report", "score", "WORST"]

ORDER = "sales_order"
#: The value of each dimension at which its score reaches 0.
WORST = {"supply_response": Decimal(10), "inventory_health": Decimal("0.25"), "demand_sensing": Decimal(1),
         "collaboration": Decimal(72)}
LABELS = {"supply_response": {"zh": "供应链响应弹性", "en": "Supply response elasticity"},
          "inventory_health": {"zh": "库存健康度", "en": "Inventory health"},
          "demand_sensing": {"zh": "需求感知精度", "en": "Demand sensing accuracy"},
          "collaboration": {"zh": "组织协同效率", "en": "Organisational collaboration"}}
FORMULAS = {
    "supply_response": {
        "zh": "σ(订单交付周期天数 = 最后发货日 − 下单日)；得分 = 100 × max(0, 1 − σ / 10 天)",
        "en": "σ(order delivery cycle in days = last shipment day − order date); "
              "score = 100 × max(0, 1 − σ / 10 days)"},
    "inventory_health": {
        "zh": "呆滞库存占比 / 周转率，呆滞占比 = 近 {dead} 天未出库商品的在手成本 ÷ 全部在手成本，"
              "周转率 = 期间出库成本 × 365 / 天数 ÷ 在手成本；得分 = 100 × max(0, 1 − 比值 / 0.25)",
        "en": "dead-stock share / turnover, dead share = on-hand cost of items not shipped in {dead} days ÷ all "
              "on-hand cost, turnover = shipped cost × 365 / days ÷ on-hand cost; "
              "score = 100 × max(0, 1 − ratio / 0.25)"},
    "demand_sensing": {
        "zh": "滚动 3 个月预测误差率 WAPE = Σ|实际 − 预测| ÷ Σ实际(近 13 周每周起点回测)；得分 = 100 × max(0, 1 − WAPE)",
        "en": "rolling 3-month forecast error WAPE = Σ|actual − forecast| ÷ Σ actual (backtested from every week "
              "of the last 13); score = 100 × max(0, 1 − WAPE)"},
    "collaboration": {
        "zh": "跨部门流程平均处理时长 = 平均(审批决定时间 − 提交审批时间)，单位小时；得分 = 100 × max(0, 1 − 时长 / 72 小时)",
        "en": "mean cross-department handling time = mean(approval decided − submitted) in hours; "
              "score = 100 × max(0, 1 − hours / 72)"},
}
_Q = Decimal("0.0001")


def score(name: str, value: Decimal | None) -> Decimal | None:
    """100 × max(0, 1 − value / worst), to one decimal; None when not measured."""
    if value is None:
        return None
    s = Decimal(100) * max(Decimal(0), 1 - value / WORST[name])
    return s.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _supply_response(conn: Any, policy: AccessPolicy, dem: Demand) -> tuple[Decimal | None, dict[str, Any]]:
    t = policy.rt.tables(ORDER)
    ids = [int(k) for k in dem.last_ship if k.isdigit()]
    if not ids or "order_date" not in t.c:
        return None, {"orders": 0}
    stmt = sa.select(t.c.id, t.c.order_date).where(t.c.id.in_(ids))
    if "state" in t.c:
        stmt = stmt.where(t.c.state.in_(("shipped", "completed")))
    cycles = []
    for rid, ordered in conn.execute(stmt):
        if ordered is None:
            continue
        day = ordered if isinstance(ordered, date) else date.fromisoformat(str(ordered)[:10])
        cycles.append(Decimal((dem.last_ship[str(rid)] - day).days))
    if not cycles:
        return None, {"orders": 0}
    sigma = pstdev(cycles) if len(cycles) > 1 else Decimal(0)
    mean = sum(cycles, Decimal(0)) / len(cycles)
    return sigma, {"orders": len(cycles), "mean_days": format(mean.quantize(_Q), "f")}


def _inventory_health(policy: AccessPolicy, items: Mapping[int, Mapping[str, Any]], pos: Mapping[int, Any],
                      dem: Demand, dead_since: date, days: int) -> tuple[Decimal | None, dict[str, Any]]:
    on_hand_value = dead_value = shipped_value = Decimal(0)
    for i, info in items.items():
        cost = to_decimal(info.get("cost_price")) if info.get("cost_price") is not None else Decimal(0)
        qty = pos.get(i, {}).get("on_hand", Decimal(0))
        value = qty * cost
        on_hand_value += value
        shipped_value += dem.total(i) * cost
        if qty > 0 and not any(d >= dead_since for d in dem.by_item.get(i, {})):
            dead_value += value
    if on_hand_value <= 0:
        return None, {"on_hand_value": "0.00"}
    share = dead_value / on_hand_value
    turnover = shipped_value * 365 / days / on_hand_value
    detail = {"on_hand_value": format(on_hand_value.quantize(Decimal("0.01")), "f"),
              "dead_stock_share": format(share.quantize(_Q, rounding=ROUND_HALF_UP), "f"),
              "turnover": format(turnover.quantize(_Q, rounding=ROUND_HALF_UP), "f")}
    if turnover == 0:
        return WORST["inventory_health"], {**detail, "note": "no shipments: turnover 0"}
    return share / turnover, detail


def _demand_sensing(dem: Demand, limit: int = 200) -> tuple[Decimal | None, dict[str, Any]]:
    top = sorted(dem.by_item, key=lambda i: (-dem.total(i), i))[:limit]
    total = Backtest()
    for i in top:
        fc = forecast_series(trimmed_daily(dem.series(i)), 1, backtest_weeks=13)
        chosen = fc.chosen
        total.abs_error += chosen.abs_error
        total.actual += chosen.actual
        total.points += chosen.points
    if total.wape is None:
        return None, {"items": 0}
    return Decimal(repr(total.wape)), {"items": len(top)}


def _collaboration(conn: Any, policy: AccessPolicy, start: datetime, end: datetime) -> tuple[Decimal | None, dict[str, Any]]:
    from jimu.runtime.workflow.tables import approvals as ap

    stmt = (sa.select(ap.c.entity, ap.c.record, ap.c.opened_at, ap.c.closed_at)
            .where(ap.c.app == policy.app, ap.c.closed_at.is_not(None), ap.c.closed_at >= start,
                   ap.c.closed_at < end, ap.c.status.in_(("approved", "rejected"))))
    rows = list(conn.execute(stmt))
    by_entity: dict[str, set[str]] = {}
    for r in rows:
        by_entity.setdefault(r.entity, set()).add(str(r.record))
    seen = {e: policy.visible_ids(e, ids) if policy.rt.spec.entity(e) is not None and policy.can(e, "read") else set()
            for e, ids in by_entity.items()}
    hours = [Decimal(repr((r.closed_at - r.opened_at).total_seconds())) / 3600 for r in rows
             if str(r.record) in seen.get(r.entity, set())]
    if not hours:
        return None, {"approvals": 0}
    return sum(hours, Decimal(0)) / len(hours), {"approvals": len(hours)}


def bri_report(policy: AccessPolicy, params: Mapping[str, Any]) -> dict[str, Any]:
    """``{index, as_of, days, dimensions: [{name, label, value, score, formula, detail}]}``."""
    lg = stock_ledger(policy)
    if policy.rt.spec.entity(ORDER) is None:
        raise NotFound(f"app '{policy.app}' has no sales orders", code="report.not_found")
    policy.require(ORDER, "read")
    require_clear(policy, ITEM, "cost_price", "the business-resilience index")
    conf = report_settings(policy.rt.spec)
    days = int_param(params.get("days"), "days", 14, 730, int(conf["demand_days"]))
    dead_days = int(conf["dead_stock_days"])
    until = today()
    since = until - timedelta(days=days - 1)
    history_since = until - timedelta(days=7 * 26 - 1)
    start, end = datetime.combine(since, time(), UTC), datetime.combine(until + timedelta(days=1), time(), UTC)
    with policy.jimu.db.read() as conn:
        items = items_of(policy, conn, ("cost_price",))
        pos = positions(conn, policy, lg, None)
        long = demand(conn, policy, lg, min(history_since, since), until)
        supply = _supply_response(conn, policy, _window(long, since))
        collab = _collaboration(conn, policy, start, end)
    window = _window(long, since)
    health = _inventory_health(policy, items, pos, window, until - timedelta(days=dead_days - 1), days)
    sensing = _demand_sensing(_window(long, history_since))
    dims: list[dict[str, Any]] = []
    for name, (value, detail) in (("supply_response", supply), ("inventory_health", health),
                                  ("demand_sensing", sensing), ("collaboration", collab)):
        formula = {k: v.format(dead=dead_days) for k, v in FORMULAS[name].items()}
        s = score(name, value)
        dims.append({"name": name, "label": LABELS[name],
                     "value": None if value is None else format(value.quantize(_Q, rounding=ROUND_HALF_UP), "f"),
                     "score": None if s is None else format(s, "f"), "formula": formula, "detail": detail})
    scores = [Decimal(d["score"]) for d in dims if d["score"] is not None]
    index = (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if scores else None
    return {"index": None if index is None else format(index, "f"), "as_of": until.isoformat(), "days": days,
            "formula": {"zh": "BRI = 可计算维度得分的平均值(满分 100)",
                        "en": "BRI = mean of the scores of the dimensions that could be measured (out of 100)"},
            "dimensions": dims}


def _window(dem: Demand, since: date) -> Demand:
    """``dem`` cut to the days from ``since`` (orders' last shipments kept when in it)."""
    if since <= dem.since:
        return dem
    out = Demand(since, dem.until)
    for i, per in dem.by_item.items():
        kept = {d: q for d, q in per.items() if d >= since}
        if kept:
            out.by_item[i] = kept
    out.last_ship = {k: d for k, d in dem.last_ship.items() if d >= since}
    out.moves = dict(dem.moves)
    return out


def chart_rows(policy: AccessPolicy, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The index and its four dimensions as rows (dashboard panel)."""
    report = bri_report(policy, params)
    rows = [{"name": "BRI 业务韧性指数", "value": None, "score": report["index"]}]
    for d in report["dimensions"]:
        rows.append({"name": f"{d['label']['zh']} / {d['label']['en']}", "value": d["value"], "score": d["score"]})
    return rows


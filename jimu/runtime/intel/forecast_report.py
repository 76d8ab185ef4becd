"""``GET /api/apps/{app}/reports/forecast?item=&weeks=8`` (DESIGN 16, Intelligence): the
weekly demand history of an item (or of every item the caller sees, when ``item`` is not
given), the forecast of the method chosen by backtest (:mod:`.forecast`), the backtest's
WAPE and MAPE of every method, and an explanation in words (zh and en) naming the method,
why it won and the figures.

History: the shipments of the last ``history_weeks`` weeks (default 52) ending on the app
clock's date, in 7-day buckets counted back from that date; weeks before the item's first
sale in that window are left out (a new item is not judged on weeks it did not exist).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jimu.core.errors import FieldError, ValidationError
from jimu.core.ids import parse_id
from jimu.runtime.access import AccessPolicy
from jimu.runtime.intel.demand import demand, int_param, items_of, stock_ledger, today
from jimu.runtime.intel.forecast import HORIZON_WEEKS, MIN_TRAIN_WEEKS, Forecast, forecast_series

__all__ = ["forecast_report", "explain", "trimmed_daily", "chart_rows"]

NAMES = {"naive": {"zh": "朴素预测(上周重复)", "en": "naive (last week repeated)"},
         "moving_average": {"zh": "4 周移动平均", "en": "4-week moving average"},
         "holt_winters": {"zh": "Holt-Winters 指数平滑(趋势 + 周季节性)",
                          "en": "Holt-Winters exponential smoothing (trend + weekly seasonality)"}}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _fmt(x: float | None, places: str = "0.0001") -> str | None:
    if x is None:
        return None
    return format(Decimal(repr(x)).quantize(Decimal(places), rounding=ROUND_HALF_UP), "f")


def trimmed_daily(series: Sequence[Decimal]) -> list[float]:
    """``series`` (a multiple of 7 days) without the whole weeks before its first sale."""
    first = next((i for i, v in enumerate(series) if v), len(series))
    start = (first // 7) * 7
    return [float(v) for v in series[start:]]


def explain(fc: Forecast, weeks: int) -> dict[str, str]:
    """Which method, why (its backtest WAPE against the others'), and what it says."""
    total = sum(fc.forecast)
    n = len(fc.history)
    if not fc.backtests:
        zh = (f"历史仅 {n} 周，不足以回测(至少需要 {MIN_TRAIN_WEEKS + 1} 周)，"
              f"暂用{NAMES[fc.method]['zh']}；未来 {weeks} 周合计约 {total:.1f}。")
        en = (f"Only {n} weeks of history, too few to backtest (at least {MIN_TRAIN_WEEKS + 1} needed): "
              f"using the {NAMES[fc.method]['en']} for now; about {total:.1f} over the next {weeks} weeks.")
        return {"zh": zh, "en": en}
    chosen = fc.chosen
    others = [(m, t) for m, t in fc.backtests.items() if m != fc.method]
    zh_o = "、".join(f"{NAMES[m]['zh']} {_pct(t.wape)}" for m, t in others)
    en_o = ", ".join(f"{NAMES[m]['en']} {_pct(t.wape)}" for m, t in others)
    zh = (f"采用{NAMES[fc.method]['zh']}：在过去 {n} 周的滚动回测中(每周为起点预测其后最多 "
          f"{HORIZON_WEEKS} 周)，它的加权绝对百分比误差 WAPE 为 {_pct(chosen.wape)}，MAPE 为 "
          f"{_pct(chosen.mape)}，优于{zh_o}。未来 {weeks} 周合计预测约 {total:.1f}。")
    en = (f"Using the {NAMES[fc.method]['en']}: in a rolling backtest over the last {n} weeks (from every week, "
          f"forecasting up to {HORIZON_WEEKS} weeks ahead) its weighted absolute percentage error WAPE was "
          f"{_pct(chosen.wape)} (MAPE {_pct(chosen.mape)}), against {en_o}. "
          f"About {total:.1f} over the next {weeks} weeks.")
    return {"zh": zh, "en": en}


def _item_param(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    value = parse_id(str(raw))
    if value is None:
        raise ValidationError("item must be an item id", code="report.param",
                              errors=[FieldError("item", "type", "an item id")])
    return value


def forecast_report(policy: AccessPolicy, params: Mapping[str, Any]) -> dict[str, Any]:
    """``{item, as_of, history: [{week_start, qty}], forecast: [{week_start, qty}], method,
    backtest: {wape, mape}, methods: [{method, wape, mape}], explanation: {zh, en}}``."""
    lg = stock_ledger(policy)
    weeks = int_param(params.get("weeks"), "weeks", 1, 52, 8)
    span = int_param(params.get("history_weeks"), "history_weeks", 2, 156, 52)
    item = _item_param(params.get("item"))
    until = today()
    since = until - timedelta(days=7 * span - 1)
    with policy.jimu.db.read() as conn:
        seen = items_of(policy, conn, ("sku", "name"), None if item is None else {item})
        if item is not None and item not in seen:
            policy.load("item", item)  # 404 (or 403) as the record route would answer
        dem = demand(conn, policy, lg, since, until, items=None if item is None else [item])
    per_day: dict[date, Decimal] = {}
    for i, days in dem.by_item.items():
        if i in seen:
            for d, q in days.items():
                per_day[d] = per_day.get(d, Decimal(0)) + q
    series = [per_day.get(since + timedelta(days=k), Decimal(0)) for k in range(7 * span)]
    daily = trimmed_daily(series)
    fc = forecast_series(daily, weeks)
    first_week = until - timedelta(days=len(daily) - 1)
    history = [{"week_start": (first_week + timedelta(days=7 * k)).isoformat(), "qty": _fmt(q, "0.01")}
               for k, q in enumerate(fc.history)]
    ahead = [{"week_start": (until + timedelta(days=1 + 7 * k)).isoformat(), "qty": _fmt(q, "0.01")}
             for k, q in enumerate(fc.forecast)]
    info = seen.get(item) if item is not None else None
    return {"item": item, "sku": info.get("sku") if info else None, "item_name": info.get("name") if info else None,
            "as_of": until.isoformat(), "weeks": weeks, "history": history, "forecast": ahead, "method": fc.method,
            "backtest": {"wape": _fmt(fc.chosen.wape), "mape": _fmt(fc.chosen.mape)},
            "methods": [{"method": m, "wape": _fmt(t.wape), "mape": _fmt(t.mape)} for m, t in fc.backtests.items()],
            "explanation": explain(fc, weeks)}


def chart_rows(policy: AccessPolicy, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The dashboard panel: the next ``weeks`` (default 4) of the ``limit`` (default 10)
    best-selling items of the last 13 weeks, each with its chosen method and WAPE."""
    lg = stock_ledger(policy)
    weeks = int(params.get("weeks") or 4)
    until = today()
    span = 13
    since = until - timedelta(days=7 * span - 1)
    with policy.jimu.db.read() as conn:
        dem = demand(conn, policy, lg, since, until)
        seen = items_of(policy, conn, ("sku", "name"), set(dem.by_item))
    top = sorted((i for i in dem.by_item if i in seen), key=lambda i: (-dem.total(i), i))[: int(params.get("limit") or 10)]
    rows = []
    for i in top:
        fc = forecast_series(trimmed_daily(dem.series(i)), weeks)
        rows.append({"item": i, "item_label": f"{seen[i].get('sku') or ''} {seen[i].get('name') or ''}".strip(),
                     "method": fc.method, "next_weeks": _fmt(sum(fc.forecast), "0.01"),
                     "wape": _fmt(fc.chosen.wape)})
    return rows


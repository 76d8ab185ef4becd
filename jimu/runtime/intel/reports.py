"""The intelligence reports offered to dashboards (``{kind: table|bar, report: NAME}``):
``replenishment``, ``demand_forecast``, ``abc`` and ``bri``, each computed through the
caller's policy by the module that answers its HTTP route (so a panel shows what the
route would, and is left out for a caller the route refuses). Registered on import."""

from __future__ import annotations

from jimu.runtime.reports import ChartReport, register_report

__all__ = ["register"]


def register() -> None:
    """Register the four chart reports (idempotent)."""
    from jimu.runtime.intel import abc, bri, forecast_report, replenishment

    register_report(ChartReport(
        "replenishment", replenishment.chart_rows,
        columns=(("item_label", {"zh": "商品", "en": "Item"}),
                 ("position", {"zh": "可用+在途", "en": "Position"}),
                 ("reorder_point", {"zh": "再订货点", "en": "Reorder point"}),
                 ("safety_stock", {"zh": "安全库存", "en": "Safety stock"}),
                 ("suggested_qty", {"zh": "建议采购量", "en": "Suggested qty"})),
        value="suggested_qty"))
    register_report(ChartReport(
        "demand_forecast", forecast_report.chart_rows,
        columns=(("item_label", {"zh": "商品", "en": "Item"}),
                 ("next_weeks", {"zh": "未来 4 周预测", "en": "Next 4 weeks"}),
                 ("method", {"zh": "方法", "en": "Method"}),
                 ("wape", {"zh": "回测 WAPE", "en": "Backtest WAPE"})),
        value="next_weeks", percent=("wape",)))
    register_report(ChartReport(
        "abc", abc.chart_rows,
        columns=(("class", {"zh": "分类", "en": "Class"}),
                 ("items", {"zh": "商品数", "en": "Items"}),
                 ("share", {"zh": "占比", "en": "Share"})),
        value="share", percent=("share",)))
    register_report(ChartReport(
        "bri", bri.chart_rows,
        columns=(("name", {"zh": "维度", "en": "Dimension"}),
                 ("value", {"zh": "测量值", "en": "Measure"}),
                 ("score", {"zh": "得分", "en": "Score"})),
        value="score"))


register()

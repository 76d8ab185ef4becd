"""``inventory_dashboards``' ``takings`` param: the overview reads sales orders by default
(the standard template's overview unchanged) and a restaurant's dish sales with
``takings: dish_sale`` (the catering template), needing ``catering_store`` only then."""

from __future__ import annotations

from jimu.templates_market.catalog import default_catalog
from jimu.templates_market.contrib import contribution
from jimu.templates_market.resolve import resolve

#: The standard overview, chart by chart (what a sales-order app has always shown).
STANDARD = [("kpi", "本月销售额", "sales_by_state"), ("bar", "客户销售额 Top 10", "sales_by_customer"),
            ("pie", "订单状态", "sales_by_state"), ("bar", "供应商采购额", "purchase_by_supplier"),
            ("table", "低于安全库存", None), ("table", "账实差异率(近 90 天)", None), ("table", "补货建议", None),
            ("table", "需求预测(未来 4 周)", None), ("table", "ABC 分类(按金额)", None),
            ("table", "业务韧性指数 BRI", None)]


def _overview(takings: str | None) -> list[dict[str, object]]:
    pkg = default_catalog().cbu("inventory_dashboards")
    given = {} if takings is None else {"takings": takings}
    return contribution(pkg.manifest, pkg.manifest.resolve_params(given))["dashboard:overview"]["charts"]


def test_the_default_overview_is_the_sales_order_one_and_dish_sales_replace_its_sales_charts() -> None:
    """By default the overview is exactly the standard one (no ``when`` left in a chart);
    with ``dish_sale`` its three sales-order charts become this month's takings, the
    stores' takings and the takings by channel over ``catering_store``'s views, the rest
    unchanged; ``catering_store`` is a dependency only then. Mutations tried: the dish-sale
    charts without their ``when`` (the standard overview gains three charts), and the
    dependency without its ``when`` (standard would install the restaurant unit): both
    fail here."""
    default = _overview(None)
    assert [(c["kind"], c["label"]["zh"], c.get("view")) for c in default] == STANDARD  # type: ignore[index]
    assert all("when" not in c for c in default) and _overview("sales_order") == default
    dish = _overview("dish_sale")
    assert [(c["kind"], c["label"]["zh"], c.get("view")) for c in dish[:3]] == [  # type: ignore[index]
        ("kpi", "本月营业额", "dish_sales_by_store"), ("bar", "门店营业额 Top 10", "dish_sales_by_store"),
        ("pie", "渠道营业额", "dish_sales_by_channel")]
    assert dish[3:] == default[3:]
    catalog = default_catalog()
    plain = [p.name for p in resolve(catalog, [("inventory_dashboards", None)])]
    restaurant = [p.name for p in resolve(catalog, [("inventory_dashboards", None)],
                                          params={"inventory_dashboards": {"takings": "dish_sale"}})]
    assert "catering_store" not in plain
    assert restaurant.index("catering_store") < restaurant.index("inventory_dashboards")

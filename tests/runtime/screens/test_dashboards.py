"""Dashboards: the app's own dashboard specs (report views grouped and aggregated on the
server, ledger tables with an expression filter) through the caller's rights, next to the
built-in charts (stock by warehouse, turnover days, orders by state)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from jimu.core.clock import today
from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from jimu.runtime.screens.dash_spec import spec_chart, spec_dashboard


def _policy(jimu: Any, user: str, app: str = "standard", roles: tuple[str, ...] | None = None) -> AccessPolicy:
    return AccessPolicy.for_actor(jimu, app, Actor(user, roles or (user,)))


def _all(jimu: Any, app: str, entity: str, **kw: Any) -> list[dict[str, Any]]:
    out, cursor = [], None
    while True:
        page = jimu.records.list(app, entity, limit=500, cursor=cursor, **kw)
        out += page.data
        cursor = page.next_cursor
        if cursor is None:
            return out


def _charts(policy: AccessPolicy, lang: str = "zh") -> dict[str, dict[str, Any]]:
    dash = policy.rt.spec.dashboards[0]
    return {c["label"]: c for c in spec_dashboard(policy, dash, lang)}


def test_standard_overview_charts_match_the_records(std):
    charts = _charts(_policy(std, "admin"), "en")
    assert list(charts) == ["Sales this month", "Top customers", "Orders by state", "Purchases by supplier",
                            "Below safety stock", "Inventory accuracy (90 days)", "Replenishment",
                            "Demand forecast (4 weeks)", "ABC classes (by value)", "Business resilience index (BRI)"]
    # the intelligence panels are their reports' rows (issue 22)
    from jimu.runtime.intel.bri import bri_report

    bri = bri_report(_policy(std, "admin"), {})
    cell = charts["Business resilience index (BRI)"]["rows"][0][2]
    assert (cell == "—") if bri["index"] is None else Decimal(cell) == Decimal(bri["index"])
    assert [r[0] for r in charts["ABC classes (by value)"]["rows"]] == ["A", "B", "C"]
    # the 账实差异率 panel is the report route's rows (one per warehouse, rate in per cent)
    from jimu.runtime.stock.accuracy import accuracy_report

    report = accuracy_report(_policy(std, "admin"))["data"]
    accuracy = charts["Inventory accuracy (90 days)"]
    assert accuracy["columns"] == ["Warehouse", "Counts", "Σ|variance|", "Σ book", "Variance rate"]
    assert [r[0] for r in accuracy["rows"]] == [r["warehouse_name"] for r in report]
    assert [r[4] for r in accuracy["rows"]] == [f"{Decimal(r['rate']) * 100:.2f}%" for r in report]
    orders = _all(std, "standard", "sales_order")
    total = sum((Decimal(str(o["amount"] or 0)) for o in orders if _sale_this_month(o)), Decimal(0))
    kpi = charts["Sales this month"]
    assert kpi["kind"] == "kpi" and kpi["data"][0][1] == total and kpi["value"] == f"¥{total:,.2f}"

    states = {s.name: s.label.en for s in std.apps.get("standard").spec.workflow_for("sales_order").states}
    by_state: dict[str, Decimal] = defaultdict(Decimal)
    for o in orders:
        by_state[states[o["state"]]] += Decimal(str(o["amount"] or 0))
    pie = charts["Orders by state"]
    assert pie["kind"] == "pie" and dict(pie["data"]) == by_state and '"type": "pie"' in pie["option"]

    # the view's filter applies: only approved, shipped or completed orders count
    done = [o for o in orders if o["state"] in ("approved", "shipped", "completed")]
    assert sum(v for _, v in charts["Top customers"]["data"]) == sum(
        (Decimal(str(o["amount"] or 0)) for o in done), Decimal(0))
    assert len(charts["Top customers"]["data"]) <= 10  # the chart's limit

    suppliers = {s["id"]: s["name"] for s in _all(std, "standard", "supplier")}
    by_supplier: dict[str, Decimal] = defaultdict(Decimal)
    for p in _all(std, "standard", "purchase_order"):
        by_supplier[suppliers[p["supplier"]]] += Decimal(str(p["amount"] or 0))
    bar = charts["Purchases by supplier"]
    assert dict(bar["data"]) == {k: v for k, v in by_supplier.items()}
    assert [v for _, v in bar["data"]] == sorted((v for _, v in bar["data"]), reverse=True)


def _sale_this_month(order: dict[str, Any]) -> bool:
    day = order["order_date"]
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return (day is not None and (day.year, day.month) == (today().year, today().month)
            and order["state"] in ("approved", "shipped", "completed"))


def _kpi(jimu: Any) -> Decimal:
    return Decimal(_charts(_policy(jimu, "admin"), "en")["Sales this month"]["data"][0][1])


def test_sales_this_month_counts_this_months_sales_only(std):
    """The KPI sums the approved, shipped and completed orders dated this month: not last
    month's or next month's, not drafts, pending, rejected or cancelled ones."""
    first = today().replace(day=1)
    last_month = first - timedelta(days=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    customer = _all(std, "standard", "customer")[0]["id"]
    warehouse = _all(std, "standard", "warehouse")[0]["id"]
    item = _all(std, "standard", "item")[0]["id"]

    def order(day: date, state: str, price: str) -> None:
        # created in ``state`` (the workflow's transitions are not under test here)
        std.records.create("standard", "sales_order", {
            "customer": customer, "warehouse": warehouse, "order_date": day.isoformat(),
            "lines": [{"item": item, "qty": "1", "price": price}]}, _state=state)

    before = _kpi(std)
    order(first, "approved", "1000.01")
    order(today(), "completed", "200.02")
    order(today(), "shipped", "30.03")
    for state in ("draft", "pending_approval", "rejected", "cancelled"):
        order(today(), state, "7777.77")
    order(last_month, "completed", "50000")
    order(last_month.replace(day=1), "approved", "60000")
    order(next_month, "approved", "70000")
    assert _kpi(std) - before == Decimal("1230.06")
    assert _kpi(std) == sum((Decimal(str(o["amount"] or 0)) for o in _all(std, "standard", "sales_order")
                             if _sale_this_month(o)), Decimal(0))


def test_ledger_table_filters_on_linked_fields(std):
    table = _charts(_policy(std, "admin"))["低于安全库存"]
    assert table["kind"] == "table" and table["columns"][:2] == ["商品", "仓库"]
    items = {i["name"]: Decimal(str(i["safety_stock"] or 0)) for i in _all(std, "standard", "item")}
    assert table["rows"], "the template's sample data has items below their safety stock"
    for row in table["rows"]:
        assert Decimal(row[4]) < items[row[0]], row
    assert not any(r[0] == "有机牛奶 1L" for r in table["rows"])  # 100 on hand, safety stock 10


def test_charts_follow_the_callers_rights(std):
    # warehouse may not see sales order amounts: no sales chart at all, the stock table stays
    labels = set(_charts(_policy(std, "warehouse")))
    assert "本月销售额" not in labels and "订单状态" not in labels and "客户销售额 Top 10" not in labels
    assert "低于安全库存" in labels
    # an unknown view or a broken filter leaves the chart out instead of failing the page
    admin = _policy(std, "admin")
    assert spec_chart(admin, {"kind": "bar", "view": "nope"}, "zh") is None
    assert spec_chart(admin, {"kind": "table", "ledger": "stock", "filter": "available <"}, "zh") is None


@pytest.fixture(scope="module")
def deals(std):
    """A small app with a row filter (reps see their own deals) and a masked field."""
    spec = {"name": "deals", "entities": [{"name": "deal", "fields": [
        {"name": "region", "type": "choice", "label": {"zh": "区域", "en": "Region"},
         "options": {"choices": [{"value": "east", "label": {"zh": "华东", "en": "East"}},
                                 {"value": "north", "label": {"zh": "华北", "en": "North"}}]}},
        {"name": "owner", "type": "user"},
        {"name": "amount", "type": "decimal", "options": {"precision": 18, "scale": 2}},
        {"name": "cost", "type": "decimal", "options": {"precision": 18, "scale": 2}}]}],
        "roles": [{"name": "boss", "entities": {"deal": {"read": True, "create": True}}},
                  {"name": "rep", "entities": {"deal": {"read": True, "row_filter": "owner == $user",
                                                        "fields": {"cost": {"mask": "ROUND_TO(cost, 1000)"}}}}}],
        "views": [{"name": "by_region", "entity": "deal", "kind": "report", "group_by": "region",
                   "aggregates": {"amount": "sum"}},
                  {"name": "cost_by_region", "entity": "deal", "kind": "report", "group_by": "region",
                   "aggregates": {"cost": "sum"}}],
        "dashboards": [{"name": "d", "charts": [
            {"kind": "kpi", "label": "total", "view": "by_region", "measure": "amount"},
            {"kind": "kpi", "label": "n", "view": "by_region", "agg": "count"},
            {"kind": "bar", "label": "regions", "view": "by_region"},
            {"kind": "table", "label": "region table", "view": "by_region"},
            {"kind": "pie", "label": "costs", "view": "cost_by_region"}]}]}
    std.store.create_app("deals", {"zh": "商机", "en": "Deals"})
    std.store.save_draft("deals", spec, author="admin")
    std.store.publish("deals", author="admin")
    for region, owner, amount, cost in (("east", "li", "100.50", "1234"), ("east", "wang", "200", "900"),
                                        ("north", "li", "50", "4321"), ("north", "wang", "7", "1")):
        std.records.create("deals", "deal", {"region": region, "owner": owner, "amount": amount, "cost": cost})
    return "deals"


def test_row_filter_and_masks_in_spec_charts(std, deals):
    boss = _charts(_policy(std, "boss", deals, ("boss",)), "en")
    assert boss["total"]["data"] == [("total", Decimal("357.50"))] and boss["n"]["value"] == "4"
    assert dict(boss["regions"]["data"]) == {"East": Decimal("300.50"), "North": Decimal("57.00")}
    assert dict(boss["costs"]["data"]) == {"North": Decimal("4322.00"), "East": Decimal("2134.00")}
    assert boss["region table"]["rows"] == [["East", "300.5"], ["North", "57"]]

    li = _charts(_policy(std, "li", deals, ("rep",)), "en")
    assert li["total"]["data"] == [("total", Decimal("150.50"))] and li["n"]["value"] == "2"
    assert dict(li["regions"]["data"]) == {"East": Decimal("100.50"), "North": Decimal("50.00")}
    assert "costs" not in li  # cost is masked for reps: its sum would give the real costs away


def test_builtin_turnover_days(std):
    from jimu.platform.ledger import adjust, ship
    from jimu.runtime.screens.base import Screen
    from jimu.runtime.screens.dash_builtin import stock_by_warehouse, turnover_days

    wh = std.records.create("standard", "warehouse", {"name": "周转测试仓", "code": "WH-TURN", "confirm_code": "1"})
    item = std.records.list("standard", "item", filter='sku == "SKU-A002"', limit=1).data[0]
    lg = std.apps.get("standard").spec.ledger("stock")
    dims = {"item": item["id"], "warehouse": wh["id"]}
    with std.db.write() as c:
        adjust(c, "standard", lg, dims, "60", reason="opening", user="admin")
        ship(c, "standard", lg, dims, "15", user="admin")
        ship(c, "standard", lg, dims, "15", user="admin")
    policy = _policy(std, "warehouse")
    s = Screen(None, std, policy.actor, "zh", "", policy)  # type: ignore[arg-type]
    rows = {r["warehouse"]: r for r in turnover_days(s)["rows"]}
    # 30 on hand, 30 shipped in the last 30 days = 1 a day -> 30 days of stock
    assert rows["周转测试仓"] == {"warehouse": "周转测试仓", "on_hand": "30", "shipped": "30", "days": "30"}
    assert any(r["warehouse"] == "周转测试仓" and r["on_hand"] == "30" for r in stock_by_warehouse(s)["rows"])
    assert all(r["days"] is None or Decimal(r["days"]) > 0 for r in rows.values())


def test_dashboard_page_renders_spec_and_builtin_charts(login):
    html = login("manager", "en").get("/app/standard/dashboard").text
    assert 'id="spec-charts"' in html and 'class="kpi-value"' in html and "Top customers" in html
    assert "Below safety stock" in html and "Stock by warehouse" in html and "Turnover days" in html
    assert "Orders by state" in html and html.count('class="chart"') >= 5
    zh = login("warehouse").get("/app/standard/dashboard").text
    assert "低于安全库存" in zh and "库存周转天数" in zh and "本月销售额" not in zh

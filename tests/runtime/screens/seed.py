"""Builds a standard-template database with a little master data and opening stock, for
the screen tests and the browser tests (the template's own sample data may be empty)."""

from __future__ import annotations

from typing import Any

__all__ = ["build_standard", "seed"]


def seed(jimu: Any, app: str = "standard") -> dict[str, Any]:
    """Warehouse (confirm code 1234), customers, items and opening stock, unless present."""
    rec = jimu.records
    existing = rec.list(app, "warehouse", limit=1).data
    if existing and rec.list(app, "item", filter='sku == "SKU-A001"', limit=1).data:
        wh = rec.list(app, "warehouse", filter='code == "WH-SH"', limit=1).data or existing
        return {"warehouse": wh[0]["id"]}
    wh = rec.create(app, "warehouse", {"name": "上海主仓", "code": "WH-SH", "confirm_code": "1234"})
    rec.create(app, "warehouse", {"name": "北京仓", "code": "WH-BJ", "confirm_code": "5678"})
    for code, name in (("C-001", "华东超市"), ("C-002", "京北便利店")):
        rec.create(app, "customer", {"code": code, "name": name, "city": "上海"})
    items = []
    for sku, name, cost, price, barcode in (("SKU-A001", "有机牛奶 1L", "8.40", "12.80", "6901234567001"),
                                            ("SKU-A002", "全麦面包", "5.10", "9.90", "6901234567002"),
                                            ("SKU-A003", "苹果 (箱)", "46.00", "69.00", "6901234567003")):
        items.append(rec.create(app, "item", {"sku": sku, "name": name, "unit": "件", "cost_price": cost,
                                              "sale_price": price, "barcode": barcode, "safety_stock": "10"}))
    for it in items:
        rec.create(app, "stock_adjustment", {"item": it["id"], "warehouse": wh["id"], "qty": "100",
                                             "reason": _reason(jimu, app)})
    return {"warehouse": wh["id"], "items": [i["id"] for i in items]}


def _reason(jimu: Any, app: str) -> str | None:
    f = jimu.apps.get(app).spec.entity("stock_adjustment").field("reason")
    values = f.choice_values if f is not None else []
    return "opening" if "opening" in values else (values[0] if values else None)


def build_standard(url: str) -> Any:
    """Open ``url``, install the standard template with the demo users, seed it."""
    from jimu.cli.basics import prepare_demo
    from jimu.runtime.context import Jimu

    jimu = Jimu.open(url)
    prepare_demo(jimu, "standard")
    seed(jimu)
    return jimu

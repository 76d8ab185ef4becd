"""A small demo app used only when the template market is not installed."""

from __future__ import annotations

from typing import Any

__all__ = ["install_fallback"]


def install_fallback(jimu: Any, name: str) -> None:
    if not jimu.store.exists(name):
        jimu.store.create_app(name, {"zh": "演示", "en": "Demo"})
    jimu.store.save_draft(name, {"name": name, "entities": [
        {"name": "warehouse", "label": {"zh": "仓库", "en": "Warehouse"},
         "fields": [{"name": "name", "type": "text", "required": True, "label": {"zh": "名称", "en": "Name"}},
                    {"name": "confirm_code", "type": "text", "label": {"zh": "确认码", "en": "Confirm code"}}]},
        {"name": "item", "label": {"zh": "商品", "en": "Item"},
         "fields": [{"name": "sku", "type": "text", "unique": True, "required": True},
                    {"name": "name", "type": "text", "required": True, "label": {"zh": "名称", "en": "Name"}},
                    {"name": "cost_price", "type": "money", "label": {"zh": "成本价", "en": "Cost price"}},
                    {"name": "sale_price", "type": "money", "label": {"zh": "售价", "en": "Sale price"}}]},
    ]})
    jimu.store.publish(name, author="admin")
    jimu.records.create(name, "warehouse", {"name": "主仓", "confirm_code": "1234"})
    for i, (n, c, s) in enumerate([("苹果", "3.20", "5.00"), ("香蕉", "2.10", "3.50"), ("牛奶", "4.80", "6.90")]):
        jimu.records.create(name, "item", {"sku": f"SKU-{i + 1:04d}", "name": n, "cost_price": c, "sale_price": s})

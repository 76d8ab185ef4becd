"""The intelligence reports in the per-caller OpenAPI document (DESIGN 16, Intelligence):
each operation appears only for a caller its route would answer (the same checks: read on
items and on sales orders for the demand, cost in clear for ABC by value and the BRI,
create on purchase orders for the draft orders, update of ``item.abc_class`` for apply)."""

from __future__ import annotations

from typing import Any

from jimu.runtime.api.openapi_paths import ANY_OBJECT, DECIMAL, Doc, json_body, ok

__all__ = ["add_intel", "may_read_demand"]

_NULLDEC = {**DECIMAL, "type": ["string", "null"]}


def may_read_demand(doc: Doc) -> bool:
    """Items, the stock ledger and sales orders readable: the demand-based reports answer."""
    p = doc.policy
    spec = p.rt.spec
    return (spec.ledger("stock") is not None and p.can("item", "read") and spec.entity("sales_order") is not None
            and p.can("sales_order", "read"))


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
    if description:
        out["description"] = description
    return out


def add_intel(doc: Doc) -> None:
    """Replenishment (+ orders), forecast, ABC (+ apply) and BRI, as the caller may use them."""
    from jimu.runtime.intel.demand import clear_field

    _orders(doc)
    if not may_read_demand(doc):
        return
    policy, base = doc.policy, f"/api/apps/{doc.app}/reports"
    days = _q("days", {"type": "integer", "minimum": 7, "maximum": 730}, "demand window in days (default 90)")
    row = doc.ref("ReplenishmentRow", {"type": "object", "required": [
        "item", "on_hand", "on_order", "reserved", "avg_daily_demand", "demand_stdev", "lead_time_days",
        "safety_stock", "reorder_point", "suggested_qty"], "properties": {
        "item": {"type": "integer"}, "sku": {"type": ["string", "null"]}, "item_name": {"type": ["string", "null"]},
        "unit": {"type": ["string", "null"]}, "on_hand": DECIMAL, "on_order": DECIMAL, "reserved": DECIMAL,
        "position": {**DECIMAL, "description": "on_hand + on_order - reserved"},
        "avg_daily_demand": DECIMAL, "demand_stdev": {**DECIMAL, "description": "sample σ of the daily demand"},
        "lead_time_days": {"type": ["integer", "string"]},
        "safety_stock": {**DECIMAL, "description": "z × σ × √lead time"},
        "reorder_point": {**DECIMAL, "description": "avg × lead time + safety stock"},
        "target": {**DECIMAL, "description": "reorder point + avg × cover days"},
        "suggested_qty": {**DECIMAL, "description": "target - position when the position is at or below the "
                                                    "reorder point, rounded up (order multiple, minimum)"},
        "supplier": {"type": ["integer", "null"]}}})
    report = doc.ref("ReplenishmentReport", {"type": "object", "required": ["as_of", "z", "data"], "properties": {
        "as_of": {"type": "string", "format": "date"}, "warehouse": {"type": ["integer", "null"]},
        "days": {"type": "integer"}, "service_level": DECIMAL, "z": DECIMAL, "cover_days": {"type": "integer"},
        "lead_time_days": {"type": "integer"}, "data": {"type": "array", "items": row},
        "next_cursor": {"type": "null"}}})
    doc.op(base + "/replenishment", "get", "get_replenishment_report", "reports",
           "replenishment: safety stock, reorder point and suggested quantity per item",
           ok("one row per item with stock, orders or demand", report),
           params=[_q("warehouse", {"type": "integer", "minimum": 1}), days,
                   _q("service_level", {"type": "string", "examples": ["0.95"]}),
                   _q("lead_time_days", {"type": "integer", "minimum": 0, "maximum": 365},
                      "when the item has none of its own"),
                   _q("cover_days", {"type": "integer", "minimum": 0, "maximum": 365})],
           description="Demand = shipments of the sales orders you may read, per day (days without sales 0).")
    method = {"type": "string", "enum": ["naive", "moving_average", "holt_winters"]}
    week = {"type": "object", "properties": {"week_start": {"type": "string", "format": "date"}, "qty": _NULLDEC}}
    errors = {"type": "object", "properties": {"wape": _NULLDEC, "mape": _NULLDEC}}
    fc = doc.ref("DemandForecast", {"type": "object", "required": [
        "history", "forecast", "method", "backtest", "explanation"], "properties": {
        "item": {"type": ["integer", "null"]}, "as_of": {"type": "string", "format": "date"},
        "history": {"type": "array", "items": week}, "forecast": {"type": "array", "items": week},
        "method": method, "backtest": errors,
        "methods": {"type": "array", "items": {"type": "object", "properties": {
            "method": method, "wape": _NULLDEC, "mape": _NULLDEC}}},
        "explanation": {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}}}})
    doc.op(base + "/forecast", "get", "get_demand_forecast", "reports",
           "weekly demand forecast, the method chosen by a rolling backtest on WAPE, explained",
           ok("history, forecast and backtest", fc),
           params=[_q("item", {"type": "integer", "minimum": 1}, "an item (default: every item you read)"),
                   _q("weeks", {"type": "integer", "minimum": 1, "maximum": 52, "default": 8}),
                   _q("history_weeks", {"type": "integer", "minimum": 2, "maximum": 156, "default": 52})])
    abc_row = {"type": "object", "properties": {
        "item": {"type": "integer"}, "sku": {"type": ["string", "null"]}, "item_name": {"type": ["string", "null"]},
        "measure": {"type": ["string", "integer"]}, "share": DECIMAL, "cumulative_share": DECIMAL,
        "class": {"type": "string", "enum": ["A", "B", "C"]}, "current_class": {"type": ["string", "null"]}}}
    abc = doc.ref("AbcReport", {"type": "object", "required": ["by", "data"], "properties": {
        "by": {"type": "string", "enum": ["value", "movement"]}, "days": {"type": "integer"},
        "thresholds": ANY_OBJECT, "counts": ANY_OBJECT, "data": {"type": "array", "items": abc_row},
        "next_cursor": {"type": "null"}}})
    by_values = ["value", "movement"] if clear_field(policy, "item", "cost_price") else ["movement"]
    by = {"type": "string", "enum": by_values, "default": by_values[0]}
    doc.op(base + "/abc", "get", "get_abc_report", "reports", "ABC classes (Pareto 80/15/5) by value or movement",
           ok("every item with its class", abc),
           params=[_q("by", by), _q("days", {"type": "integer", "minimum": 7, "maximum": 1095, "default": 365})],
           # never name a field the caller cannot see (a hidden field is absent from the document)
           description="by=value weighs shipped quantities by the item's cost" if "value" in by_values
           else "ranked by movement (the number of shipments)")
    ent = policy.rt.spec.entity("item")
    if ent is not None and ent.field("abc_class") is not None and policy.can("item", "update") \
            and policy.field_rule("item", "abc_class").writable:
        body = {"type": "object", "additionalProperties": False, "properties": {
            "by": by, "days": {"type": "integer", "minimum": 7, "maximum": 1095}}}
        doc.op(base + "/abc/apply", "post", "apply_abc_classes", "reports",
               "write the computed classes to item.abc_class (audited; feeds cycle counts)",
               ok("the items whose class changed", ANY_OBJECT), body=json_body(body, required=False))
    if clear_field(policy, "item", "cost_price"):
        dim = {"type": "object", "required": ["name", "value", "formula"], "properties": {
            "name": {"type": "string", "enum": ["supply_response", "inventory_health", "demand_sensing",
                                                "collaboration"]},
            "label": ANY_OBJECT, "value": _NULLDEC, "score": _NULLDEC,
            "formula": {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}},
            "detail": ANY_OBJECT}}
        bri = doc.ref("BriReport", {"type": "object", "required": ["index", "dimensions"], "properties": {
            "index": _NULLDEC, "as_of": {"type": "string", "format": "date"}, "days": {"type": "integer"},
            "formula": ANY_OBJECT, "dimensions": {"type": "array", "items": dim}}})
        doc.op(base + "/bri", "get", "get_bri_report", "reports",
               "the business-resilience index (业务韧性指数) and its four dimensions with their formulas",
               ok("the index (0-100) and its dimensions", bri),
               params=[_q("days", {"type": "integer", "minimum": 14, "maximum": 730, "default": 90})])


def _orders(doc: Doc) -> None:
    """The draft purchase orders from chosen rows: for callers who may create them."""
    policy, base = doc.policy, f"/api/apps/{doc.app}/reports"
    if policy.rt.spec.entity("purchase_order") is None or not policy.can("purchase_order", "create") \
            or policy.rt.spec.entity("item") is None or not policy.can("item", "read"):
        return
    body = {"type": "object", "required": ["rows", "warehouse"], "additionalProperties": False, "properties": {
        "rows": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["item", "qty"],
                                                           "properties": {"item": {"type": "integer"},
                                                                          "qty": DECIMAL}}},
        "warehouse": {"type": "integer", "minimum": 1}, "lang": {"type": "string", "enum": ["zh", "en"]}}}
    out = {"type": "object", "required": ["orders", "refused"], "properties": {
        "orders": {"type": "array", "items": ANY_OBJECT}, "refused": {"type": "array", "items": ANY_OBJECT}}}
    doc.op(base + "/replenishment/orders", "post", "create_replenishment_orders", "reports",
           "draft purchase orders from chosen replenishment rows, one per supplier",
           ok("the draft orders and the rows refused (no supplier)", out, 201), body=json_body(body),
           description="Supplier: item.default_supplier, else the supplier of the item's latest purchase "
                       "order; 422 `replenishment.no_supplier` when no row has one.")

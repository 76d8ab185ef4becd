"""The planner's MRP reports in the per-caller OpenAPI document (DESIGN 16, Manufacturing):
listed only for a caller the routes would answer (read on ``mrp_run`` and on items for the
grid; read on ``mrp_run`` and ``mrp_exception`` for the exception list)."""

from __future__ import annotations

from typing import Any

from jimu.runtime.api.openapi_paths import ANY_OBJECT, DECIMAL, Doc, ok, problems

__all__ = ["add_mrp"]

_DATE = {"type": "string", "format": "date"}
_NULLINT = {"type": ["integer", "null"]}


def _q(name: str, schema: dict[str, Any], description: str = "", required: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": "query", "schema": schema, "required": required}
    if description:
        out["description"] = description
    return out


def add_mrp(doc: Doc) -> None:
    policy = doc.policy
    spec = policy.rt.spec
    if spec.entity("mrp_run") is None or not policy.can("mrp_run", "read"):
        return
    base = f"/api/apps/{doc.app}/reports"
    run = _q("run", {"type": "integer", "minimum": 1}, "an MRP run (mrp_run id)", required=True)
    decs = {"type": "array", "items": DECIMAL}
    doc_ref = {"document": {"type": "string"}, "entity": {"type": ["string", "null"]}, "id": _NULLINT}
    flow = {"type": "object", "properties": {**doc_ref, "date": _DATE, "qty": DECIMAL, "bucket": _NULLINT}}
    peg = {"type": "object", "required": ["kind", "qty"], "properties": {
        "kind": {"type": "string", "enum": ["document", "parent", "safety_stock", "negative_stock"]},
        "qty": DECIMAL, **doc_ref, "date": _DATE,
        "item": {"type": "integer", "description": "the parent item (kind parent)"},
        "item_label": {"type": "string"}, "due_date": {**_DATE, "description": "the parent planned order's due date"}}}
    if policy.can("item", "read"):
        grid = doc.ref("MrpGrid", {"type": "object", "required": ["run", "item", "buckets", "rows", "planned_orders",
                                                                 "matches_run"], "properties": {
            "run": ANY_OBJECT, "item": ANY_OBJECT, "level": {"type": "integer"},
            "planned": {"type": "boolean", "description": "false for an item MRP does not plan (in no BOM, no "
                                                        "default supplier): no demands, receipts or orders"},
            "action": {"type": "string", "enum": ["make", "buy"]}, "on_hand": DECIMAL, "safety_stock": DECIMAL,
            "lead_time_days": {"type": "integer"}, "min_order_qty": DECIMAL, "order_multiple": DECIMAL,
            "buckets": {"type": "array", "items": {"type": "object", "properties": {
                "index": {"type": "integer"}, "start": _DATE, "end": _DATE}}},
            "rows": {"type": "object", "description": "one value per bucket", "required": [
                "gross", "scheduled", "projected", "net", "planned_receipts", "planned_releases"], "properties": {
                "gross": {**decs, "description": "gross requirements (demands + parents' planned releases)"},
                "scheduled": {**decs, "description": "scheduled receipts (open POs, WOs, transfers in transit)"},
                "projected": {**decs, "description": "projected on hand after planned receipts"},
                "net": {**decs, "description": "net requirements: safety stock - (projected before the planned "
                                                "receipt), when positive"},
                "planned_receipts": decs, "planned_releases": decs}},
            "demands": {"type": "array", "items": flow}, "receipts": {"type": "array", "items": flow},
            "planned_orders": {"type": "array", "items": {"type": "object", "properties": {
                "bucket": {"type": "integer"}, "action": {"type": "string"}, "qty": DECIMAL, "due_date": _DATE,
                "release_date": _DATE, "past_due": {"type": "boolean"}, "pegging": {"type": "array", "items": peg},
                "line": {**_NULLINT, "description": "the run's mrp_line of this planned order"}}}},
            "lines": {"type": "array", "items": ANY_OBJECT}, "exceptions": {"type": "array", "items": ANY_OBJECT},
            "matches_run": {"type": "boolean", "description": "false when orders or stock changed since the run "
                                                              "(the stored lines differ from the grid's)"}}})
        doc.op(base + "/mrp-grid", "get", "get_mrp_grid", "reports",
               "an item's time-phased MRP grid in a run, with the pegging of its planned orders",
               {**ok("one column per bucket of the run's horizon", grid), **problems(403, 404, 422)},
               params=[run, _q("item", {"type": "integer", "minimum": 1}, "the item", required=True)],
               description="403 without read on mrp_run or item; 404 for a run or item you cannot see.")
    if spec.entity("mrp_exception") is not None and policy.can("mrp_exception", "read"):
        exc = doc.ref("MrpExceptionPage", {"type": "object", "required": ["data", "total", "counts"], "properties": {
            "data": {"type": "array", "items": ANY_OBJECT}, "total": {"type": "integer"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                       "description": "exceptions of the run per kind"},
            "limit": {"type": "integer"}, "offset": {"type": "integer"}}})
        doc.op(base + "/mrp-exceptions", "get", "get_mrp_exceptions", "reports",
               "an MRP run's exceptions (expedite, defer, cancel, past due) with links to the orders",
               {**ok("past due first, then expedite, defer, cancel; by date", exc), **problems(403, 404, 422)},
               params=[run, _q("kind", {"type": "string", "enum": ["past_due", "expedite", "defer", "cancel"]}),
                       _q("item", {"type": "integer", "minimum": 1}),
                       _q("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
                       _q("offset", {"type": "integer", "minimum": 0, "default": 0})])

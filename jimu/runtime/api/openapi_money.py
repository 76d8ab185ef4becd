"""The money reports in the per-caller OpenAPI document: ``GET /api/apps/{app}/reports/aging``
appears only for a caller the route would answer (:func:`jimu.runtime.money.report.may_see_aging`)."""

from __future__ import annotations

from typing import Any

from jimu.runtime.api.openapi_paths import DECIMAL, Doc, ok

__all__ = ["add_money"]

BUCKETS = ("0-30", "31-60", "61-90", "90+", "total")


def add_money(doc: Doc) -> None:
    """The aging report, when the caller may read it."""
    from jimu.runtime.money.report import may_see_aging

    if not may_see_aging(doc.policy):
        return
    figures: dict[str, Any] = {b: DECIMAL for b in BUCKETS}
    row = doc.ref("AgingRow", {"type": "object", "required": ["partner", *BUCKETS], "properties": {
        "partner": {"type": ["integer", "null"], "description": "customer (receivable) or supplier (payable) id"},
        "partner_name": {"type": ["string", "null"]}, **figures}})
    report = doc.ref("AgingReport", {"type": "object", "required": ["kind", "as_of", "currency", "data", "totals"],
                                     "properties": {
                                         "kind": {"type": "string", "enum": ["receivable", "payable"]},
                                         "as_of": {"type": "string", "format": "date"},
                                         "currency": {"type": "string", "examples": ["CNY"]},
                                         "buckets": {"type": "array", "items": {"type": "string"}},
                                         "data": {"type": "array", "items": row},
                                         "totals": {"type": "object", "properties": figures},
                                         "next_cursor": {"type": "null"}}})
    doc.op(f"/api/apps/{doc.app}/reports/aging", "get", "get_aging_report", "reports",
           "receivables or payables aging: open amounts in the base currency by partner and days past due",
           ok("the aging rows", report),
           params=[{"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["receivable", "payable"],
                                                               "default": "receivable"}}],
           description="Open amounts of issued and partially paid invoices, by days past due at the app "
                       "clock's date (an invoice not yet due counts in 0-30). Needs read and export on invoice.")

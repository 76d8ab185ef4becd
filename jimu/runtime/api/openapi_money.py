"""The money reports in the per-caller OpenAPI document: ``GET /api/apps/{app}/reports/aging``
appears only for a caller the route would answer (:func:`jimu.runtime.money.report.may_see_aging`)."""

from __future__ import annotations

from typing import Any

from jimu.runtime.api.openapi_paths import DECIMAL, Doc, ok

__all__ = ["add_money"]

BUCKETS = ("0-30", "31-60", "61-90", "90+", "total")


def add_money(doc: Doc) -> None:
    """The aging report and the trading reports, each when the caller may read it."""
    from jimu.runtime.money.report import may_see_aging

    _add_trade(doc)
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


def _add_trade(doc: Doc) -> None:
    """``reports/contract-margin`` and ``reports/supplier-prices`` (no_stock), per caller."""
    from jimu.runtime.money.trade_reports import may_see_margin, may_see_prices

    if may_see_margin(doc.policy):
        figures: dict[str, Any] = {k: DECIMAL for k in ("sales_base", "purchase_base", "margin_base", "fx_gain")}
        row = doc.ref("ContractMarginRow", {"type": "object", "required": ["contract", *figures], "properties": {
            "contract": {"type": "integer"}, "number": {"type": ["string", "null"]},
            "customer": {"type": ["integer", "null"]}, "currency": {"type": "string"}, "fx_rate": DECIMAL, **figures}})
        report = doc.ref("ContractMarginReport", {"type": "object", "required": ["currency", "data", "totals"],
                                                  "properties": {"currency": {"type": "string"},
                                                                 "data": {"type": "array", "items": row},
                                                                 "totals": {"type": "object", "properties": figures},
                                                                 "next_cursor": {"type": "null"}}})
        doc.op(f"/api/apps/{doc.app}/reports/contract-margin", "get", "get_contract_margin", "reports",
               "per signed contract: sales, purchases and margin in CNY at the locked rate, realized fx difference",
               ok("the contracts' margins", report),
               description="Margins written at signing (each side at the locked rate, rounded to CNY) and fx_gain, "
                           "the realized exchange difference of the payments allocated to the contract's invoices. "
                           "Needs read and export on contract.")
    if may_see_prices(doc.policy):
        offer = doc.ref("SupplierPrice", {"type": "object", "required": ["supplier", "price", "currency", "price_base"],
                                          "properties": {
                                              "supplier": {"type": "integer"}, "supplier_name": {"type": ["string", "null"]},
                                              "price": DECIMAL, "currency": {"type": "string"},
                                              "fx_rate": {"type": ["string", "null"]},
                                              "price_base": {"type": ["string", "null"]},
                                              "date": {"type": ["string", "null"], "format": "date"},
                                              "source": {"type": "object"}}})
        body = doc.ref("SupplierPriceReport", {"type": "object", "required": ["as_of", "currency", "data"], "properties": {
            "as_of": {"type": "string", "format": "date"}, "currency": {"type": "string"},
            "rates": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
            "data": {"type": "array", "items": {"type": "object", "properties": {
                "item": {"type": "integer"}, "item_name": {"type": ["string", "null"]},
                "suppliers": {"type": "array", "items": offer}}}},
            "next_cursor": {"type": "null"}}})
        doc.op(f"/api/apps/{doc.app}/reports/supplier-prices", "get", "get_supplier_prices", "reports",
               "each supplier's last price per item in CNY at the day's exchange rates, cheapest first",
               ok("the price comparison", body),
               params=[{"name": "item", "in": "query", "schema": {"type": "integer"}}],
               description="Latest purchase order line (not cancelled) or signed contract line per item and "
                           "supplier, converted at the day's fx_rate record. Needs read on purchase orders with "
                           "prices visible.")

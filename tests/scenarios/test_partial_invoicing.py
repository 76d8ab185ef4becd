"""Invoicing by hand what a partially shipped sales order / partially received purchase
order has moved (``create_invoice`` from the partial states; the order stays where it is).

Figures by hand (standard template, payment terms 30 days, clock 2026-01-05):

- SO 10 milk × 12.80 + 5 bread × 9.90. Ship 4 milk, 0 bread → partially_shipped; invoice
  4 × 12.80 = 51.20. Ship the rest (6 milk, 5 bread) → shipped; the second invoice holds
  only what the first did not: 6 × 12.80 + 5 × 9.90 = 76.80 + 49.50 = 126.30
  (51.20 + 126.30 = 177.50, the whole order). A third click: 409 nothing to invoice.
- PO 20 milk × 8.40. Receive 15 → partially_received; invoice 15 × 8.40 = 126.00; a second
  click before more arrives: 409; receive the last 5 → received; invoice 5 × 8.40 = 42.00.

Mutations tried, each seen to fail this test: ``create_invoice`` left ``from: [shipped]``
(409 workflow.transition_not_allowed on the partially shipped order); ``to: "*"`` taken
literally by the engine (422: state ``*`` is not one of the states); the already
invoiced quantity not subtracted in ``order_lines`` (the second SO invoice is 177.50).
"""

from __future__ import annotations

from tests.scenarios.conftest import Scenario


def _invoices(s: Scenario, source: str, rid: int) -> list[tuple[str, list[tuple[str, str]]]]:
    rows = s.get("finance", "data/invoice", filter=f"{source} == {rid}", sort="id").json()["data"]
    out = []
    for row in rows:
        inv = s.record("finance", "invoice", row["id"])
        out.append((inv["amount"], [(ln["qty"], ln["amount"]) for ln in inv["lines"]]))
    return out


def test_partial_shipment_is_invoiced_for_what_moved(scenario: Scenario) -> None:
    s = scenario
    c1 = s.ids["customers"][0]
    milk, bread = s.ids["items"]
    wh = s.ids["warehouse"]
    so = s.create("sales", "sales_order", {"customer": c1, "warehouse": wh, "lines": [
        {"item": milk, "qty": "10", "price": "12.80"}, {"item": bread, "qty": "5", "price": "9.90"}]})
    s.fire_ok("sales", "sales_order", so["id"], "submit")
    s.fire_ok("manager", "sales_order", so["id"], "approve")
    lm, _bread_line = (ln["id"] for ln in s.record("sales", "sales_order", so["id"])["lines"])
    after = s.fire_ok("warehouse", "sales_order", so["id"], "ship",
                      {"warehouse_confirm_code": "1234", "logistics_no": "SF1", "lines": [{"line": lm, "qty": "4"}]})
    assert after["state"] == "partially_shipped"
    after = s.fire_ok("finance", "sales_order", so["id"], "create_invoice")
    assert after["state"] == "partially_shipped"
    assert _invoices(s, "sales_order", so["id"]) == [("51.20", [("4.0000", "51.20")])]

    after = s.fire_ok("warehouse", "sales_order", so["id"], "ship",
                      {"warehouse_confirm_code": "1234", "logistics_no": "SF2"})
    assert after["state"] == "shipped"
    after = s.fire_ok("sales", "sales_order", so["id"], "create_invoice")
    assert after["state"] == "shipped"
    assert _invoices(s, "sales_order", so["id"]) == [
        ("51.20", [("4.0000", "51.20")]), ("126.30", [("6.0000", "76.80"), ("5.0000", "49.50")])]
    again = s.fire("sales", "sales_order", so["id"], "create_invoice")
    assert again.status_code == 409 and again.json()["code"] == "invoice.nothing_to_invoice"


def test_partial_receipt_raises_the_payable_for_what_arrived(scenario: Scenario) -> None:
    s = scenario
    milk = s.ids["items"][0]
    wh = s.ids["warehouse"]
    po = s.create("purchasing", "purchase_order", {"supplier": s.ids["supplier"], "warehouse": wh,
                                                   "lines": [{"item": milk, "qty": "20", "price": "8.40"}]})
    s.fire_ok("purchasing", "purchase_order", po["id"], "submit")
    s.fire_ok("manager", "purchase_order", po["id"], "approve")
    (line,) = (ln["id"] for ln in s.record("purchasing", "purchase_order", po["id"])["lines"])
    after = s.fire_ok("warehouse", "purchase_order", po["id"], "receive", {"lines": [{"line": line, "qty": "15"}]})
    assert after["state"] == "partially_received"
    after = s.fire_ok("purchasing", "purchase_order", po["id"], "create_invoice")
    assert after["state"] == "partially_received"
    assert _invoices(s, "purchase_order", po["id"]) == [("126.00", [("15.0000", "126.00")])]
    again = s.fire("finance", "purchase_order", po["id"], "create_invoice")
    assert again.status_code == 409 and again.json()["code"] == "invoice.nothing_to_invoice"

    assert s.fire_ok("warehouse", "purchase_order", po["id"], "receive")["state"] == "received"
    s.fire_ok("finance", "purchase_order", po["id"], "create_invoice")
    assert _invoices(s, "purchase_order", po["id"]) == [
        ("126.00", [("15.0000", "126.00")]), ("42.00", [("5.0000", "42.00")])]

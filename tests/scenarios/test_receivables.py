"""应收 scenario over HTTP: ship → invoice → partial payment → aging at day 0, 45 and 95 of
the test clock → one overdue notice per overdue sales invoice, never repeated.

Every figure is computed by hand below (the clock starts 2026-01-05; payment terms 30
days, so an invoice issued that day is due 2026-02-04):

- SO: 10 × 12.80 + 5 × 9.90 = 128.00 + 49.50 = 177.50; receipt 100.00 → open 77.50.
- INV2 (no lines, as entered): 300.00 CNY due 2026-01-08.
- INV3 (no lines): 100.05 USD at 7.1255 = 712.906275 → base 712.91, due 2026-02-04.
- PO: 20 × 8.40 = 168.00 payable, due 2026-02-04.
- Day 45 = 2026-02-19: INV1 15 days past due, INV2 42, INV3 15, PO invoice 15.
- Day 95 = 2026-04-10: INV1 65 days (Feb 4 → Apr 10), INV2 92, INV3 65, PO 65.

Mutations tried, each seen to fail this test: the 90-day cut-off taken as today − 95 days
(INV2, 92 days past due, falls out of 90+ at day 95); the ``overdue_notified_at IS NULL``
guard dropped (the three notices are sent again at day 95); a payment that raises
``paid_amount`` without lowering ``open_amount`` (INV1 stays at 177.50 open); the sales
order's ``payment_status`` left alone when its invoice is paid (stays ``unpaid``).
"""

from __future__ import annotations

from typing import Any

from tests.scenarios.conftest import Scenario


def _aging(s: Scenario, kind: str) -> dict[Any, dict[str, str]]:
    r = s.get("finance", "reports/aging", kind=kind)
    assert r.status_code == 200, r.text
    return {row["partner"]: {k: row[k] for k in ("0-30", "31-60", "61-90", "90+", "total")} for row in r.json()["data"]}


def _row(a: str = "0.00", b: str = "0.00", c: str = "0.00", d: str = "0.00", total: str = "0.00") -> dict[str, str]:
    return {"0-30": a, "31-60": b, "61-90": c, "90+": d, "total": total}


def _overdue_notices(s: Scenario, user: str) -> list[dict[str, Any]]:
    r = s.client.get("/api/apps/standard/inbox", params={"limit": 100}, headers=s.as_(user))
    assert r.status_code == 200, r.text
    return [e for e in r.json()["data"] if e["entity"] == "invoice" and e["kind"] == "notification"]


def test_ship_invoice_pay_age_and_notify(scenario: Scenario) -> None:
    s = scenario
    c1, c2 = s.ids["customers"]
    milk, bread = s.ids["items"]
    wh = s.ids["warehouse"]

    # Ship a sales order, then invoice what was shipped in one click.
    so = s.create("sales", "sales_order", {"customer": c1, "warehouse": wh, "lines": [
        {"item": milk, "qty": "10", "price": "12.80"}, {"item": bread, "qty": "5", "price": "9.90"}]})
    s.fire_ok("sales", "sales_order", so["id"], "submit")
    s.fire_ok("manager", "sales_order", so["id"], "approve")
    s.fire_ok("warehouse", "sales_order", so["id"], "ship", {"warehouse_confirm_code": "1234", "logistics_no": "SF1"})
    s.fire_ok("sales", "sales_order", so["id"], "create_invoice")
    found = s.get("finance", "data/invoice", filter=f"sales_order == {so['id']}").json()["data"]
    assert len(found) == 1
    inv1 = s.record("finance", "invoice", found[0]["id"])
    assert (inv1["kind"], inv1["customer"], inv1["state"]) == ("sales", c1, "issued")
    assert [(ln["qty"], ln["price"], ln["amount"]) for ln in inv1["lines"]] == [
        ("10.0000", "12.8000", "128.00"), ("5.0000", "9.9000", "49.50")]
    assert (inv1["amount"], inv1["base_amount"], inv1["open_amount"]) == ("177.50", "177.50", "177.50")
    assert inv1["due_date"] == "2026-02-04"
    # A second click has nothing left to invoice.
    again = s.fire("sales", "sales_order", so["id"], "create_invoice")
    assert again.status_code == 409 and again.json()["code"] == "invoice.nothing_to_invoice"

    # Invoices without lines take their amount as entered.
    inv2 = s.create("finance", "invoice", {"kind": "sales", "customer": c2, "amount": "300.00",
                                           "due_date": "2026-01-08"})
    inv2 = s.fire_ok("finance", "invoice", inv2["id"], "issue")
    assert (inv2["amount"], inv2["open_amount"], inv2["due_date"]) == ("300.00", "300.00", "2026-01-08")
    inv3 = s.create("finance", "invoice", {"kind": "sales", "customer": c2, "amount": "100.05",
                                           "currency": "USD", "fx_rate": "7.1255"})
    inv3 = s.fire_ok("finance", "invoice", inv3["id"], "issue")
    assert (inv3["base_amount"], inv3["open_base_amount"], inv3["due_date"]) == ("712.91", "712.91", "2026-02-04")

    # A receipt of 100.00 against INV1: partially paid, 77.50 open.
    pay = s.create("finance", "payment", {"kind": "receipt", "customer": c1, "amount": "100.00",
                                          "allocations": [{"invoice": inv1["id"], "amount": "100.00"}]})
    s.fire_ok("finance", "payment", pay["id"], "confirm")
    inv1 = s.record("finance", "invoice", inv1["id"])
    assert (inv1["paid_amount"], inv1["open_amount"], inv1["open_base_amount"], inv1["state"]) == (
        "100.00", "77.50", "77.50", "partially_paid")

    # Over-allocation and a currency mismatch are refused with the figures.
    over = s.create("finance", "payment", {"kind": "receipt", "customer": c1, "amount": "100.00",
                                           "allocations": [{"invoice": inv1["id"], "amount": "80.00"}]})
    r = s.fire("finance", "payment", over["id"], "confirm")
    assert r.status_code == 422, r.text
    assert (r.json()["code"], r.json()["open_amount"], r.json()["allocated"]) == ("payment.over_allocated", "77.50", "80.00")
    usd = s.create("finance", "payment", {"kind": "receipt", "customer": c2, "amount": "50.00",
                                          "allocations": [{"invoice": inv3["id"], "amount": "50.00"}]})
    r = s.fire("finance", "payment", usd["id"], "confirm")
    assert r.status_code == 422 and r.json()["code"] == "payment.currency_mismatch", r.text
    assert s.record("finance", "invoice", inv1["id"])["open_amount"] == "77.50"  # nothing applied

    # A purchase order received raises the payable (到货生成应付).
    po = s.create("purchasing", "purchase_order", {"supplier": s.ids["supplier"], "warehouse": wh,
                                                   "lines": [{"item": milk, "qty": "20", "price": "8.40"}]})
    s.fire_ok("purchasing", "purchase_order", po["id"], "submit")
    s.fire_ok("manager", "purchase_order", po["id"], "approve")
    s.fire_ok("warehouse", "purchase_order", po["id"], "receive")
    s.fire_ok("purchasing", "purchase_order", po["id"], "create_invoice")
    sup = s.ids["supplier"]

    assert _aging(s, "receivable") == {c1: _row("77.50", total="77.50"), c2: _row("1012.91", total="1012.91")}
    assert _aging(s, "payable") == {sup: _row("168.00", total="168.00")}
    assert _overdue_notices(s, "finance") == []  # INV2 is due on the 8th: not overdue yet

    s.advance("P45D")  # 2026-02-19
    assert _aging(s, "receivable") == {c1: _row("77.50", total="77.50"),
                                       c2: _row("712.91", "300.00", total="1012.91")}
    assert _aging(s, "payable") == {sup: _row("168.00", total="168.00")}
    for user in ("sales", "finance"):
        notices = _overdue_notices(s, user)
        assert sorted(n["record"] for n in notices) == sorted([inv1["id"], inv2["id"], inv3["id"]]), user
    assert "42" in next(n["title"] for n in _overdue_notices(s, "finance") if n["record"] == inv2["id"])
    assert _overdue_notices(s, "warehouse") == []

    s.advance("P50D")  # 2026-04-10, day 95
    assert _aging(s, "receivable") == {c1: _row(c="77.50", total="77.50"),
                                       c2: _row(c="712.91", d="300.00", total="1012.91")}
    assert _aging(s, "payable") == {sup: _row(c="168.00", total="168.00")}
    for user in ("sales", "finance"):
        assert len(_overdue_notices(s, user)) == 3, user  # never repeated

    # Paying the rest settles INV1 and takes it off the report.
    rest = s.create("finance", "payment", {"kind": "receipt", "customer": c1, "amount": "77.50",
                                           "allocations": [{"invoice": inv1["id"], "amount": "77.50"}]})
    assert s.record("finance", "sales_order", so["id"])["payment_status"] == "unpaid"  # 100.00 of 177.50
    s.fire_ok("finance", "payment", rest["id"], "confirm")
    assert s.record("finance", "invoice", inv1["id"])["state"] == "paid"
    assert s.record("finance", "sales_order", so["id"])["payment_status"] == "paid"
    assert c1 not in _aging(s, "receivable")


def _dispatch(s: Scenario) -> None:
    from jimu.runtime.events.dispatcher import run_once

    for _ in range(10):
        if run_once(s.jimu)["dispatched"] == 0:
            return


def test_auto_invoice_on_ship_and_receive(auto_scenario: Scenario) -> None:
    """With ``auto_invoice`` the ship and receive transitions raise the invoices themselves
    (the units' automations): 3 × 12.80 = 38.40 receivable, 4 × 5.10 = 20.40 payable.
    Mutation tried: the automations' ``when: auto_invoice`` inverted (no invoice appears)."""
    s = auto_scenario
    c1 = s.ids["customers"][0]
    milk, bread = s.ids["items"]
    wh = s.ids["warehouse"]
    so = s.create("sales", "sales_order", {"customer": c1, "warehouse": wh,
                                           "lines": [{"item": milk, "qty": "3", "price": "12.80"}]})
    s.fire_ok("sales", "sales_order", so["id"], "submit")
    s.fire_ok("manager", "sales_order", so["id"], "approve")
    s.fire_ok("warehouse", "sales_order", so["id"], "ship", {"warehouse_confirm_code": "1234", "logistics_no": "SF2"})
    po = s.create("purchasing", "purchase_order", {"supplier": s.ids["supplier"], "warehouse": wh,
                                                   "lines": [{"item": bread, "qty": "4", "price": "5.10"}]})
    s.fire_ok("purchasing", "purchase_order", po["id"], "submit")
    s.fire_ok("manager", "purchase_order", po["id"], "approve")
    s.fire_ok("warehouse", "purchase_order", po["id"], "receive")
    _dispatch(s)
    sales = s.get("finance", "data/invoice", filter=f"sales_order == {so['id']}").json()["data"]
    bought = s.get("finance", "data/invoice", filter=f"purchase_order == {po['id']}").json()["data"]
    assert [(i["kind"], i["customer"], i["amount"], i["state"]) for i in sales] == [("sales", c1, "38.40", "issued")]
    assert [(i["kind"], i["supplier"], i["amount"], i["state"]) for i in bought] == [
        ("purchase", s.ids["supplier"], "20.40", "issued")]
    # The one-click transition has nothing left to do afterwards.
    assert s.fire("finance", "sales_order", so["id"], "create_invoice").status_code == 409


def test_invoice_a_completed_order_by_hand(scenario: Scenario) -> None:
    """A completed order has no ``create_invoice`` (409); an invoice typed with just the
    order is filled from it at ``issue``: 2 × 9.90 = 19.80, once (a second one has nothing
    left: 409 ``invoice.nothing_to_invoice``, and the draft stays a draft).
    Mutation tried: ``order_lines`` without subtracting what is invoiced already lets the
    second invoice through."""
    s = scenario
    c1 = s.ids["customers"][0]
    so = s.create("sales", "sales_order", {"customer": c1, "warehouse": s.ids["warehouse"],
                                           "lines": [{"item": s.ids["items"][1], "qty": "2", "price": "9.90"}]})
    s.fire_ok("sales", "sales_order", so["id"], "submit")
    s.fire_ok("manager", "sales_order", so["id"], "approve")
    s.fire_ok("warehouse", "sales_order", so["id"], "ship", {"warehouse_confirm_code": "1234", "logistics_no": "SF3"})
    s.fire_ok("sales", "sales_order", so["id"], "complete")
    assert s.fire("finance", "sales_order", so["id"], "create_invoice").status_code == 409
    draft = s.create("finance", "invoice", {"kind": "sales", "sales_order": so["id"]})
    inv = s.fire_ok("finance", "invoice", draft["id"], "issue")
    assert (inv["customer"], inv["amount"], inv["open_amount"], inv["state"]) == (c1, "19.80", "19.80", "issued")
    assert [(ln["qty"], ln["amount"]) for ln in inv["lines"]] == [("2.0000", "19.80")]
    second = s.create("finance", "invoice", {"kind": "sales", "sales_order": so["id"]})
    r = s.fire("finance", "invoice", second["id"], "issue")
    assert r.status_code == 409 and r.json()["code"] == "invoice.nothing_to_invoice", r.text
    assert s.record("finance", "invoice", second["id"])["state"] == "draft"

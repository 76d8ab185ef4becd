"""No-stock trading over HTTP (DESIGN 16, Money): a USD contract signed at 7.10, the rate
moves to 7.25 and then 7.05, sales and purchase orders from the contract, invoices in USD
at the locked rate, two partial receipts and a disbursement at the day's rates, and the
margin in CNY computed by hand.

Hand arithmetic (clock starts 2026-01-05):
- lines: 100 × 12.50 = 1250.00 and 30 × 8.35 = 250.50 → sales 1500.50 USD;
  100 × 10.20 = 1020.00 and 30 × 6.10 = 183.00 → purchases 1203.00 USD.
- locked 7.10: sales 1500.50 × 7.10 = 10653.55 CNY, purchases 1203.00 × 7.10 = 8541.30 CNY,
  margin 10653.55 − 8541.30 = 2112.25 CNY (at 7.25 it would be 297.50 × 7.25 = 2156.88).
- receipt 1 (2026-01-06, 7.25): 600.00 USD → 4350.00 CNY vs 600.00 × 7.10 = 4260.00:
  gain 90.00; the invoice keeps 900.50 USD open = 900.50 × 7.10 = 6393.55 CNY.
- receipt 2 (2026-01-20, 7.05): 900.50 USD → 6348.525 → 6348.53 CNY vs 6393.55: −45.02.
- disbursement (2026-01-20, 7.05): 1203.00 USD → 8481.15 CNY vs 8541.30 at 7.10: paying
  60.15 CNY less is a gain of 60.15.

Mutations tried, each seen to fail this test: ``sign_contract`` reading the rate of the
latest record instead of the one dated on or before the day (locks 7.25 when signed after
a future-dated record was entered: margin 2156.88); invoices from an order ignoring the
order's ``fx_rate`` (invoice base at 1: 1500.50); the disbursement's gain not negated
(−60.15).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from jimu.core import clock as clock_mod
from tests.scenarios.conftest import START, Scenario

APP = "trade"


class Trade(Scenario):
    """The scenario helpers on the no_stock app."""

    def post(self, user: str, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(f"/api/apps/{APP}/{path}", json=body, headers=self.as_(user))

    def get(self, user: str, path: str, **params: Any) -> httpx.Response:
        return self.client.get(f"/api/apps/{APP}/{path}", params=params, headers=self.as_(user))

    def patch(self, user: str, path: str, body: dict[str, Any]) -> httpx.Response:
        """PATCH with the record's current ETag (a real edit attempt, not a stale one)."""
        etag = self.get(user, path).headers["ETag"]
        return self.client.patch(f"/api/apps/{APP}/{path}", json=body, headers={**self.as_(user), "If-Match": etag})


def _build(jimu: Any) -> dict[str, Any]:
    from jimu.cli.basics import ensure_demo_users
    from jimu.templates_market.installer import install_template

    ensure_demo_users(jimu)
    install_template(jimu, APP, "no_stock", sample_data=False)
    rec = jimu.records
    wh = rec.create(APP, "warehouse", {"name": "上海港", "code": "SH-PORT", "confirm_code": "1234"})
    customer = rec.create(APP, "customer", {"code": "C-US1", "name": "Acme Trading"})["id"]
    supplier = rec.create(APP, "supplier", {"name": "宁波织造"})["id"]
    items = [rec.create(APP, "item", {"sku": s, "name": n, "unit": "件"})["id"]
             for s, n in (("SKU-T001", "纯棉T恤"), ("SKU-T002", "帆布袋"))]
    return {"warehouse": wh["id"], "customer": customer, "supplier": supplier, "items": items}


@pytest.fixture
def trade(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trade]:
    from jimu.runtime.api.app import create_app
    from jimu.runtime.context import Jimu

    monkeypatch.setenv("JIMU_TEST_CLOCK", "1")
    previous = clock_mod.set_clock(clock_mod.ManualClock(frozen=START))
    jimu = Jimu.open(db_url)
    try:
        ids = _build(jimu)
        with TestClient(create_app(jimu)) as client:
            yield Trade(jimu, client, ids)
    finally:
        jimu.close()
        clock_mod.set_clock(previous)


def _invoice_of(s: Trade, entity: str, order_id: int) -> dict[str, Any]:
    found = s.get("finance", "data/invoice", filter=f"{entity} == {order_id}").json()["data"]
    assert len(found) == 1, found
    return s.record("finance", "invoice", found[0]["id"])


def test_usd_contract_locked_rate_invoices_payments_margin(trade: Trade) -> None:
    s = trade
    t1, t2 = s.ids["items"]
    contract = s.create("sales", "contract", {
        "customer": s.ids["customer"], "supplier": s.ids["supplier"], "warehouse": s.ids["warehouse"],
        "currency": "USD", "lines": [
            {"item": t1, "qty": "100", "sale_price": "12.50", "purchase_price": "10.20"},
            {"item": t2, "qty": "30", "sale_price": "8.35", "purchase_price": "6.10"}]})
    cid = contract["id"]

    # No rate of the day yet: signing is refused and names the currency.
    r = s.fire("manager", "contract", cid, "sign")
    assert r.status_code == 422 and r.json()["code"] == "fx.rate_missing", r.text
    assert r.json()["currency"] == "USD"
    s.create("finance", "fx_rate", {"currency": "USD", "rate_date": "2026-01-04", "rate": "7.08"})
    s.create("finance", "fx_rate", {"currency": "USD", "rate_date": "2026-01-05", "rate": "7.10"})
    s.create("finance", "fx_rate", {"currency": "USD", "rate_date": "2026-01-06", "rate": "7.25"})  # entered early

    signed = s.fire_ok("manager", "contract", cid, "sign")
    assert (signed["state"], signed["signed_date"], signed["fx_rate"]) == ("signed", "2026-01-05", "7.100000")
    assert (signed["sales_amount"], signed["purchase_amount"]) == ("1500.50", "1203.00")
    assert (signed["sales_base"], signed["purchase_base"], signed["margin_base"]) == ("10653.55", "8541.30", "2112.25")

    # The locked rate never changes: not by hand, not when the day's rate moves.
    r = s.patch("manager", f"data/contract/{cid}", {"fx_rate": "7.25"})
    assert r.status_code in (403, 409, 422) and "fx_rate" in r.text, r.text
    s.advance("P1D")  # 2026-01-06: 7.25
    assert s.record("manager", "contract", cid)["fx_rate"] == "7.100000"

    # One click each raises the orders, in USD at the locked rate; a second click is 409.
    s.fire_ok("sales", "contract", cid, "create_sales_order")
    s.fire_ok("purchasing", "contract", cid, "create_purchase_order")
    c = s.record("manager", "contract", cid)
    so, po = s.record("sales", "sales_order", c["sales_order"]), s.record("purchasing", "purchase_order", c["purchase_order"])
    assert (so["currency"], so["fx_rate"], so["customer"], so["contract"], so["amount"]) == (
        "USD", "7.100000", s.ids["customer"], cid, "1500.50")
    assert (po["currency"], po["fx_rate"], po["supplier"], po["amount"]) == ("USD", "7.100000", s.ids["supplier"], "1203.00")
    again = s.fire("sales", "contract", cid, "create_sales_order")
    assert again.status_code == 409 and again.json()["code"] == "contract.order_exists", again.text

    # The orders run their usual flow; nothing touches a stock ledger in no_stock.
    s.fire_ok("sales", "sales_order", so["id"], "submit")
    s.fire_ok("manager", "sales_order", so["id"], "approve")
    s.fire_ok("vp", "sales_order", so["id"], "approve")  # 1500.50 USD = 10653.55 CNY: over the VP threshold (5000)
    s.fire_ok("warehouse", "sales_order", so["id"], "ship", {"warehouse_confirm_code": "1234", "logistics_no": "MSK1"})
    s.fire_ok("purchasing", "purchase_order", po["id"], "submit")
    s.fire_ok("manager", "purchase_order", po["id"], "approve")
    s.fire_ok("warehouse", "purchase_order", po["id"], "receive")
    assert "stock" not in {lg["name"] for lg in s.jimu.apps.get(APP).spec.dump().get("ledgers", [])}

    s.fire_ok("finance", "sales_order", so["id"], "create_invoice")
    s.fire_ok("finance", "purchase_order", po["id"], "create_invoice")
    sinv, pinv = _invoice_of(s, "sales_order", so["id"]), _invoice_of(s, "purchase_order", po["id"])
    assert (sinv["currency"], sinv["fx_rate"], sinv["amount"], sinv["base_amount"], sinv["contract"]) == (
        "USD", "7.100000", "1500.50", "10653.55", cid)
    assert (pinv["currency"], pinv["fx_rate"], pinv["amount"], pinv["base_amount"]) == (
        "USD", "7.100000", "1203.00", "8541.30")
    # The margin from the invoices' base amounts is the contract's.
    assert "10653.55" == sinv["base_amount"] and "8541.30" == pinv["base_amount"]  # 10653.55 − 8541.30 = 2112.25

    # Receipt 1 at the day's rate 7.25.
    p1 = s.create("finance", "payment", {"kind": "receipt", "customer": s.ids["customer"], "currency": "USD",
                                         "amount": "600.00", "allocations": [{"invoice": sinv["id"], "amount": "600.00"}]})
    p1 = s.fire_ok("finance", "payment", p1["id"], "confirm")
    assert (p1["fx_rate"], p1["fx_gain"]) == ("7.250000", "90.00")
    sinv = s.record("finance", "invoice", sinv["id"])
    assert (sinv["open_amount"], sinv["open_base_amount"], sinv["state"]) == ("900.50", "6393.55", "partially_paid")

    # The rate moves to 7.05; receipt 2 settles the rest, the supplier is paid.
    s.create("finance", "fx_rate", {"currency": "USD", "rate_date": "2026-01-20", "rate": "7.05"})
    s.advance("P14D")  # 2026-01-20
    p2 = s.create("finance", "payment", {"kind": "receipt", "customer": s.ids["customer"], "currency": "USD",
                                         "amount": "900.50", "allocations": [{"invoice": sinv["id"], "amount": "900.50"}]})
    p2 = s.fire_ok("finance", "payment", p2["id"], "confirm")
    assert (p2["payment_date"], p2["fx_rate"], p2["fx_gain"]) == ("2026-01-20", "7.050000", "-45.02")
    p3 = s.create("finance", "payment", {"kind": "disbursement", "supplier": s.ids["supplier"], "currency": "USD",
                                         "amount": "1203.00", "allocations": [{"invoice": pinv["id"], "amount": "1203.00"}]})
    p3 = s.fire_ok("finance", "payment", p3["id"], "confirm")
    assert (p3["fx_rate"], p3["fx_gain"]) == ("7.050000", "60.15")
    assert s.record("finance", "invoice", sinv["id"])["state"] == "paid"
    assert s.record("finance", "invoice", pinv["id"])["state"] == "paid"

    # The contract's margin is unchanged by the payments (the realized difference is theirs).
    c = s.record("manager", "contract", cid)
    assert (c["fx_rate"], c["margin_base"]) == ("7.100000", "2112.25")
    report = s.get("finance", "reports/contract-margin")
    assert report.status_code == 200, report.text
    row = next(x for x in report.json()["data"] if x["contract"] == cid)
    # realized: 90.00 − 45.02 + 60.15 = 105.13
    assert (row["sales_base"], row["purchase_base"], row["margin_base"], row["fx_gain"]) == (
        "10653.55", "8541.30", "2112.25", "105.13")


def test_orders_take_a_currency(trade: Trade) -> None:
    """The issue's 422 ``field.unknown`` on ``currency``: an order in USD is now a plain
    record (checked in this test; it fails again without the contract unit's
    ``extends.fields`` of sales_order)."""
    s = trade
    so = s.create("sales", "sales_order", {"customer": s.ids["customer"], "warehouse": s.ids["warehouse"],
                                           "currency": "USD", "fx_rate": "7.10",
                                           "lines": [{"item": s.ids["items"][0], "qty": "2", "price": "3.50"}]})
    assert (so["currency"], so["fx_rate"], so["amount"]) == ("USD", "7.100000", "7.00")


def test_supplier_price_comparison_in_cny(trade: Trade) -> None:
    """Each supplier's last price of an item in CNY at the day's rates, cheapest first.

    By hand (day 2026-01-06; USD 7.25 that day, EUR 7.80, no JPY rate):
    - 宁波织造: contract signed 2026-01-05 at purchase price 10.20 USD → 10.20 × 7.25 = 73.95
      (the day's rate, not the contract's locked 7.10);
    - 杭州纺织: PO 2026-01-05 at 75.00 CNY, then PO 2026-01-06 at 73.00 CNY → the last: 73.00;
    - Lyon Textile: PO at 9.50 EUR → 9.50 × 7.80 = 74.10;
    - 大阪商事: PO at 1500 JPY, no JPY rate → last, price_base null.
    Mutations tried, each seen to fail: sorting by the price in its own currency (9.50 EUR
    first); converting at the contract's locked rate (72.42); keeping the first PO (75.00).
    """
    s = trade
    t1 = s.ids["items"][0]
    s.create("finance", "fx_rate", {"currency": "USD", "rate_date": "2026-01-05", "rate": "7.10"})
    s.create("finance", "fx_rate", {"currency": "USD", "rate_date": "2026-01-06", "rate": "7.25"})
    s.create("finance", "fx_rate", {"currency": "EUR", "rate_date": "2026-01-01", "rate": "7.80"})
    c = s.create("manager", "contract", {"customer": s.ids["customer"], "supplier": s.ids["supplier"], "currency": "USD",
                                         "lines": [{"item": t1, "qty": "10", "sale_price": "12", "purchase_price": "10.20"}]})
    s.fire_ok("manager", "contract", c["id"], "sign")
    hz = s.create("purchasing", "supplier", {"name": "杭州纺织"})["id"]
    ly = s.create("purchasing", "supplier", {"name": "Lyon Textile"})["id"]
    osk = s.create("purchasing", "supplier", {"name": "大阪商事"})["id"]

    def po(supplier: int, price: str, currency: str) -> None:
        s.create("purchasing", "purchase_order", {"supplier": supplier, "warehouse": s.ids["warehouse"],
                                                  "currency": currency, "lines": [{"item": t1, "qty": "5", "price": price}]})

    po(hz, "75.00", "CNY")
    po(ly, "9.50", "EUR")
    po(osk, "1500", "JPY")
    s.advance("P1D")
    po(hz, "73.00", "CNY")
    r = s.get("purchasing", "reports/supplier-prices", item=t1)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["as_of"] == "2026-01-06" and body["rates"]["USD"] == "7.250000"
    (row,) = body["data"]
    assert row["item_name"] == "SKU-T001 纯棉T恤"
    assert [(x["supplier"], x["price"], x["currency"], x["price_base"]) for x in row["suppliers"]] == [
        (hz, "73.00", "CNY", "73.00"), (s.ids["supplier"], "10.2000", "USD", "73.95"),
        (ly, "9.50", "EUR", "74.10"), (osk, "1500.00", "JPY", None)]
    # Warehouse staff do not see purchase prices: no report for them.
    assert s.get("warehouse", "reports/supplier-prices").status_code == 403


def test_trading_reports_in_the_per_caller_openapi(trade: Trade) -> None:
    """The reports appear in a caller's OpenAPI only when the route would answer them.
    Mutation tried: ``_add_trade`` listing both reports for everyone (warehouse sees them)."""
    s = trade

    def paths(user: str) -> set[str]:
        r = s.get(user, "openapi.json")
        assert r.status_code == 200, r.text
        return set(r.json()["paths"])

    margin, prices = f"/api/apps/{APP}/reports/contract-margin", f"/api/apps/{APP}/reports/supplier-prices"
    assert {margin, prices} <= paths("finance")
    assert margin not in paths("purchasing") and prices in paths("purchasing")
    assert not {margin, prices} & paths("warehouse")
    assert s.get("purchasing", "reports/contract-margin").status_code == 403

"""Orders in several currencies add up in CNY (contract 1.1.0, DESIGN 16 Money): every
sales and purchase order keeps ``base_amount`` = ROUND(amount × fx_rate, 2), refreshed on
every write, and the overview, its reports and the credit check sum that, never USD
amounts with CNY ones. Both databases, over HTTP, clock at 2026-01-05; every figure by hand.

Hand arithmetic (USD 7.10 on 2026-01-05):
- contract sales order 100 × 12.50 = 1250.00 USD → 8875.00 CNY; its purchase order
  100 × 10.20 = 1020.00 USD → 7242.00 CNY;
- a typed USD order 3 × 9.99 = 29.97 USD → 212.787 → 212.79 CNY; its line edited to 4 →
  39.96 USD → 283.716 → 283.72; its rate then edited to 7.20 → 287.712 → 287.71;
- a CNY order 2 × 300.00 = 600.00 (rate 1 → 600.00); a CNY purchase order 50 × 20.00 = 1000.00.
- 本月销售额 = 8875.00 + 287.71 + 600.00 = 9762.71 (the raw amounts would give 1889.96).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from jimu.runtime.rollups import rollups_of, verify
from jimu.runtime.screens import dash_spec
from tests.scenarios import test_no_stock_contract as _contract
from tests.scenarios.test_no_stock_contract import APP, Trade

trade = _contract.trade  # the contract scenario's fixture (frozen clock, the trading app over HTTP)


def _charts(s: Trade, user: str = "manager") -> dict[str, Any]:
    policy = AccessPolicy.for_actor(s.jimu, APP, Actor(user, (user,)))
    return {c["label"]: c for c in dash_spec.spec_dashboard(policy, policy.rt.spec.dashboards[0], "zh")}


def _figures(s: Trade) -> tuple[Decimal, dict[str, Decimal], dict[str, Decimal]]:
    charts = _charts(s)
    return (charts["本月销售额"]["data"][0][1], dict(charts["客户销售额 Top 10"]["data"]),
            dict(charts["供应商采购额"]["data"]))


def _lines_patch(s: Trade, user: str, entity: str, rid: int, body: dict[str, Any]) -> dict[str, Any]:
    r = s.patch(user, f"data/{entity}/{rid}", body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_overview_sums_orders_in_cny(trade: Trade, monkeypatch: pytest.MonkeyPatch) -> None:
    """The overview's KPI and bars equal the CNY sums by hand (module doc), from the rollups
    and from a full scan alike, after orders raised by the contract action, typed by hand,
    edited line by line and re-rated. Mutations tried, each seen to fail here: the chart
    summing ``amount`` (``ent.field`` for ``ent.summed_field`` in dash_spec: 1889.96); the
    formula applying the rate twice (``amount * fx_rate * fx_rate``); the
    rollup plan measuring ``amount`` (the rollup path no longer answers: covered by the
    rollup assertion below)."""
    s = trade
    t1, t2 = s.ids["items"]
    s.create("finance", "fx_rate", {"currency": "USD", "rate_date": "2026-01-05", "rate": "7.10"})
    cn = s.jimu.records.create(APP, "customer", {"code": "C-CN1", "name": "华东超市"})["id"]
    gm = s.jimu.records.create(APP, "supplier", {"name": "光明乳业"})["id"]
    c = s.create("sales", "contract", {
        "customer": s.ids["customer"], "supplier": s.ids["supplier"], "warehouse": s.ids["warehouse"], "currency": "USD",
        "lines": [{"item": t1, "qty": "100", "sale_price": "12.50", "purchase_price": "10.20"}]})
    s.fire_ok("manager", "contract", c["id"], "sign")
    s.fire_ok("sales", "contract", c["id"], "create_sales_order")
    s.fire_ok("purchasing", "contract", c["id"], "create_purchase_order")
    c = s.record("manager", "contract", c["id"])
    so_usd = s.record("sales", "sales_order", c["sales_order"])
    po_usd = s.record("purchasing", "purchase_order", c["purchase_order"])
    assert (so_usd["amount"], so_usd["base_amount"]) == ("1250.00", "8875.00")
    assert (po_usd["amount"], po_usd["base_amount"]) == ("1020.00", "7242.00")

    typed = s.create("sales", "sales_order", {"customer": s.ids["customer"], "warehouse": s.ids["warehouse"],
                                              "currency": "USD", "fx_rate": "7.10",
                                              "lines": [{"item": t1, "qty": "3", "price": "9.99"}]})
    assert (typed["amount"], typed["base_amount"]) == ("29.97", "212.79")
    line = typed["lines"][0]
    typed = _lines_patch(s, "sales", "sales_order", typed["id"],
                         {"lines": [{"id": line["id"], "item": t1, "qty": "4", "price": "9.99"}]})
    assert (typed["amount"], typed["base_amount"]) == ("39.96", "283.72")  # the line edit refreshed it
    typed = _lines_patch(s, "sales", "sales_order", typed["id"], {"fx_rate": "7.20"})
    assert typed["base_amount"] == "287.71"  # and so did the rate
    cny = s.create("sales", "sales_order", {"customer": cn, "warehouse": s.ids["warehouse"],
                                            "lines": [{"item": t2, "qty": "2", "price": "300.00"}]})
    assert (cny["currency"], cny["fx_rate"], cny["amount"], cny["base_amount"]) == ("CNY", "1.000000", "600.00", "600.00")
    s.create("purchasing", "purchase_order", {"supplier": gm, "warehouse": s.ids["warehouse"],
                                              "lines": [{"item": t2, "qty": "50", "price": "20.00"}]})

    for oid in (so_usd["id"], typed["id"], cny["id"]):
        s.fire_ok("sales", "sales_order", oid, "submit")
        s.fire_ok("manager", "sales_order", oid, "approve")
    s.fire_ok("vp", "sales_order", so_usd["id"], "approve")  # 8875.00 CNY is over the VP threshold (5000)

    want = (Decimal("9762.71"), {"Acme Trading": Decimal("9162.71"), "华东超市": Decimal("600.00")},
            {"宁波织造": Decimal("7242.00"), "光明乳业": Decimal("1000.00")})
    rt = s.jimu.apps.get(APP)
    measured = {(d.entity, m.name) for d in rollups_of(rt) for m in d.measures}
    assert {("sales_order", "base_amount"), ("purchase_order", "base_amount")} <= measured
    assert _figures(s) == want
    with s.jimu.db.read() as conn:
        assert verify(conn, rt) == []
    monkeypatch.setattr(dash_spec, "grouped_rows", lambda *a, **k: None)  # the full scan says the same
    assert _figures(s) == want


def test_base_amount_follows_the_amount_rights(trade: Trade) -> None:
    """Warehouse staff see neither ``amount`` nor ``base_amount`` of an order (the role
    hides ``amount`` and does not list ``base_amount``), and no chart of it; a manager sees
    both. Mutation tried: ``entity_grant`` giving an unlisted base field the role's default
    (read): the warehouse reads ``base_amount`` = 600.00 and fails here."""
    s = trade
    so = s.create("sales", "sales_order", {"customer": s.ids["customer"], "warehouse": s.ids["warehouse"],
                                           "lines": [{"item": s.ids["items"][0], "qty": "2", "price": "300.00"}]})
    seen = s.record("warehouse", "sales_order", so["id"])
    assert "amount" not in seen and "base_amount" not in seen
    listed = s.get("warehouse", "data/sales_order").json()["data"]
    assert listed and all("base_amount" not in r for r in listed)
    assert "本月销售额" not in _charts(s, "warehouse")
    assert s.record("manager", "sales_order", so["id"])["base_amount"] == "600.00"


def test_credit_check_in_cny(trade: Trade) -> None:
    """The credit limit (5000.00 CNY) is checked against CNY: a USD order of 800.00
    (5680.00 CNY) is over it alone; an approved USD order of 500.00 (3550.00 CNY, open)
    plus a CNY order of 1600.00 is 5150.00, over it too. Mutations tried, each seen to
    fail here: the order counting its raw ``amount`` (800.00 passes); the open orders
    summed without their rate (500.00 + 1600.00 passes)."""
    s = trade
    t1 = s.ids["items"][0]
    s.jimu.records.update(APP, "customer", s.ids["customer"], {"credit_limit": "5000.00"})

    def order(currency: str, rate: str, qty: str, price: str) -> int:
        return int(s.create("sales", "sales_order", {
            "customer": s.ids["customer"], "warehouse": s.ids["warehouse"], "currency": currency, "fx_rate": rate,
            "lines": [{"item": t1, "qty": qty, "price": price}]})["id"])

    big = order("USD", "7.10", "8", "100.00")
    r = s.fire("sales", "sales_order", big, "submit")
    assert r.status_code == 409 and r.json()["code"] == "sales.credit_limit", r.text
    assert (r.json()["credit"]["order"], r.json()["credit"]["exposure"]) == ("5680.00", "5680.00")
    ok = order("USD", "7.10", "5", "100.00")
    s.fire_ok("sales", "sales_order", ok, "submit")
    s.fire_ok("manager", "sales_order", ok, "approve")
    cny = order("CNY", "1", "2", "800.00")
    r = s.fire("sales", "sales_order", cny, "submit")
    assert r.status_code == 409 and r.json()["code"] == "sales.credit_limit", r.text
    assert (r.json()["credit"]["open_orders"], r.json()["credit"]["exposure"]) == ("3550.00", "5150.00")

"""A trading app installed with contract 1.0.0 (orders carry currency and rate, but the
overview adds their raw amounts) upgrades to 1.1.0: the orders' ``base_amount`` column is
added and filled for the existing orders in the same publish, and the overview then shows
CNY. Both databases.

By hand: sales orders 100 × 12.50 USD at 7.10 = 8875.00, 3 × 9.99 EUR = 29.97 at 7.80 =
233.766 → 233.77, 2 × 300.00 CNY = 600.00 → 本月销售额 9708.77 (before the upgrade the raw
sum 1250.00 + 29.97 + 600.00 = 1879.97); purchase order 100 × 10.20 USD at 7.10 = 7242.00.

Mutations tried, each seen to fail here: ``evolve`` without ``_backfill_formulas`` (the
old orders keep a NULL base amount: 0.00 on the overview); the contract unit's version left
at 1.0.0 with the field added (no upgrade step brings it)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from jimu.runtime.rollups import verify
from jimu.runtime.screens.dash_spec import spec_dashboard
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_cbus
from jimu.templates_market.lifecycle import installed, upgrade_cbu

OLD = Path(__file__).parent / "fixtures" / "contract_v1_0"
APP = "trading"
UNITS = ["org_roles", "item", "warehouse", "customer", "supplier", "sales_order", "purchase_order",
         "inventory_dashboards", "invoice", "payment"]


@pytest.fixture
def old_app(db_url: str) -> Iterator[Any]:
    """The no_stock template's units with contract 1.0.0 (what apps installed before 1.1.0 run)."""
    from jimu.cli.basics import ensure_demo_users
    from jimu.runtime.context import Jimu

    j = Jimu.open(db_url, cbu_paths=[str(OLD)])
    ensure_demo_users(j)  # the approvers
    install_cbus(j, APP, [*((u, None) for u in UNITS), ("contract", "1.0.0")], sample_data=False,
                 params={"sales_order": {"stock": False}, "purchase_order": {"stock": False}})
    yield j
    j.close()


def _kpi(j: Any) -> Decimal:
    policy = AccessPolicy.for_actor(j, APP, Actor("manager", ("manager",)))
    charts = {c["label"]: c for c in spec_dashboard(policy, policy.rt.spec.dashboards[0], "zh")}
    return Decimal(charts["本月销售额"]["data"][0][1])


def test_upgrade_fills_the_base_amount_of_existing_orders(old_app: Any) -> None:
    j = old_app
    assert {u.cbu: u.version for u in installed(j, APP)}["contract"] == "1.0.0"
    assert j.apps.get(APP).spec.entity("sales_order").field("base_amount") is None
    rec, engine = j.records, WorkflowEngine(j)
    wh = rec.create(APP, "warehouse", {"name": "上海港", "confirm_code": "1"})["id"]
    cust = rec.create(APP, "customer", {"code": "C-1", "name": "Acme"})["id"]
    sup = rec.create(APP, "supplier", {"name": "宁波织造"})["id"]
    item = rec.create(APP, "item", {"sku": "T-1", "name": "T恤", "unit": "件"})["id"]
    orders = []
    for currency, rate, qty, price in (("USD", "7.10", "100", "12.50"), ("EUR", "7.80", "3", "9.99"),
                                       ("CNY", "1", "2", "300.00")):
        so = rec.create(APP, "sales_order", {"customer": cust, "warehouse": wh, "currency": currency, "fx_rate": rate,
                                             "lines": [{"item": item, "qty": qty, "price": price}]})
        engine.fire(APP, "sales_order", so["id"], "submit", actor=Actor("sales", ("sales",)))
        engine.fire(APP, "sales_order", so["id"], "approve", actor=Actor("manager", ("manager",)))
        orders.append(so["id"])
    po = rec.create(APP, "purchase_order", {"supplier": sup, "warehouse": wh, "currency": "USD", "fx_rate": "7.10",
                                            "lines": [{"item": item, "qty": "100", "price": "10.20"}]})["id"]
    assert _kpi(j) == Decimal("1879.97")  # 1.0.0: the raw amounts added up

    done = upgrade_cbu(j, APP, "contract")
    assert done.applied and (done.from_version, done.to_version) == ("1.0.0", "1.1.0"), done.as_dict()
    got = [rec.get(APP, "sales_order", oid)["base_amount"] for oid in orders]
    assert got == [Decimal("8875.00"), Decimal("233.77"), Decimal("600.00")]
    assert rec.get(APP, "purchase_order", po)["base_amount"] == Decimal("7242.00")
    assert _kpi(j) == Decimal("9708.77")
    with j.db.read() as c:
        assert verify(c, j.apps.get(APP)) == []

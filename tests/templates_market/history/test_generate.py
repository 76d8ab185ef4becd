"""``jimu demo``'s 120 days of history in a real app (both databases): the dashboard, the
intelligence reports, the count accuracy and the supplier scorecard show real figures,
the ledger verifies, stock ends positive, and the same seed gives the same figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.actor import Actor
from jimu.platform.ledger.tables import balance, movement
from jimu.platform.ledger.verify import verify
from jimu.runtime.access import AccessPolicy
from tests.conftest import BACKENDS
from tests.templates_market.history._lived import NOW, lived_demo


@pytest.fixture(scope="module", params=BACKENDS)
def lived(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The standard demo with history, and a twin app installed and generated the same
    way (built once per backend: the tests below only read)."""

    def twin(jimu: Any) -> None:
        from jimu.runtime import rollups
        from jimu.templates_market.history import generate_history
        from jimu.templates_market.installer import install_template

        install_template(jimu, "twin", "standard", sample_data=True)
        with jimu.db.write() as c:  # the twin's dashboards were read before its history came
            rollups.ensure(c, jimu.apps.get("twin"))
        generate_history(jimu, "twin")

    with lived_demo(request.param, "standard", tmp_path_factory, then=twin) as jimu:
        yield jimu


def _policy(jimu: Any, user: str, app: str = "standard") -> AccessPolicy:
    return AccessPolicy.for_actor(jimu, app, Actor(user, (user,)))


def _figures(jimu: Any, app: str) -> tuple[Any, ...]:
    """What the dashboards read: orders (number, date, state, amount), balances, movements."""
    t = jimu.apps.get(app).tables("sales_order")
    with jimu.db.read() as c:
        orders = [tuple(r) for r in c.execute(sa.select(t.c.number, t.c.order_date, t.c.state, t.c.amount)
                                              .order_by(t.c.id))]
        stock = [tuple(r) for r in c.execute(sa.select(balance.c.key, balance.c.on_hand, balance.c.reserved,
                                                       balance.c.on_order, balance.c.quarantine)
                                             .where(balance.c.app == app).order_by(balance.c.key))]
        moves = c.execute(sa.select(sa.func.count(), sa.func.sum(movement.c.d_on_hand))
                          .where(movement.c.app == app)).one()
    return orders, stock, tuple(moves)


def test_lived_demo_shows_real_figures(lived: Any) -> None:
    """Mutations tried, each failing here: leaving the sample's opening stock at "now" (a
    movement not in the past); writing ships without their -reserved (the balance guard
    refuses the generation: reserved above on hand); skipping the rollup rebuild (the
    twin's rollups, built before its history, disagree with a scan); drawing the
    simulation from an unseeded generator (the twin's figures differ)."""
    from jimu.runtime.intel.abc import abc_report
    from jimu.runtime.intel.bri import bri_report
    from jimu.runtime.intel.replenishment import replenishment_report
    from jimu.runtime.screens.base import Screen
    from jimu.runtime.screens.dash_builtin import turnover_days
    from jimu.runtime.screens.dash_spec import spec_dashboard
    from jimu.runtime.stock.accuracy import accuracy_report
    from jimu.runtime.stock.scorecard import score_month

    jimu = lived
    from jimu.runtime import rollups

    assert verify(jimu.db, "standard") == [] and verify(jimu.db, "twin") == []
    with jimu.db.read() as c:
        assert rollups.verify(c, jimu.apps.get("twin")) == []
    with jimu.db.read() as c:
        rows = c.execute(sa.select(balance).where(balance.c.app == "standard")).all()
        first, last = c.execute(sa.select(sa.func.min(movement.c.at), sa.func.max(movement.c.at))
                                .where(movement.c.app == "standard")).one()
    assert all(r.on_hand >= 0 and r.reserved >= 0 and r.on_hand >= r.reserved for r in rows)
    assert sum(r.on_hand for r in rows) > 0 and any(r.reserved > 0 for r in rows)
    as_utc = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in (first, last)]
    assert NOW - timedelta(days=121) <= as_utc[0] and as_utc[1] < NOW

    manager = _policy(jimu, "manager")
    charts = {ch["label"]: ch for ch in spec_dashboard(manager, manager.rt.spec.dashboards[0], "zh")}
    assert charts["本月销售额"]["data"][0][1] > 0
    assert len(charts["客户销售额 Top 10"]["data"]) == 10
    turnover = turnover_days(Screen(None, jimu, manager.actor, "zh", "", manager))  # type: ignore[arg-type]
    assert turnover is not None and all(r["days"] is not None and Decimal(r["days"]) > 0 for r in turnover["rows"])

    bri = bri_report(manager, {})
    assert Decimal(bri["index"]) > 0 and all(d["score"] is not None for d in bri["dimensions"])
    abc = abc_report(manager, {"by": "value"})
    assert all(abc["counts"][k] > 0 for k in "ABC")
    assert any(Decimal(r["suggested_qty"]) > 0 for r in replenishment_report(manager, {})["data"])
    accuracy = accuracy_report(manager)["data"]
    assert accuracy and any(Decimal(r["rate"]) > 0 for r in accuracy)

    rt = jimu.apps.get("standard")
    month = (NOW.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    with jimu.db.read() as c:
        cards = score_month(c, rt, month)
    rates = sorted(Decimal(r["on_time_rate"]) for r in cards)
    assert rates[0] == 0 and rates[-1] == 1  # the late supplier, and the punctual ones

    assert _figures(jimu, "standard") == _figures(jimu, "twin")


def test_lived_demo_money(lived: Any) -> None:
    """Every shipped order has its invoice; most are paid, some are open and some of those
    overdue (the aging report has buckets past 30 days); payments equal what the invoices
    say was paid; no customer owes (open invoices + open orders) more than 40 % of its
    credit limit, so a demo user can still submit orders. Mutations tried: skipping
    ``_cap_exposure`` fails the credit assertion; writing an invoice's ``paid_amount`` as
    its amount (not the sum of its payments) fails the paid = Σ allocations assertion."""
    from jimu.runtime.money.aging import aging_rows

    rt = lived.apps.get("standard")
    inv, so, cust = rt.tables("invoice"), rt.tables("sales_order"), rt.tables("customer")
    pay, alloc = rt.tables("payment"), rt.tables("payment_allocation")
    with lived.db.read() as c:
        shipped = set(c.execute(sa.select(so.c.id).where(so.c.state.in_(("shipped", "completed")))).scalars())
        invoiced = set(c.execute(sa.select(inv.c.sales_order).where(inv.c.kind == "sales")).scalars())
        states = dict(c.execute(sa.select(inv.c.state, sa.func.count()).group_by(inv.c.state)).all())
        paid = dict(c.execute(sa.select(inv.c.id, inv.c.paid_amount)).all())
        allocated = dict(c.execute(sa.select(alloc.c.invoice, sa.func.sum(alloc.c.amount))
                                   .select_from(alloc.join(pay, alloc.c._parent_id == pay.c.id))
                                   .where(pay.c.state == "confirmed").group_by(alloc.c.invoice)).all())
        aging = aging_rows(c, inv, "receivable", NOW.date())
        limits = dict(c.execute(sa.select(cust.c.id, cust.c.credit_limit)).all())
        owed = dict(c.execute(sa.select(inv.c.customer, sa.func.sum(inv.c.open_amount))
                              .where(inv.c.kind == "sales", inv.c.state.in_(("issued", "partially_paid")))
                              .group_by(inv.c.customer)).all())
        orders = dict(c.execute(sa.select(so.c.customer, sa.func.sum(so.c.amount))
                                .where(so.c.state.in_(("pending_approval", "approved"))).group_by(so.c.customer)).all())
    assert shipped and shipped == invoiced
    assert states["paid"] > 5 * states["issued"] > 0
    assert all(Decimal(str(paid[i])) == Decimal(str(allocated.get(i, 0))) for i in paid)
    assert sum(r["31-60"] + r["61-90"] + r["90+"] for r in aging) > 0
    for cid, limit in limits.items():
        exposure = Decimal(str(owed.get(cid) or 0)) + Decimal(str(orders.get(cid) or 0))
        assert limit is None or exposure <= Decimal(str(limit)) * Decimal("0.4"), cid


def test_single_currency_overview_sums_amounts(lived: Any) -> None:
    """A single-currency app (standard: orders without ``currency``/``fx_rate``) has no
    base-currency field, and its overview is the plain Σ ``amount`` by hand, as before
    trading apps summed ``base_amount`` (contract 1.1.0). Mutation tried: ``summed_field``
    returning only the base field (None without one) leaves the charts out and fails here."""
    from jimu.runtime.screens.dash_spec import spec_dashboard

    rt = lived.apps.get("standard")
    ent = rt.spec.entity("sales_order")
    assert ent.base_field("amount") is None and ent.summed_field("amount") is ent.field("amount")
    t = rt.tables("sales_order")
    with lived.db.read() as c:
        rows = c.execute(sa.select(t.c.customer, t.c.order_date, t.c.state, t.c.amount)).all()
    counted = [r for r in rows if r.state in ("approved", "shipped", "completed")]
    month = NOW.date().replace(day=1)
    kpi = sum((Decimal(str(r.amount)) for r in counted if r.order_date.replace(day=1) == month), Decimal(0))
    by_customer: dict[Any, Decimal] = {}
    for r in counted:
        by_customer[r.customer] = by_customer.get(r.customer, Decimal(0)) + Decimal(str(r.amount))
    manager = _policy(lived, "manager")
    charts = {ch["label"]: ch for ch in spec_dashboard(manager, manager.rt.spec.dashboards[0], "zh")}
    assert charts["本月销售额"]["data"][0][1] == kpi > 0
    assert [v for _, v in charts["客户销售额 Top 10"]["data"]] == sorted(by_customer.values(), reverse=True)[:10]

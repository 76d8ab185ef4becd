"""The no-stock trading demo's 120 days of history (both databases): daily exchange rates,
contracts signed at the day's rate with their figures, the contract orders in the
contract currency, and payments at their own day's rate with the realized exchange
difference, every figure recomputed here by hand from the stored rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from tests.conftest import BACKENDS
from tests.templates_market.history._lived import NOW, lived_demo

CENT = Decimal("0.01")


def _d(v: Any) -> Decimal:
    return Decimal(str(v)) if v is not None else Decimal(0)


def _day(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v)[:10])


def _base(amount: Any, rate: Any) -> Decimal:
    return (_d(amount) * _d(rate)).quantize(CENT, ROUND_HALF_UP)


@pytest.fixture(scope="module", params=BACKENDS)
def trading(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The no_stock demo with history (built once per backend: the tests only read)."""
    with lived_demo(request.param, "no_stock", tmp_path_factory) as jimu:
        yield jimu


def _rows(jimu: Any, entity: str) -> list[Any]:
    t = jimu.apps.get("no_stock").tables(entity)
    with jimu.db.read() as c:
        return list(c.execute(sa.select(t).order_by(t.c.id)))


def test_rates_and_contracts_signed_at_the_day_rate(trading: Any) -> None:
    """One rate a day per currency over the window, today's being the reference rate; a
    signed contract's locked rate is its signing day's record and its figures are the
    lines' (each line rounded to cents) at that rate. Mutation tried: locking the rate of
    the day the contract was drafted (``rates[..][d]`` for ``signed.date()``) fails the
    locked-rate assertion for every contract signed on another day."""
    from jimu.templates_market.history.contracts import ANCHORS

    rates: dict[tuple[str, date], Decimal] = {}
    for r in _rows(trading, "fx_rate"):
        assert (r.currency, _day(r.rate_date)) not in rates, "one record a day per currency"
        rates[(r.currency, _day(r.rate_date))] = _d(r.rate)
    for cur, (anchor, _) in ANCHORS.items():
        days = sorted(d for c, d in rates if c == cur)
        assert days[-1] == NOW.date() and rates[(cur, NOW.date())] == anchor
        assert len(days) == 120 and days[0] == NOW.date() - timedelta(days=119)
    contracts = _rows(trading, "contract")
    lines: dict[int, list[Any]] = {}
    for ln in _rows(trading, "contract_line"):
        lines.setdefault(ln._parent_id, []).append(ln)
    states = {c.state for c in contracts}
    assert {"signed", "closed"} <= states and len(contracts) >= 20
    for c in contracts:
        if c.state not in ("signed", "closed"):
            assert c.fx_rate is None and c.margin_base is None
            continue
        rate = rates[(c.currency, _day(c.signed_date))]
        assert _d(c.fx_rate) == rate, c.number
        sales = sum((( _d(x.qty) * _d(x.sale_price)).quantize(CENT, ROUND_HALF_UP) for x in lines[c.id]), Decimal(0))
        buys = sum(((_d(x.qty) * _d(x.purchase_price)).quantize(CENT, ROUND_HALF_UP) for x in lines[c.id]), Decimal(0))
        assert (_d(c.sales_amount), _d(c.purchase_amount)) == (sales, buys)
        assert (_d(c.sales_base), _d(c.purchase_base)) == (_base(sales, rate), _base(buys, rate))
        assert _d(c.margin_base) == _base(sales, rate) - _base(buys, rate) and _d(c.margin_base) > 0


def test_contract_orders_in_the_contract_currency(trading: Any) -> None:
    """Each signed contract's orders carry its currency, locked rate and lines (sale or
    purchase price) and point back at it; closed contracts' sales orders are completed.
    Mutation tried: writing the orders without ``_trade`` (CNY at rate 1) fails here."""
    contracts = {c.id: c for c in _rows(trading, "contract")}
    clines: dict[int, list[tuple[Any, ...]]] = {}
    for ln in _rows(trading, "contract_line"):
        clines.setdefault(ln._parent_id, []).append(ln)
    sales = {o.id: o for o in _rows(trading, "sales_order")}
    buys = {o.id: o for o in _rows(trading, "purchase_order")}
    olines: dict[tuple[str, int], list[Any]] = {}
    for kind in ("sales_order", "purchase_order"):
        for ln in _rows(trading, f"{kind}_line"):
            olines.setdefault((kind, ln._parent_id), []).append(ln)
    linked = 0
    for c in contracts.values():
        for kind, orders, price in (("sales_order", sales, "sale_price"), ("purchase_order", buys, "purchase_price")):
            oid = getattr(c, kind)
            if oid is None:
                continue
            linked += 1
            o = orders[oid]
            assert (o.contract, o.currency, _d(o.fx_rate)) == (c.id, c.currency, _d(c.fx_rate))
            want = sorted((x.item, _d(x.qty), _d(getattr(x, price))) for x in clines[c.id])
            assert sorted((x.item, _d(x.qty), _d(x.price)) for x in olines[(kind, oid)]) == want
        if c.state == "closed":
            assert sales[c.sales_order].state == "completed"
    assert linked >= 30
    assert all(o.currency == "CNY" and _d(o.fx_rate) == 1 for o in sales.values() if o.contract is None)


def test_contract_payments_at_the_day_rate_with_fx_gain(trading: Any) -> None:
    """A contract invoice is in the contract currency at the locked rate (base amounts at
    that rate); each of its payments takes its own day's rate, and ``fx_gain`` is what
    the payment service books: Σ allocated × (payment rate − invoice rate) in CNY, negated
    for a disbursement. The contract margin report shows those gains and losses.
    Mutation tried: paying at the invoice's rate (no ``price_payments``) fails the
    day-rate assertion; booking a disbursement's gain with the receipt's sign fails the
    gain assertion."""
    from jimu.runtime.money.trade_reports import contract_margin

    rates = {(r.currency, _day(r.rate_date)): _d(r.rate) for r in _rows(trading, "fx_rate")}
    invoices = {i.id: i for i in _rows(trading, "invoice")}
    allocs: dict[int, list[Any]] = {}
    for a in _rows(trading, "payment_allocation"):
        allocs.setdefault(a._parent_id, []).append(a)
    foreign, gains = 0, Decimal(0)
    for i in invoices.values():
        if i.currency == "CNY":
            continue
        assert i.contract is not None
        assert _d(i.base_amount) == _base(i.amount, i.fx_rate)
        assert _d(i.open_amount) == _d(i.amount) - _d(i.paid_amount)
    for p in _rows(trading, "payment"):
        if p.currency == "CNY":
            assert _d(p.fx_gain) == 0
            continue
        foreign += 1
        assert _d(p.fx_rate) == rates[(p.currency, _day(p.payment_date))], p.reference
        gain = sum((_base(a.amount, p.fx_rate) - _base(a.amount, invoices[a.invoice].fx_rate) for a in allocs[p.id]),
                   Decimal(0))
        assert _d(p.fx_gain) == (gain if p.kind == "receipt" else -gain), p.reference
        gains += _d(p.fx_gain)
    assert foreign >= 20 and gains != 0
    report = contract_margin(AccessPolicy.for_actor(trading, "no_stock", Actor("manager", ("manager",))))
    assert Decimal(report["totals"]["fx_gain"]) == gains
    assert Decimal(report["totals"]["margin_base"]) > 0


def test_trading_overview_in_cny(trading: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every generated order's ``base_amount`` is its amount at its rate (CNY orders: rate
    1, the same value), and the overview's 本月销售额, top customers and purchases by
    supplier are those CNY figures summed by hand from the rows, from the rollups and from
    a full scan alike; the raw amounts (USD and EUR added to CNY) would differ. Mutations
    tried, each seen to fail here: the chart summing ``amount`` (``ent.field`` for
    ``ent.summed_field`` in dash_spec); the generator's rows written without their
    formulas (``head_formulas`` skipped in ``insert_docs``: amounts and base NULL, the
    overview empty)."""
    from jimu.runtime import rollups
    from jimu.runtime.screens import dash_spec

    sales, buys = _rows(trading, "sales_order"), _rows(trading, "purchase_order")
    for o in [*sales, *buys]:
        assert _d(o.base_amount) == _base(o.amount, o.fx_rate), o.number
        if o.currency == "CNY":
            assert _d(o.fx_rate) == 1 and _d(o.base_amount) == _d(o.amount)
    assert {o.currency for o in sales} >= {"CNY", "USD", "EUR"}
    month = NOW.date().replace(day=1)
    counted = [o for o in sales if o.state in ("approved", "shipped", "completed")]
    kpi = sum((_d(o.base_amount) for o in counted if _day(o.order_date).replace(day=1) == month), Decimal(0))
    raw = sum((_d(o.amount) for o in counted if _day(o.order_date).replace(day=1) == month), Decimal(0))
    assert kpi != raw  # foreign orders this month: the test tells the two apart
    by_customer: dict[Any, Decimal] = {}
    for o in counted:
        by_customer[o.customer] = by_customer.get(o.customer, Decimal(0)) + _d(o.base_amount)
    by_supplier: dict[Any, Decimal] = {}
    for o in buys:
        by_supplier[o.supplier] = by_supplier.get(o.supplier, Decimal(0)) + _d(o.base_amount)
    want = (kpi, sorted(by_customer.values(), reverse=True)[:10], sorted(by_supplier.values(), reverse=True))

    def figures() -> tuple[Any, ...]:
        policy = AccessPolicy.for_actor(trading, "no_stock", Actor("manager", ("manager",)))
        charts = {c["label"]: c for c in dash_spec.spec_dashboard(policy, policy.rt.spec.dashboards[0], "zh")}
        return (charts["本月销售额"]["data"][0][1], [v for _, v in charts["客户销售额 Top 10"]["data"]],
                [v for _, v in charts["供应商采购额"]["data"]])

    assert figures() == want
    with trading.db.read() as c:
        assert rollups.verify(c, trading.apps.get("no_stock")) == []
    monkeypatch.setattr(dash_spec, "grouped_rows", lambda *a, **k: None)
    assert figures() == want


def test_demo_approvals_judge_the_cny_amount(trading: Any) -> None:
    """Every sales order approval of the demo asks the VP exactly when the order's CNY
    amount (amount × locked rate) is over the VP threshold (5000), as the engine decides it,
    and some contract order under 5000 in its own currency but over it in CNY asks the VP.
    Mutation seen to fail here: the history's step signature computed on the raw record
    (``write._Approvals.add`` without ``in_base``: SO-202512-0047, 875.00 USD = 6051.41 CNY,
    gets the steps of an order under the threshold)."""
    from jimu.runtime.workflow.tables import approvals

    sales = {o.id: o for o in _rows(trading, "sales_order")}
    with trading.db.read() as c:
        rows = list(c.execute(sa.select(approvals.c.record, approvals.c.steps)
                              .where(approvals.c.app == "no_stock", approvals.c.entity == "sales_order")))
    assert len(rows) >= 30
    foreign_to_vp = 0
    for rid, steps in rows:
        o = sales[rid]
        base = _base(o.amount, o.fx_rate)
        assert _d(o.base_amount) == base
        vp = next(s for s in steps if s["name"] == "vp")
        assert vp["skipped"] is not (base > 5000), (o.number, o.currency, o.amount, base, steps)
        foreign_to_vp += o.currency != "CNY" and _d(o.amount) <= 5000 < base
    assert foreign_to_vp > 0

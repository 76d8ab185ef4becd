"""Trade contracts in a generated history (issue 22): what a no-stock trading company
lived through, for apps with the ``contract`` unit.

- **Exchange rates**: one ``fx_rate`` record a day for USD and EUR over the window, a
  seeded random walk (±0.25 % a day) that ends at today's reference rate; days that
  already have a record keep it.
- **Contracts**: about two a week, each with a customer, a supplier, one to three lines
  (trade quantities, prices in the contract currency from the items' CNY prices at the
  day's rate). A contract is signed one to three days after it is drafted: its rate is
  locked from that day's record and its figures are those :func:`contract_figures` writes
  at signing. The next day it raises its sales and its purchase order (in the contract
  currency at the locked rate, linked both ways), which then live the orders' usual life
  (approval, the supplier's delivery, shipment, completion, invoices, payments) through
  :mod:`.write` and :mod:`.finance`. A contract whose order was completed more than a month
  ago is closed; one in ten drafts older than ten days was cancelled; the last days' are
  still drafts.
- **Payments** of contract invoices carry the day's rate and the realized exchange
  difference the payment service writes (``fx_gain``), so the contract margin report has
  gains and losses to show.

Pure planning in :func:`plan_contracts` (no database); :func:`write_rates`,
:func:`write_contracts` and :func:`link_orders` store it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.schema import column_name
from jimu.runtime.money.contracts import contract_figures
from jimu.templates_market.history.rows import NewDoc, insert_docs
from jimu.templates_market.history.simulate import History, Line, Master, PurchaseOrder, SalesOrder, Trade

__all__ = ["ANCHORS", "Contract", "Rates", "plan_contracts", "plan_rates", "write_rates", "write_contracts",
           "link_orders", "price_payments"]

#: Today's reference rates (CNY per unit) the walk ends at, and each currency's share of contracts.
ANCHORS: dict[str, tuple[Decimal, float]] = {"USD": (Decimal("7.1050"), 0.65), "EUR": (Decimal("7.7420"), 0.35)}
_DAILY_STEP = 0.0025
_PER_DAY = 0.3
_QTYS = (100, 200, 300, 500, 800, 1000, 1500)

Rates = dict[str, dict[date, Decimal]]


@dataclass
class Contract:
    created: datetime
    customer: int
    supplier: int
    warehouse: int
    currency: str
    lines: list[Line]  # sale price per unit in the contract currency
    purchase_prices: list[Decimal]
    signed: datetime | None = None
    cancelled: datetime | None = None
    fx_rate: Decimal | None = None
    sale: SalesOrder | None = None
    purchase: PurchaseOrder | None = None
    id: int = 0
    line_ids: list[int] = field(default_factory=list)

    def closed_at(self, end: datetime) -> datetime | None:
        """Closed by the manager three weeks after its sales order was completed."""
        done = self.sale.completed if self.sale is not None else None
        at = done + timedelta(days=21) if done is not None else None
        return at if at is not None and at < end else None

    def state(self, end: datetime) -> str:
        if self.cancelled is not None:
            return "cancelled"
        if self.signed is None:
            return "draft"
        return "closed" if self.closed_at(end) is not None else "signed"


def _at(day: date, hours: float) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(hours=hours)


def plan_rates(start: date, end: date, seed: int) -> Rates:
    """One rate a day per currency of :data:`ANCHORS`, from ``start`` to ``end``, walking
    back from the anchor so ``end``'s rate is the anchor."""
    rng = random.Random(seed * 104729 + 5)
    out: Rates = {}
    for currency, (anchor, _) in ANCHORS.items():
        rate, days = anchor, {}
        d = end
        while d >= start:
            days[d] = rate
            rate = (rate * Decimal(str(1 + rng.gauss(0, _DAILY_STEP)))).quantize(Decimal("0.0001"), ROUND_HALF_UP)
            d -= timedelta(days=1)
        out[currency] = days
    return out


def _rate(rates: Rates, currency: str, day: date) -> Decimal:
    if currency == "CNY":
        return Decimal(1)
    days = rates[currency]
    return days.get(day) or days[max(d for d in days if d <= day)]


def _price(cny: Decimal, rate: Decimal) -> Decimal:
    return (cny / rate).quantize(Decimal("0.01"), ROUND_HALF_UP)


def plan_contracts(master: Master, h: History, rates: Rates, seed: int) -> list[Contract]:
    """The window's contracts and, for the signed ones, their orders (module docstring).
    The orders are appended to ``h`` so the history writes them with the others."""
    rng = random.Random(seed * 7727 + 3)
    items, customers, suppliers = sorted(master.items), list(master.customers), list(master.suppliers)
    if not items or not customers or not suppliers or not master.warehouses:
        return []
    warehouse = sorted(master.warehouses)[0]
    currencies = list(ANCHORS)
    shares = [ANCHORS[c][1] for c in currencies]
    end, out = h.end, []
    d = h.start
    while d <= end.date():
        for _ in range(1 if rng.random() < _PER_DAY * (0.3 if d.weekday() >= 5 else 1.2) else 0):
            created = _at(d, 9 + 8 * rng.random())
            if created >= end:
                continue
            currency = rng.choices(currencies, shares)[0]
            rate = _rate(rates, currency, d)
            chosen = rng.sample(items, min(len(items), rng.randint(1, 3)))
            lines = [Line(i, rng.choice(_QTYS), _price(master.items[i][0], rate)) for i in chosen]
            c = Contract(created, rng.choice(customers), rng.choice(suppliers), warehouse, currency, lines,
                         [_price(master.items[i][1], rate) for i in chosen])
            signed = created + timedelta(days=rng.randint(1, 3), hours=rng.random() * 3)
            if signed < end:
                c.signed, c.fx_rate = signed, _rate(rates, currency, signed.date())
                _orders(c, h, rng, end)
            elif created < end - timedelta(days=10) and rng.random() < 0.1:
                c.cancelled = created + timedelta(days=rng.randint(2, 6))
            out.append(c)
        d += timedelta(days=1)
    return out


def _orders(c: Contract, h: History, rng: random.Random, end: datetime) -> None:
    """The contract's purchase order (delivered by the supplier within 4-10 days) and its
    sales order (shipped once the goods are in, completed three days later); steps after
    ``end`` have not happened yet."""
    assert c.signed is not None and c.fx_rate is not None
    at = c.signed + timedelta(days=1, hours=rng.random() * 2)
    if at >= end:
        return
    trade = Trade(c.currency, c.fx_rate, 0)
    plines = [Line(ln.item, ln.qty, p) for ln, p in zip(c.lines, c.purchase_prices, strict=True)]
    received = at + timedelta(days=rng.randint(4, 10), hours=rng.random() * 4)
    po = PurchaseOrder(at, c.supplier, c.warehouse, plines, received.date(), at + timedelta(hours=2),
                       received if received < end else None, trade=trade)
    shipped = received + timedelta(days=rng.randint(0, 2), hours=2) if po.received else None
    so = SalesOrder(at + timedelta(minutes=20), c.customer, c.warehouse, "offline", [Line(x.item, x.qty, x.price)
                                                                                        for x in c.lines],
                    approved=at + timedelta(hours=3), trade=trade)
    if shipped is not None and shipped < end:
        so.shipped = shipped
        completed = shipped + timedelta(days=3)
        so.completed = completed if completed < end else None
    c.sale, c.purchase = so, po
    h.orders.append(so)
    h.purchases.append(po)


def price_payments(bills: list[Any], rates: Rates) -> None:
    """Each contract invoice's payments at their day's rate (module docstring)."""
    for b in bills:
        trade = getattr(b.order, "trade", None)
        if trade is None:
            continue
        for s in b.payments:
            s.fx_rate = _rate(rates, trade.currency, s.at.date())


def write_rates(jimu: Any, conn: Connection, rt: Any, rates: Rates) -> int:
    """The daily ``fx_rate`` records the app does not have yet."""
    t = rt.tables("fx_rate")
    have = {(str(c), d if isinstance(d, date) else date.fromisoformat(str(d)[:10]))
            for c, d in conn.execute(sa.select(t.c.currency, t.c.rate_date))}
    docs = [NewDoc({"currency": cur, "rate_date": day, "rate": rate, "source": "中国银行折算价(演示) / reference (demo)"},
                   _at(day, 9.5), _at(day, 9.5), "finance", "finance")
            for cur, days in sorted(rates.items()) for day, rate in sorted(days.items()) if (cur, day) not in have]
    insert_docs(jimu, conn, rt, "fx_rate", docs)
    return len(docs)


def write_contracts(jimu: Any, conn: Connection, rt: Any, contracts: list[Contract], end: datetime) -> int:
    """The contracts (with their lines and, when signed, locked rate and figures); their
    orders learn the contract's id."""
    docs = []
    for c in contracts:
        lines = [{"item": ln.item, "qty": ln.qty, "sale_price": ln.price, "purchase_price": p}
                 for ln, p in zip(c.lines, c.purchase_prices, strict=True)]
        values: dict[str, Any] = {"customer": c.customer, "supplier": c.supplier, "warehouse": c.warehouse,
                                  "currency": c.currency, "state": c.state(end)}
        if c.signed is not None and c.fx_rate is not None:
            values.update({"signed_date": c.signed.date(), "fx_rate": c.fx_rate,
                           **contract_figures(lines, c.currency, c.fx_rate)})
        stamps = [t for t in (c.created, c.signed, c.cancelled, c.closed_at(end)) if t is not None]
        by = "manager" if c.signed is not None or c.cancelled is not None else "sales"
        docs.append(NewDoc(values, c.created, max(stamps), "sales", by, lines))
    insert_docs(jimu, conn, rt, "contract", docs, "lines")
    for c, d in zip(contracts, docs, strict=True):
        c.id, c.line_ids = d.id, d.line_ids
        for order in (c.sale, c.purchase):
            if order is not None and order.trade is not None:
                order.trade = Trade(order.trade.currency, order.trade.fx_rate, c.id)
    return len(docs)


def link_orders(conn: Connection, rt: Any, contracts: list[Contract]) -> None:
    """Each signed contract points at the orders it raised."""
    if not contracts:
        return
    ent, t = rt.entity("contract"), rt.tables("contract")
    for c in contracts:
        links: Mapping[str, int] = {column_name(ent.field(k)): o.id
                                    for k, o in (("sales_order", c.sale), ("purchase_order", c.purchase))
                                    if o is not None and o.id}
        if links:
            conn.execute(sa.update(t).where(t.c.id == c.id).values(dict(links)))

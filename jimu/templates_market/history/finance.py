"""The money side of a generated history: an issued invoice for every shipped sales
order and every received purchase order, and the payments that settled them.

Customers pay on their habits (most within three weeks, some after a month or two, a few
in two parts, three small invoices are disputed and unpaid); online orders are paid when
invoiced; the company pays its suppliers
25-40 days after receipt. What is still open at the end stays open (the aging report
has something to age), but no customer is left owing more than ``EXPOSURE_CAP`` of its
credit limit, so a demo user can still submit an order for anyone. Pure planning here;
:func:`write_finance` stores it as the invoice and payment actions would have.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.schema import column_name
from jimu.runtime.money.currency import to_base
from jimu.templates_market.history.rows import NewDoc, insert_docs
from jimu.templates_market.history.simulate import History, PurchaseOrder, SalesOrder

__all__ = ["Bill", "Settlement", "credit_limits", "plan_finance", "write_finance", "EXPOSURE_CAP"]

#: Open receivables plus open orders a customer may be left with, as a share of its limit
#: (open orders alone stay under ``simulate.OPEN_ORDER_CAP``).
EXPOSURE_CAP = Decimal("0.4")
_CENT = Decimal("0.01")


@dataclass
class Settlement:
    at: datetime
    amount: Decimal
    fx_rate: Decimal | None = None  # the day's rate of a foreign-currency payment


@dataclass
class Bill:
    """One invoice (of a sales or a purchase order) and the payments made on it."""

    order: SalesOrder | PurchaseOrder
    kind: str
    issued: datetime
    due_days: int
    payments: list[Settlement] = field(default_factory=list)
    disputed: bool = False
    id: int = 0

    @property
    def amount(self) -> Decimal:
        return self.order.amount

    @property
    def rate(self) -> Decimal:
        return self.order.trade.fx_rate if self.order.trade is not None else Decimal(1)

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal(0))


def _habits(customers: list[int], rng: random.Random) -> dict[int, tuple[int, int]]:
    """Days from invoice to payment per customer: prompt, slow or late payers."""
    out = {}
    for c in customers:
        roll = rng.random()
        out[c] = (3, 20) if roll < 0.7 else ((25, 50) if roll < 0.9 else (50, 85))
    return out


def plan_finance(h: History, limits: Mapping[int, Decimal], *, seed: int, terms_days: int = 30) -> list[Bill]:
    """The invoices and payments of ``h`` (same history and seed, same plan)."""
    rng = random.Random(seed * 7919 + 1)
    end = h.end
    habits = _habits(sorted({o.customer for o in h.orders}), rng)
    bills: list[Bill] = []
    for o in h.orders:
        if o.shipped is None:
            continue
        issued = o.shipped + timedelta(hours=1 + 2 * rng.random())
        bill = Bill(o, "sales", issued, terms_days)
        low, high = (0, 0) if o.channel == "online" else habits[o.customer]
        paid_at = issued + timedelta(days=rng.randint(low, high), hours=2 + 6 * rng.random())
        if o.channel != "online" and rng.random() < 0.08:  # paid in two parts
            half = (o.amount / 2).quantize(_CENT, rounding=ROUND_HALF_UP)
            first = issued + (paid_at - issued) / 2
            bill.payments = [Settlement(first, half), Settlement(paid_at, o.amount - half)]
        else:
            bill.payments = [Settlement(paid_at, o.amount)]
        bills.append(bill)
    for p in h.purchases:
        if p.received is None:
            continue
        issued = p.received + timedelta(hours=3)
        bill = Bill(p, "purchase", issued, terms_days)
        bill.payments = [Settlement(issued + timedelta(days=rng.randint(25, 40), hours=3), p.amount)]
        bills.append(bill)
    for b in bills:
        b.payments = [s for s in b.payments if s.at < end]
    _disputes(bills, end)
    _cap_exposure(h, bills, limits, end)
    return bills


def _disputes(bills: list[Bill], end: datetime, count: int = 3) -> None:
    """A few invoices of small customers, two to three months old, are disputed and still
    unpaid: the aging report's older buckets are not empty."""
    volume: dict[int, Decimal] = {}
    for b in bills:
        if b.kind == "sales":
            cust = b.order.customer  # type: ignore[union-attr]
            volume[cust] = volume.get(cust, Decimal(0)) + b.amount
    small = set(sorted(volume, key=lambda c: (volume[c], c))[: max(1, len(volume) // 2)])
    old = [b for b in bills if b.kind == "sales" and b.order.customer in small  # type: ignore[union-attr]
           and end - timedelta(days=100) <= b.issued <= end - timedelta(days=65)
           and b.order.channel != "online"]  # type: ignore[union-attr]
    for b in old[:count]:
        b.payments, b.disputed = [], True


def _cap_exposure(h: History, bills: list[Bill], limits: Mapping[int, Decimal], end: datetime) -> None:
    """Collect the oldest open invoices of a customer owing more than the cap, the day
    before ``end`` (never before the invoice)."""
    open_orders: dict[int, Decimal] = {}
    for o in h.orders:
        if o.state in ("pending_approval", "approved"):
            rate = o.trade.fx_rate if o.trade is not None else Decimal(1)
            open_orders[o.customer] = open_orders.get(o.customer, Decimal(0)) + o.amount * rate
    per: dict[int, list[Bill]] = {}
    for b in bills:
        if b.kind == "sales" and b.paid < b.amount:
            per.setdefault(b.order.customer, []).append(b)  # type: ignore[union-attr]
    for cust, mine in per.items():
        limit = limits.get(cust)
        if limit is None or limit <= 0:
            continue
        exposure = open_orders.get(cust, Decimal(0)) + sum(((b.amount - b.paid) * b.rate for b in mine), Decimal(0))
        for b in sorted(mine, key=lambda x: (x.disputed, x.issued)):
            if exposure <= limit * EXPOSURE_CAP:
                break
            rest = b.amount - b.paid
            b.payments.append(Settlement(max(b.issued + (end - b.issued) / 2, end - timedelta(days=1)), rest))
            exposure -= rest * b.rate


def credit_limits(conn: Connection, rt: Any) -> dict[int, Decimal]:
    """customer id -> credit limit, for the customers that have one."""
    ent = rt.spec.entity("customer")
    f = ent.field("credit_limit") if ent is not None else None
    if f is None or f.archived:
        return {}
    t = rt.tables("customer")
    col = t.c[column_name(f)]
    return {int(r[0]): Decimal(str(r[1])) for r in conn.execute(sa.select(t.c.id, col).where(col.is_not(None)))}


def _state(b: Bill) -> str:
    if b.paid >= b.amount:
        return "paid"
    return "partially_paid" if b.paid > 0 else "issued"


def write_finance(jimu: Any, conn: Connection, rt: Any, bills: list[Bill]) -> dict[str, int]:
    """Store the invoices (issued, with lines linked to the order lines) and the confirmed
    payments with their allocations; sales orders' ``payment_status`` follows."""
    out: dict[str, int] = {}
    if rt.spec.entity("invoice") is None or not bills:
        return out
    docs = []
    for b in bills:
        o = b.order
        sales = b.kind == "sales"
        partner = "customer" if sales else "supplier"
        link = "sales_order" if sales else "purchase_order"
        line_link = "sales_order_line" if sales else "purchase_order_line"
        paid = b.paid
        currency = o.trade.currency if o.trade is not None else "CNY"
        values = {"kind": b.kind, partner: getattr(o, partner), link: o.id, "invoice_date": b.issued.date(),
                  "due_date": b.issued.date() + timedelta(days=b.due_days), "currency": currency, "fx_rate": b.rate,
                  "amount": b.amount, "base_amount": to_base(b.amount, b.rate), "paid_amount": paid,
                  "open_amount": b.amount - paid, "open_base_amount": to_base(b.amount - paid, b.rate),
                  "state": _state(b)}
        if o.trade is not None and o.trade.contract:
            values["contract"] = o.trade.contract
        lines = [{line_link: lid, "item": ln.item, "qty": ln.qty, "price": ln.price}
                 for ln, lid in zip(o.lines, o.line_ids, strict=True)]
        last = max([b.issued] + [s.at for s in b.payments])
        docs.append(NewDoc(values, b.issued, last, "finance", "finance" if not b.payments else "system", lines))
    insert_docs(jimu, conn, rt, "invoice", docs, "lines")
    for b, d in zip(bills, docs, strict=True):
        b.id = d.id
    out["invoice"] = len(docs)
    if rt.spec.entity("payment") is not None:
        pays = []
        for b in bills:
            sales = b.kind == "sales"
            partner = "customer" if sales else "supplier"
            currency = b.order.trade.currency if b.order.trade is not None else "CNY"
            for k, s in enumerate(b.payments, 1):
                rate = s.fx_rate if s.fx_rate is not None else b.rate
                gain = to_base(s.amount, rate) - to_base(s.amount, b.rate)  # as payments.post_payment books it
                pays.append(NewDoc({"kind": "receipt" if sales else "disbursement", partner: getattr(b.order, partner),
                                    "payment_date": s.at.date(), "currency": currency, "fx_rate": rate,
                                    "fx_gain": gain if sales else -gain, "amount": s.amount, "state": "confirmed",
                                    "reference": f"BK{s.at:%Y%m%d}{b.id:05d}{k}"},
                                   s.at, s.at, "finance", "finance", [{"invoice": b.id, "amount": s.amount}]))
        insert_docs(jimu, conn, rt, "payment", pays, "allocations")
        out["payment"] = len(pays)
    _order_status(conn, rt, bills)
    return out


def _order_status(conn: Connection, rt: Any, bills: list[Bill]) -> None:
    """A shipped order is paid when its invoice is, deposit when partly, else unpaid."""
    ent = rt.spec.entity("sales_order")
    f = ent.field("payment_status") if ent is not None else None
    if f is None:
        return
    t = rt.tables("sales_order")
    by_status: dict[str, list[int]] = {}
    for b in bills:
        if b.kind == "sales":
            status = {"paid": "paid", "partially_paid": "deposit"}.get(_state(b), "unpaid")
            by_status.setdefault(status, []).append(b.order.id)
    for status, ids in by_status.items():
        for i in range(0, len(ids), 500):
            conn.execute(sa.update(t).where(t.c.id.in_(ids[i:i + 500])).values({column_name(f): status}))

"""The business a demo app lived through, simulated day by day with one seeded random
generator (no database here: :mod:`.write` stores what this decides).

What happens, per day of the window (the last day is today, cut at the clock's time):

- customers order: a few orders a day, more on Friday and Saturday, fewer on Sunday,
  many more (and 10 % cheaper) in one promotion window; customers and items follow a
  long-tailed popularity, so the best sellers make most of the value (ABC classes);
- an order reserves what is available when it is submitted (a line for stock that is not
  there is left out, an order with no line is lost), is approved a few hours later (a
  few are rejected), ships 0-3 days later, completes three days after shipping; a few
  are cancelled before they ship;
- purchasing reorders twice a week what fell below its reorder point (three weeks of
  demand), one order per supplier and warehouse; one supplier delivers days late;
- a few shipped orders come back (quality returns go to quarantine);
- twice a warehouse is counted, and a few lines differ from the books.

Quantities are whole units. Every decision is a function of the seed and the master
data, so the same inputs give the same history.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

__all__ = ["OPEN_ORDER_CAP", "Master", "Line", "SalesOrder", "PurchaseOrder", "SalesReturn", "Count", "History", "Trade", "simulate",
           "WEEKDAY_FACTOR", "PROMO_FACTOR"]

#: Monday .. Sunday: orders per day relative to a plain weekday.
WEEKDAY_FACTOR = (1.0, 0.95, 1.0, 1.05, 1.3, 1.4, 0.55)
#: Orders per day in the promotion window, relative to the same weekday outside it.
PROMO_FACTOR = 1.8
PROMO_DISCOUNT = Decimal("0.90")
#: Share of a customer's credit limit its open (unshipped) orders may reach: the history
#: leaves room for the orders a demo user places.
OPEN_ORDER_CAP = Decimal("0.25")
#: A document is submitted a few minutes after it is created.
SUBMITTED = timedelta(minutes=4)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Master:
    """What the installed app has: ids of items (with sale and cost price), customers,
    suppliers and warehouses, and the stock on hand per (item, warehouse) when the
    history starts. ``stocked`` is False for an app whose orders move no stock (then
    every item can be sold in every warehouse). ``credit``: customers' credit limits (a
    customer's open orders stay under ``OPEN_ORDER_CAP`` of it)."""

    items: Mapping[int, tuple[Decimal, Decimal]]
    customers: Sequence[int]
    suppliers: Sequence[int]
    warehouses: Sequence[int]
    on_hand: Mapping[tuple[int, int], int]
    stocked: bool = True
    credit: Mapping[int, Decimal] = field(default_factory=dict)


@dataclass
class Line:
    """``alloc``: where batch-tracked stock went or came from, ``[(lot, qty), ...]``
    (the batches a sales line reserved, the one batch a purchase line received)."""

    item: int
    qty: int
    price: Decimal
    alloc: list[tuple[Any, int]] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return (self.price * self.qty).quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Trade:
    """A document in a foreign currency: its currency, rate and contract (trade apps)."""

    currency: str
    fx_rate: Decimal
    contract: int


@dataclass
class SalesOrder:
    created: datetime
    customer: int
    warehouse: int
    channel: str
    lines: list[Line]
    promo: bool = False
    approved: datetime | None = None
    rejected: datetime | None = None
    shipped: datetime | None = None
    completed: datetime | None = None
    cancelled: datetime | None = None
    paid: str = "unpaid"
    ship_due: date | None = None
    id: int = 0
    line_ids: list[int] = field(default_factory=list)
    trade: Trade | None = None

    @property
    def amount(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal(0))

    @property
    def state(self) -> str:
        for stamp, name in ((self.completed, "completed"), (self.shipped, "shipped"), (self.cancelled, "cancelled"),
                            (self.rejected, "rejected"), (self.approved, "approved")):
            if stamp is not None:
                return name
        return "pending_approval"

    @property
    def last_change(self) -> datetime:
        return max(t for t in (self.created, self.approved, self.rejected, self.shipped, self.completed,
                               self.cancelled) if t is not None)


@dataclass
class PurchaseOrder:
    created: datetime
    supplier: int
    warehouse: int
    lines: list[Line]
    expected: date
    approved: datetime | None
    received: datetime | None = None
    late: bool = False
    id: int = 0
    line_ids: list[int] = field(default_factory=list)
    trade: Trade | None = None

    @property
    def amount(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal(0))

    @property
    def state(self) -> str:
        if self.received is not None:
            return "received"
        return "approved" if self.approved is not None else "submitted"


@dataclass
class SalesReturn:
    order: SalesOrder
    line: int
    qty: int
    reason: str
    created: datetime
    approved: datetime
    received: datetime
    id: int = 0
    line_id: int = 0
    lot: Any = None


@dataclass
class Count:
    warehouse: int
    started: datetime
    posted: datetime
    lines: list[tuple[int, int, int]]  # (item, book, counted)
    id: int = 0
    lots: list[Any] = field(default_factory=list)  # the batch of each line (batch-tracked stock)
    line_ids: list[int] = field(default_factory=list)


@dataclass
class History:
    start: date
    end: datetime
    promo: tuple[date, date]
    late_supplier: int | None
    orders: list[SalesOrder] = field(default_factory=list)
    purchases: list[PurchaseOrder] = field(default_factory=list)
    returns: list[SalesReturn] = field(default_factory=list)
    counts: list[Count] = field(default_factory=list)
    lots: list[Any] = field(default_factory=list)  # batches received (batch-tracked stock)
    work_orders: list[Any] = field(default_factory=list)  # completed production (a factory)
    dish_sales: list[Any] = field(default_factory=list)  # posted dish sales (catering)
    requisitions: list[Any] = field(default_factory=list)  # store requisitions (catering's central kitchen)
    landed: list[tuple[Any, Any]] = field(default_factory=list)  # (a store's batch, the kitchen batch it is)


def _at(day: date, hours: float) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(hours=hours)


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method (small means only)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class _Sim:
    def __init__(self, master: Master, rng: random.Random, end: datetime, days: int, orders_per_day: float,
                 approvals: bool) -> None:
        self.m, self.rng, self.end = master, rng, end
        self.approvals = approvals
        self.start = end.date() - timedelta(days=days - 1)
        self.per_day = orders_per_day
        items = sorted(master.items)
        rng.shuffle(items)
        # Zipf-like popularity: the first items sell most (ABC classes by value and movement).
        self.weight = {item: 1.0 / (rank + 1) ** 0.9 for rank, item in enumerate(items)}
        custs = list(master.customers)
        rng.shuffle(custs)
        self.cust_weight = [1.0 / (rank + 1) ** 0.8 for rank in range(len(custs))]
        self.customers = custs
        self.channel = {c: rng.choices(("offline", "online", "wechat"), (5, 3, 2))[0] for c in custs}
        sups = sorted(master.suppliers)
        self.supplier_of = {item: sups[i % len(sups)] for i, item in enumerate(sorted(master.items))} if sups else {}
        self.late = sups[0] if len(sups) > 1 else None
        self.on_hand: dict[tuple[int, int], int] = {k: int(v) for k, v in master.on_hand.items() if v > 0}
        self.reserved: dict[tuple[int, int], int] = {}
        self.on_order: dict[tuple[int, int], int] = {}
        if master.stocked:
            self.keys = sorted(self.on_hand)
        else:
            self.keys = [(i, w) for i in sorted(master.items) for w in sorted(master.warehouses)[:1]]
        self.by_wh: dict[int, list[tuple[int, int]]] = {}
        for k in self.keys:
            self.by_wh.setdefault(k[1], []).append(k)
        total = sum(self.weight[k[0]] for k in self.keys) or 1.0
        # Expected units per day of each key: the lines of ~per_day orders share the popularity.
        self.rate = {k: self.weight[k[0]] / total * orders_per_day * 2.6 * 4.0 for k in self.keys}
        promo_from = self.start + timedelta(days=max(0, days * 5 // 8))
        self.promo = (promo_from, promo_from + timedelta(days=9))
        self.h = History(self.start, end, self.promo, self.late)
        self.pending: list[SalesOrder] = []
        self.in_transit: list[PurchaseOrder] = []
        # Stock that comes back later in the day (a release, a return): applied when due,
        # so an earlier order never takes what was not yet there.
        self.later: list[tuple[datetime, int, Callable[[], None]]] = []
        self.today = self.start
        self.shipped_on: dict[date, list[SalesOrder]] = {}
        self.open_value: dict[int, Decimal] = {}
        self.sold: dict[tuple[int, int], int] = {}

    def defer(self, at: datetime, bucket: str, key: tuple[int, int], delta: int) -> None:
        target = self.on_hand if bucket == "on_hand" else self.reserved
        self.later.append((at, len(self.later), lambda: self._move(target, key, delta)))

    def settle(self, until: datetime) -> None:
        due = sorted((e for e in self.later if e[0] <= until), key=lambda e: (e[0], e[1]))
        self.later = [e for e in self.later if e[0] > until]
        for _, _, apply in due:
            apply()

    # stock hooks (batch-tracked stock overrides these: .batchsim) ---------------------
    def take(self, key: tuple[int, int], ln: Line) -> None:
        """Reserve ``ln`` (already capped at what is available)."""
        self._move(self.reserved, key, ln.qty)

    def give_back(self, key: tuple[int, int], ln: Line) -> None:
        """Undo :meth:`take` (a cancelled, rejected or abandoned order)."""
        self._move(self.reserved, key, -ln.qty)

    def ship_line(self, key: tuple[int, int], ln: Line) -> None:
        self._move(self.on_hand, key, -ln.qty)
        self._move(self.reserved, key, -ln.qty)

    def receive_line(self, po: PurchaseOrder, ln: Line) -> None:
        self._move(self.on_hand, (ln.item, po.warehouse), ln.qty)
        self._move(self.on_order, (ln.item, po.warehouse), -ln.qty)

    def returned(self, ret: SalesReturn, key: tuple[int, int]) -> None:
        """Stock a return brings back (quality returns go to quarantine: not sellable)."""
        if ret.reason != "quality":
            self.defer(ret.received, "on_hand", key, ret.qty)

    def buys(self, item: int) -> bool:
        """Whether ``item`` is bought from a supplier (a factory makes its products)."""
        return True

    def position(self, key: tuple[int, int]) -> int:
        """What the buyer counts on: on hand, plus on order, less reserved."""
        return self.on_hand.get(key, 0) + self.on_order.get(key, 0) - self.reserved.get(key, 0)

    def count_lines(self, wh: int) -> tuple[list[tuple[int, int, int]], list[Any]]:
        """The lines of a count of ``wh`` (item, book, counted), the books corrected."""
        lines = []
        for k in self.by_wh[wh]:
            book = self.on_hand.get(k, 0)
            if book <= 0:
                continue
            counted = book
            if self.rng.random() < 0.12:  # a miscount or an unrecorded loss
                delta = self.rng.choice((-3, -2, -1, -1, 1, 2))
                counted = max(self.reserved.get(k, 0), book + delta)
            lines.append((k[0], book, counted))
            self._move(self.on_hand, k, counted - book)
        return lines, []

    # stock ------------------------------------------------------------------------
    def available(self, key: tuple[int, int]) -> int:
        if not self.m.stocked:
            return 10**9
        return self.on_hand.get(key, 0) - self.reserved.get(key, 0)

    def _move(self, bucket: dict[tuple[int, int], int], key: tuple[int, int], delta: int) -> None:
        if self.m.stocked:
            bucket[key] = bucket.get(key, 0) + delta

    # one day ----------------------------------------------------------------------
    def day(self, d: date) -> None:
        self.today = d
        self.receive(d)
        self.ship(d)
        self.returns(d)
        n = _poisson(self.rng, self.per_day * WEEKDAY_FACTOR[d.weekday()] * (PROMO_FACTOR if self.in_promo(d) else 1))
        for at in sorted(_at(d, 8 + 12 * self.rng.random()) for _ in range(n)):
            self.settle(at)
            self.order(d, at)
        self.settle(_at(d, 18))
        if d.weekday() in (0, 3):
            self.reorder(d)
        self.count(d)
        self.settle(_at(d, 24))

    def in_promo(self, d: date) -> bool:
        return self.promo[0] <= d <= self.promo[1]

    def order(self, d: date, at: datetime) -> None:
        rng = self.rng
        wh = rng.choice(sorted(self.by_wh))
        keys = self.by_wh[wh]
        want = min(len(keys), 1 + _poisson(rng, 1.6))
        picked: list[tuple[int, int]] = []
        weights = [self.weight[k[0]] for k in keys]
        for _ in range(want * 3):
            k = rng.choices(keys, weights)[0]
            if k not in picked:
                picked.append(k)
            if len(picked) == want:
                break
        promo = self.in_promo(d)
        lines = []
        for k in sorted(picked):
            qty = 1 + _poisson(rng, 4.0 + 16.0 * self.weight[k[0]])  # cases: best sellers by the dozen
            qty = min(qty, self.available(k))
            if qty <= 0:
                continue  # out of stock: the line is lost
            price = self.m.items[k[0]][0]
            if promo:
                price = (price * PROMO_DISCOUNT).quantize(_CENT, rounding=ROUND_HALF_UP)
            lines.append(Line(k[0], qty, price))
            self.take(k, lines[-1])
            if not self.m.stocked:
                self.sold[k] = self.sold.get(k, 0) + qty
        if not lines:
            return
        amount = sum((ln.amount for ln in lines), Decimal(0))
        for _ in range(5):  # a customer at its credit cap orders elsewhere (another draw)
            cust = rng.choices(self.customers, self.cust_weight)[0]
            limit = self.m.credit.get(cust)
            if limit is None or self.open_value.get(cust, Decimal(0)) + amount <= limit * OPEN_ORDER_CAP:
                break
        else:
            for ln in lines:
                self.give_back((ln.item, wh), ln)
            return
        self.open_value[cust] = self.open_value.get(cust, Decimal(0)) + amount
        so = SalesOrder(at, cust, wh, self.channel[cust], lines, promo=promo)
        roll = rng.random()
        if roll < 0.01 and self.approvals:
            so.rejected = at + timedelta(hours=1 + 6 * rng.random())
            self.release(so, so.rejected)
        else:
            wait = 0.5 + rng.expovariate(1 / 5.0)
            so.approved = at + (timedelta(hours=wait) if self.approvals else SUBMITTED)
            so.ship_due = (so.approved + timedelta(days=rng.choices((0, 1, 2, 3), (3, 5, 2, 1))[0])).date()
            if roll < 0.04:
                so.cancelled = so.approved + timedelta(hours=2 + 20 * rng.random())
                so.ship_due = None
                self.release(so, so.cancelled)
            else:
                self.pending.append(so)
            so.paid = rng.choices(("paid", "deposit", "unpaid"), (6, 1, 3))[0]
        self.h.orders.append(so)

    def release(self, so: SalesOrder, at: datetime) -> None:
        self.open_value[so.customer] -= so.amount
        for ln in so.lines:
            self.later.append((at, len(self.later), partial(self.give_back, (ln.item, so.warehouse), ln)))

    def ship(self, d: date) -> None:
        left = []
        for so in self.pending:
            if so.ship_due is not None and so.ship_due <= d:
                assert so.approved is not None
                so.shipped = max(_at(d, 9 + 8 * self.rng.random()), so.approved + timedelta(minutes=30))
                for ln in so.lines:
                    self.ship_line((ln.item, so.warehouse), ln)
                so.completed = so.shipped + timedelta(days=3, hours=2 * self.rng.random())
                self.open_value[so.customer] -= so.amount
                self.shipped_on.setdefault(so.shipped.date(), []).append(so)
            else:
                left.append(so)
        self.pending = left

    def reorder(self, d: date) -> None:
        if not self.supplier_of:
            return
        groups: dict[tuple[int, int], list[Line]] = {}
        if not self.m.stocked:  # trading without stock: buy on Mondays what sold last week
            if d.weekday() == 0:
                for (item, wh), qty in sorted(self.sold.items()):
                    groups.setdefault((self.supplier_of[item], wh), []).append(
                        Line(item, int(math.ceil(qty / 10.0)) * 10, self.m.items[item][1]))
                self.sold = {}
            self._place(d, groups)
            return
        for k in self.keys:
            rate = self.rate[k]
            if rate < 0.05:
                continue  # slow movers live on their opening stock
            position = self.position(k)
            if position >= rate * 14 or not self.buys(k[0]):
                continue
            qty = int(math.ceil((rate * 28 - position) / 10.0)) * 10
            if qty <= 0:
                continue
            groups.setdefault((self.supplier_of[k[0]], k[1]), []).append(Line(k[0], qty, self.m.items[k[0]][1]))
        self._place(d, groups)

    def _place(self, d: date, groups: Mapping[tuple[int, int], list[Line]]) -> None:
        for (sup, wh), lines in sorted(groups.items()):
            at = _at(d, 9 + 2 * self.rng.random())
            late = sup == self.late
            lead = self.rng.randint(8, 12) if late else self.rng.randint(3, 6)
            wait = timedelta(hours=1 + 3 * self.rng.random()) if self.approvals else SUBMITTED
            po = PurchaseOrder(at, sup, wh, lines, expected=d + timedelta(days=5), approved=at + wait, late=late)
            po.received = _at(d + timedelta(days=lead), 7 + self.rng.random())  # before the day's orders
            for ln in lines:
                self._move(self.on_order, (ln.item, wh), ln.qty)
            self.in_transit.append(po)
            self.h.purchases.append(po)

    def receive(self, d: date) -> None:
        left = []
        for po in self.in_transit:
            if po.received is not None and po.received.date() <= d:
                for ln in po.lines:
                    self.receive_line(po, ln)
            else:
                left.append(po)
        self.in_transit = left

    def returns(self, d: date) -> None:
        """Orders shipped 3 days ago: about one in fifty sends part of a line back."""
        for so in self.shipped_on.pop(d - timedelta(days=3), []):
            if self.rng.random() >= 0.02:
                continue
            i = self.rng.randrange(len(so.lines))
            ln = so.lines[i]
            qty = max(1, ln.qty // 3)
            reason = "quality" if self.rng.random() < 0.4 else "other"
            created = _at(d, 9 + 3 * self.rng.random())
            ret = SalesReturn(so, i, qty, reason, created, created + timedelta(hours=1),
                              created + timedelta(hours=3))
            self.h.returns.append(ret)
            self.returned(ret, (ln.item, so.warehouse))

    def count(self, d: date) -> None:
        """Two counts: the busiest warehouse a third of the way in, the other near the end."""
        days = (self.h.end.date() - self.start).days + 1
        marks = {self.start + timedelta(days=days // 3): 0, self.start + timedelta(days=days - 12): 1}
        if not self.m.stocked or d not in marks:
            return
        whs = sorted(self.by_wh, key=lambda w: (-len(self.by_wh[w]), w))
        wh = whs[marks[d] % len(whs)]
        started = _at(d, 18)  # after the day's shipments, posted at 20:00
        lines, lots = self.count_lines(wh)
        if lines:
            self.h.counts.append(Count(wh, started, started + timedelta(hours=2), lines, lots=lots))


def simulate(master: Master, *, end: datetime, days: int = 120, seed: int = 22, orders_per_day: float = 9.0,
             approvals: bool = True, make: Callable[..., _Sim] | None = None) -> History:
    """The history of ``days`` days up to ``end`` (inclusive of its date, nothing at or
    after ``end`` itself): documents with their timestamps; events after ``end`` are
    cut off, leaving those documents in the state they had reached. Without
    ``approvals`` an order is approved as it is submitted (and never rejected)."""
    rng = random.Random(seed)
    sim = (make or _Sim)(master, rng, end, days, orders_per_day, approvals)
    if not sim.keys or not master.customers:
        return sim.h
    for i in range(days):
        sim.day(sim.start + timedelta(days=i))
    _cut(sim.h, end)
    return sim.h


def _cut(h: History, end: datetime) -> None:
    """Forget what would happen at or after ``end``: later documents vanish, later steps
    of earlier documents have not happened yet."""
    h.orders = [o for o in h.orders if o.created + SUBMITTED < end]
    for o in h.orders:
        for name in ("approved", "rejected", "shipped", "completed", "cancelled"):
            stamp = getattr(o, name)
            if stamp is not None and stamp >= end:
                setattr(o, name, None)
    h.purchases = [p for p in h.purchases if p.created + SUBMITTED < end]
    for p in h.purchases:
        if p.received is not None and p.received >= end:
            p.received = None
        if p.approved is not None and p.approved >= end:
            p.approved = None
    h.returns = [r for r in h.returns if r.received < end]
    h.counts = [c for c in h.counts if c.posted < end]

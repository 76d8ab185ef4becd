"""The simulated business (no database): deterministic, seasonal, never short of stock,
one supplier late, nothing after the clock."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from jimu.templates_market.history.simulate import History, Master, simulate

END = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)


def _master(items: int = 60) -> Master:
    prices = {i: (Decimal(10 + i % 17), Decimal(6 + i % 11)) for i in range(1, items + 1)}
    stock = {(i, 1 + i % 2): 80 for i in prices}
    return Master(items=prices, customers=list(range(1, 31)), suppliers=[1, 2, 3, 4], warehouses=[1, 2],
                  on_hand=stock)


def _digest(h: History) -> list[tuple[object, ...]]:
    return [(o.created, o.customer, o.warehouse, o.state, tuple((ln.item, ln.qty, ln.price) for ln in o.lines))
            for o in h.orders] + [(p.created, p.supplier, p.received, tuple((ln.item, ln.qty) for ln in p.lines))
                                  for p in h.purchases]


def test_same_seed_same_history() -> None:
    """Same master data and seed: the same documents to the minute; another seed differs.
    Mutation tried: drawing the order times from the module-level ``random`` instead of the
    seeded generator fails the first assertion."""
    a, b = simulate(_master(), end=END, seed=7), simulate(_master(), end=END, seed=7)
    assert _digest(a) == _digest(b) and len(a.orders) > 500
    assert _digest(simulate(_master(), end=END, seed=8)) != _digest(a)


def test_weekly_seasonality_and_promotion() -> None:
    """Saturdays carry more orders than Sundays; the promotion's days carry at least 1.4
    times the orders of a plain day, at 10 % off. Mutations tried: a flat WEEKDAY_FACTOR
    fails the weekday assertion; PROMO_FACTOR 1 fails the promotion one."""
    h = simulate(_master(), end=END, days=120, seed=3)
    per_day = Counter(o.created.date() for o in h.orders)
    days = [h.start + timedelta(days=i) for i in range(120)]
    promo = [d for d in days if h.promo[0] <= d <= h.promo[1]]
    plain = [d for d in days if d not in promo and d != END.date()]
    sat = sum(per_day[d] for d in plain if d.weekday() == 5)
    sun = sum(per_day[d] for d in plain if d.weekday() == 6)
    assert sat > 1.8 * sun
    assert sum(per_day[d] for d in promo) / len(promo) > 1.4 * sum(per_day[d] for d in plain) / len(plain)
    promo_orders = [o for o in h.orders if o.promo]
    assert promo_orders and all(o.created.date() in promo for o in promo_orders)


def test_stock_never_goes_below_zero() -> None:
    """Replaying every document's stock effect in time order from the opening stock, on
    hand and available (on hand - reserved) stay >= 0 at every instant, and stock is left
    on hand. Mutation tried: reserving the wanted quantity without capping it at what is
    available fails."""
    m = _master()
    h = simulate(m, end=END, seed=5)
    events: list[tuple[datetime, tuple[int, int], int, int]] = []  # (at, key, d on hand, d reserved)
    for o in h.orders:
        for ln in o.lines:
            k = (ln.item, o.warehouse)
            events.append((o.created, k, 0, ln.qty))
            if o.shipped:  # one movement: both buckets at once
                events.append((o.shipped, k, -ln.qty, -ln.qty))
            elif o.cancelled or o.rejected:
                events.append((o.cancelled or o.rejected, k, 0, -ln.qty))  # type: ignore[arg-type]
    for p in h.purchases:
        if p.received:
            events += [(p.received, (ln.item, p.warehouse), ln.qty, 0) for ln in p.lines]
    for r in h.returns:
        if r.reason != "quality":
            events.append((r.received, (r.order.lines[r.line].item, r.order.warehouse), r.qty, 0))
    for c in h.counts:
        events += [(c.posted, (item, c.warehouse), counted - book, 0) for item, book, counted in c.lines]
    on_hand = dict(m.on_hand)
    reserved: Counter[tuple[int, int]] = Counter()
    for _, k, d_on_hand, d_reserved in sorted(events, key=lambda e: e[0]):
        on_hand[k] = on_hand.get(k, 0) + d_on_hand
        reserved[k] += d_reserved
        assert on_hand[k] >= 0 and on_hand[k] - reserved[k] >= 0, k
    assert sum(on_hand.values()) > 0 and len(h.returns) > 0 and len(h.counts) == 2


def test_one_supplier_is_late() -> None:
    """The late supplier's orders arrive after their expected date; everyone else's on or
    before it. Mutation tried: giving the late supplier the usual 3-6 day lead fails."""
    h = simulate(_master(), end=END, seed=11)
    late = [p for p in h.purchases if p.received and p.supplier == h.late_supplier]
    others = [p for p in h.purchases if p.received and p.supplier != h.late_supplier]
    assert late and others
    assert all(p.received is not None and p.received.date() > p.expected for p in late)
    assert all(p.received is not None and p.received.date() <= p.expected + timedelta(days=1) for p in others)


def test_nothing_happens_after_the_clock() -> None:
    """Cut at 15:30 on the last day: no document or step at or after it; an order of the
    last day still waits. Mutation tried: not clearing later steps (``_cut``) fails."""
    h = simulate(_master(), end=END, seed=2)
    stamps = [t for o in h.orders for t in (o.created, o.approved, o.rejected, o.shipped, o.completed, o.cancelled)
              if t is not None]
    stamps += [t for p in h.purchases for t in (p.created, p.approved, p.received) if t is not None]
    assert max(stamps) < END
    assert any(o.state in ("pending_approval", "approved") for o in h.orders)
    assert h.start == date(2026, 3, 18) - timedelta(days=119)


def test_trading_without_stock_buys_what_sold() -> None:
    """An app whose orders move no stock (no_stock): every item sells without a stock
    limit, and each Monday's purchase orders buy at least what sold the week before.
    Mutation tried: skipping the no-stock branch of ``reorder`` (the stock rule then buys
    on Thursdays too) fails the Monday assertion."""
    m = _master()
    free = Master(items=m.items, customers=m.customers, suppliers=m.suppliers, warehouses=[1], on_hand={},
                  stocked=False)
    h = simulate(free, end=END, seed=4)
    assert len(h.orders) > 500 and h.purchases
    assert all(p.created.weekday() == 0 for p in h.purchases)
    first = min(p.created.date() for p in h.purchases)
    sold = sum(ln.qty for o in h.orders if first - timedelta(days=7) <= o.created.date() < first for ln in o.lines)
    bought = sum(ln.qty for p in h.purchases if p.created.date() == first for ln in p.lines)
    assert bought >= sold > 0

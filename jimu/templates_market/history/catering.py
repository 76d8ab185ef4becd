"""Catering's business (issue 22), simulated batch by batch: each store sells dishes at
lunch and dinner, and every dish sale takes its ingredients out of the store's batches
first-expiry-first-out, as the ``dish_sale`` ``post`` transition does (the
``recipe_consume`` action explodes each dish line through its active recipe, summed per
ingredient in the order the lines and recipe lines come, and ``dish_consume`` takes each
ingredient FEFO: released batches not expired on the day, earliest expiry first, no
expiry last, ties by batch id).

- Demand: a base per dish and meal, weekly seasonality (office lunches on weekdays,
  dinners and weekends busier), a slow trend, noise; the second store is smaller. Each
  meal at a store is two sales: dine-in, and a quarter of the demand as takeaway.
- A store never sells beyond its book (``oversell_policy = refuse``): a dish whose
  ingredients run out sells only the portions its ingredients cover (sold out).
- Each morning a store orders what the next days need of every ingredient its dishes
  use that is bought in (cover bounded by the ingredient's shelf life), from the
  suppliers in turn; the order is approved the day before and received before lunch,
  each line creating a batch (production date a little before, expiry = production +
  shelf life), as :mod:`.batchsim` receipts do. The central kitchen orders the
  components of what it makes the same way.
- What has a recipe of its own and is used in dishes (a semi-finished good, e.g. 卤牛肉
  braised beef) is made by the central kitchen and reaches the stores by requisition
  (:mod:`.kitchen`): each evening a store asks for what the next day's meals will use,
  in the morning the kitchen makes what its stock does not cover with a work order,
  sends the batches first-expiry-first-out and the store receives them before lunch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from jimu.templates_market.history.batchsim import Lot, receipt_lot
from jimu.templates_market.history.kitchen import CentralKitchen, Recipe
from jimu.templates_market.history.simulate import History, Line, PurchaseOrder

__all__ = ["Dish", "DishSale", "Usage", "Chain", "simulate_catering", "fefo_take"]

#: Weekday (Monday = 0) factors of lunch and dinner.
LUNCH = (1.0, 1.0, 1.05, 1.05, 1.1, 0.8, 0.75)
DINNER = (0.7, 0.7, 0.75, 0.8, 1.2, 1.45, 1.3)
_LUNCH_AT, _DINNER_AT = 4.5, 11.0  # hours UTC: 12:30 and 19:00 in the stores' time zone
_RECEIVED_AT, _ORDERED_AT = 0.5, 9.0  # received 08:30; ordered the day before at 17:00
#: A meal's sales per channel: (channel, share of the meal's demand, posted this much later).
CHANNELS = (("dine_in", 0.75, timedelta(0)), ("takeaway", 0.25, timedelta(minutes=15)))


@dataclass(frozen=True)
class Dish:
    """A dish with an active recipe: its price and ingredients per portion."""

    item: int
    price: Decimal
    per: tuple[tuple[int, Decimal], ...]  # the recipe's lines, for ``out`` portions
    out: Decimal = Decimal(1)

    def need(self, qty: int) -> list[tuple[int, Decimal]]:
        """``bom.explode``: each recipe line times ``qty / out``, in the recipe's order."""
        factor = Decimal(qty) / self.out
        return [(i, p * factor) for i, p in self.per]


@dataclass
class Usage:
    """One ``dish_sale_usage`` row: an ingredient, the quantity, the batches it came from."""

    item: int
    qty: Decimal
    alloc: list[tuple[Lot, Decimal]] = field(default_factory=list)
    id: int = 0


@dataclass
class DishSale:
    """A posted dish sale: store, when, meal, lines (dish, portions, price), usage, channel."""

    store: int
    at: datetime
    meal: str
    lines: list[tuple[int, int, Decimal]]
    usage: list[Usage]
    id: int = 0
    channel: str = "dine_in"


def fefo_take(lots: Sequence[Lot], day: date, qty: Decimal) -> list[tuple[Lot, Decimal]]:
    """Take ``qty`` out of ``lots`` first-expiry-first-out as the runtime's allocation does
    (released, not expired on ``day``, with stock); returns (batch, qty) in taking order."""
    out: list[tuple[Lot, Decimal]] = []
    left = qty
    for lot in sorted((x for x in lots if _sellable(x, day)), key=Lot.fefo):
        got = min(left, Decimal(lot.available))
        lot.on_hand -= got  # type: ignore[assignment]  # ingredient stock is decimal
        out.append((lot, got))
        left -= got
        if left == 0:
            break
    assert left == 0, "a take is capped at what the batches hold (a sale at what its ingredients cover)"
    return out


def _sellable(lot: Lot, day: date) -> bool:
    return lot.released and lot.available > 0 and (lot.expiry is None or lot.expiry >= day)


@dataclass(frozen=True)
class Chain:
    """The restaurant chain: its stores, and its central kitchen with the recipes of what
    the kitchen makes (semi-finished item -> recipe); no kitchen, no recipes: the stores
    buy everything."""

    stores: tuple[int, ...]
    kitchen: int | None = None
    recipes: Mapping[int, Recipe] = field(default_factory=dict)


class _Kitchen:
    def __init__(self, rng: random.Random, dishes: Sequence[Dish], stores: Sequence[int], suppliers: Sequence[int],
                 lots: Sequence[Lot], shelf: Mapping[int, int | None], costs: Mapping[int, Decimal],
                 chain: Chain | None = None) -> None:
        self.rng, self.dishes, self.stores, self.suppliers = rng, dishes, stores, suppliers
        self.shelf, self.costs = shelf, costs
        self.lots: dict[tuple[int, int], list[Lot]] = {}
        for lot in lots:
            self.lots.setdefault((lot.item, lot.warehouse), []).append(lot)
        self.new_lots: list[Lot] = []
        self.base = {(s, d.item, meal): (24.0 - 7 * k) * (1.0 if n == 0 else 0.75) * (1.1 if meal == "dinner" else 1)
                     for n, s in enumerate(stores) for k, d in enumerate(dishes) for meal in ("lunch", "dinner")}
        self.ingredients = sorted({i for d in dishes for i, _ in d.per})
        self.daily = {(s, i): sum(Decimal(str(self.base[(s, d.item, m)])) * p * Decimal("1.05")
                                  for d in dishes for j, p in d.need(1) if j == i for m in ("lunch", "dinner"))
                      for s in stores for i in self.ingredients}
        self.ck: CentralKitchen | None = None
        made = {i: r for i, r in (chain.recipes if chain else {}).items() if i in self.ingredients}
        self.buys: dict[int, list[int]] = {s: [i for i in self.ingredients if i not in made] for s in stores}
        if chain is not None and chain.kitchen is not None and made:
            self.ck = CentralKitchen(chain.kitchen, stores, made, self.lots, shelf, fefo_take, self.usable,
                                     self._new_lot)
            self.buys[chain.kitchen] = self.ck.components()
            for c in self.buys[chain.kitchen]:
                self.daily[(chain.kitchen, c)] = sum((self.daily[(s, i)] * q for s in stores for i, r in made.items()
                                                      for j, q in r.per() if j == c), Decimal(0))
        self.bought = sorted({i for items in self.buys.values() for i in items})

    def _new_lot(self, lot: Lot) -> None:
        lot.seq = len(self.new_lots) + 1
        self.new_lots.append(lot)
        self.lots.setdefault((lot.item, lot.warehouse), []).append(lot)

    def wants(self, day: date, trend: float) -> dict[tuple[int, int], Decimal]:
        """What each store asks the kitchen for on the evening before ``day``: the day's
        meals' use of each item the kitchen makes (weekday and trend included, a tenth
        more), less the store's stock usable that day."""
        assert self.ck is not None
        out = {}
        for store in self.stores:
            for item in self.ck.recipes:
                use = sum((Decimal(str(self.base[(store, d.item, meal)] * week[day.weekday()] * trend)) * p
                           for d in self.dishes for j, p in d.need(1) if j == item
                           for meal, week in (("lunch", LUNCH), ("dinner", DINNER))), Decimal(0))
                out[(store, item)] = use * Decimal("1.1") - self.usable((item, store), day)
        return out

    def usable(self, key: tuple[int, int], day: date) -> Decimal:
        return sum((Decimal(x.available) for x in self.lots.get(key, []) if _sellable(x, day)), Decimal(0))

    def cover(self, item: int) -> int:
        shelf = self.shelf.get(item)
        return 4 if shelf is None else max(1, min(4, shelf - 1))

    def order(self, day: date) -> list[PurchaseOrder]:
        """The morning's orders of each store (one per supplier), received that morning."""
        out = []
        for store, items in self.buys.items():
            lines: dict[int, list[Line]] = {}
            for item in items:
                k = self.bought.index(item)
                need = self.daily[(store, item)]
                have = self.usable((item, store), day)
                if have >= need * Decimal("1.3"):
                    continue
                qty = math.ceil(need * (self.cover(item) + Decimal("0.5")) - have)
                if qty > 0:
                    supplier = self.suppliers[k % len(self.suppliers)]
                    lines.setdefault(supplier, []).append(Line(item, qty, self.costs.get(item, Decimal(1))))
            for supplier, lns in lines.items():
                created = _at(day - timedelta(days=1), _ORDERED_AT)
                po = PurchaseOrder(created, supplier, store, lns, day, created + timedelta(minutes=30),
                                   received=_at(day, _RECEIVED_AT))
                for ln in lns:
                    self._receive(po, ln)
                out.append(po)
        return out

    def _receive(self, po: PurchaseOrder, ln: Line) -> None:
        lot = receipt_lot(po, ln, self.shelf.get(ln.item), self.rng.randint(0, 3), len(self.new_lots) + 1)
        self.new_lots.append(lot)
        self.lots.setdefault((ln.item, po.warehouse), []).append(lot)
        ln.alloc = [(lot, ln.qty)]

    def sell(self, store: int, at: datetime, meal: str, factor: float) -> DishSale | None:
        day = at.date()
        lines: list[tuple[int, int, Decimal]] = []
        used: dict[int, Decimal] = {}  # recipe_consume: dish lines, then recipe lines, summed per ingredient
        for d in self.dishes:
            want = max(0, round(self.base[(store, d.item, meal)] * factor * self.rng.gauss(1.0, 0.15)))
            cap = min((int((self.usable((i, store), day) - used.get(i, Decimal(0))) / p) for i, p in d.need(1)
                       if p > 0), default=0)
            qty = min(want, cap)
            if qty <= 0:
                continue
            lines.append((d.item, qty, d.price))
            for i, q in d.need(qty):
                used[i] = used.get(i, Decimal(0)) + q
        if not lines:
            return None
        usage = [Usage(i, q, fefo_take(self.lots.get((i, store), []), day, q)) for i, q in used.items() if q > 0]
        return DishSale(store, at, meal, lines, usage)


def _at(day: date, hours: float) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(hours=hours)


def simulate_catering(dishes: Sequence[Dish], stores: Sequence[int], suppliers: Sequence[int], lots: Sequence[Lot],
                      shelf: Mapping[int, int | None], costs: Mapping[int, Decimal], *, end: datetime,
                      days: int = 120, seed: int = 22, chain: Chain | None = None) -> tuple[History, list[DishSale]]:
    """``days`` days of dish sales, ingredient purchases and (with a ``chain``'s kitchen)
    the kitchen's work orders and the stores' requisitions ending at ``end``: the
    history's purchases, work orders (``h.work_orders``), requisitions
    (``h.requisitions``) and the batches receipts and work orders created (``h.lots``),
    and the dish sales in time order."""
    rng = random.Random(seed)
    start = end.date() - timedelta(days=days - 1)
    h = History(start, end, (start, start), None)
    k = _Kitchen(rng, dishes, stores, suppliers or [0], lots, shelf, costs, chain)
    sales: list[DishSale] = []
    if not (dishes and stores and suppliers):
        return h, sales
    trend = 0.85
    for n in range(days):
        day = start + timedelta(days=n)
        trend = 0.85 + 0.3 * n / max(1, days - 1)
        for po in k.order(day):
            if po.received is not None and po.received <= end:
                h.purchases.append(po)
        if k.ck is not None:
            k.ck.day(day, k.wants(day, trend), end)
        for meal, hours, week in (("lunch", _LUNCH_AT, LUNCH), ("dinner", _DINNER_AT, DINNER)):
            at = _at(day, hours)
            if at > end:
                continue
            for store in stores:
                for channel, share, later in CHANNELS:
                    sale = k.sell(store, at + later, meal, week[day.weekday()] * trend * share)
                    if sale is not None:
                        sale.channel = channel
                        sales.append(sale)
    if k.ck is not None:  # tomorrow's requisitions, asked for this evening: waiting to be sent
        k.ck.day(end.date() + timedelta(days=1), k.wants(end.date() + timedelta(days=1), trend), end)
    received = {id(p) for p in h.purchases}
    made = {id(wo.lot) for wo in k.ck.work_orders if wo.lot is not None} if k.ck is not None else set()
    h.lots = [lot for lot in k.new_lots if id(lot.po) in received or id(lot) in made]
    if k.ck is not None:
        h.work_orders, h.requisitions, h.landed = k.ck.work_orders, k.ck.requisitions, k.ck.copies
    return h, sales

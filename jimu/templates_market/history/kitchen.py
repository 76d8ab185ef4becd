"""The central kitchen's day in catering's history (issue 22): after closing every store
asks the kitchen for the semi-finished goods (e.g. 卤牛肉 braised beef) its next day will
use; in the morning the kitchen makes what its own stock does not cover with a work order,
then sends the requisitions and the stores receive them before lunch. Each step moves batches as the
runtime's transitions do:

- a ``store_requisition`` is created and submitted the evening before (nothing posts);
- a ``work_order`` is released (the components, one level of the recipe, reserved
  first-expiry-first-out at the kitchen), started (the reserved batches issued) and
  completed (the output received as a new batch: produced that day, expiring after the
  product's shelf life, as ``batch_from`` fills it from the item);
- ``issue`` allocates each requested line over the kitchen's batches first-expiry-first-out
  (``requisition_issue``: released, not expired on the day, with stock; earliest expiry
  first, no expiry last, ties by batch id) into ``issued`` rows and posts them in transit;
- ``receive`` lands the same batches at the store (``receive_transfer``, all that was sent).

The kitchen buys the components; :mod:`.catering` orders them with the stores' purchases.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from jimu.templates_market.history.batchsim import Lot
from jimu.templates_market.history.production import WorkOrder
from jimu.templates_market.history.simulate import Line

__all__ = ["Recipe", "Requisition", "CentralKitchen"]

_HALF = Decimal("0.5")
# Hours UTC from the day's midnight (the stores' zone is UTC+8): asked for at 21:30 the
# evening before (after dinner), made 08:40-10:30, sent 10:45, received 11:45, before the
# 12:30 lunch.
_ASKED, _SUBMITTED = -10.5, -10.4
_WO_CREATED, _WO_RELEASED, _WO_STARTED, _WO_DONE = 0.67, 0.75, 1.0, 2.5
_ISSUED, _RECEIVED = 2.75, 3.75


@dataclass(frozen=True)
class Recipe:
    """A semi-finished good's active BOM: its id, output quantity and lines."""

    bom: int
    out: Decimal
    lines: tuple[tuple[int, Decimal], ...]

    def per(self) -> list[tuple[int, Decimal]]:
        """Each component per unit of output (``bom.explode`` of 1)."""
        return [(i, q / self.out) for i, q in self.lines]


@dataclass
class Requisition:
    """One store's requisition: lines (item, qty) and, once issued, the kitchen batches
    each line took (``issued``: (line index, kitchen batch, qty) in FEFO order), and the
    store's copy of each batch it received (``landed``)."""

    store: int
    kitchen: int
    day: date
    created: datetime
    submitted: datetime
    lines: list[tuple[int, Decimal]]
    issued_at: datetime | None = None
    received_at: datetime | None = None
    issued: list[tuple[int, Lot, Decimal]] = field(default_factory=list)
    landed: list[Lot] = field(default_factory=list)
    id: int = 0
    line_ids: list[int] = field(default_factory=list)
    issue_ids: list[int] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.received_at is not None:
            return "received"
        return "issued" if self.issued_at is not None else "submitted"


def _at(day: date, hours: float) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(hours=hours)


class CentralKitchen:
    """The kitchen ``wh`` making ``recipes`` (semi-finished item -> recipe) for ``stores``.

    ``lots`` is the shared (item, warehouse) -> batches map of the simulation; ``take``
    takes a quantity first-expiry-first-out out of a list of batches (returns the
    (batch, qty) taken); ``usable`` is the stock FEFO may take on a day; ``shelf`` the
    items' shelf lives; ``new_lot`` numbers a new batch (``seq``) and registers it."""

    def __init__(self, wh: int, stores: Sequence[int], recipes: Mapping[int, Recipe],
                 lots: dict[tuple[int, int], list[Lot]], shelf: Mapping[int, int | None],
                 take: Callable[[Sequence[Lot], date, Decimal], list[tuple[Lot, Decimal]]],
                 usable: Callable[[tuple[int, int], date], Decimal], new_lot: Callable[[Lot], None]) -> None:
        self.wh, self.stores, self.recipes = wh, stores, recipes
        self.lots, self.shelf, self.take, self.usable, self.new_lot = lots, shelf, take, usable, new_lot
        self.requisitions: list[Requisition] = []
        self.work_orders: list[WorkOrder] = []
        self.copies: list[tuple[Lot, Lot]] = []  # (a store's batch, the kitchen batch it is)
        self._landed: dict[tuple[int, int], Lot] = {}

    def components(self) -> list[int]:
        """What the kitchen buys: the components of what it makes, in recipe order."""
        return list(dict.fromkeys(i for r in self.recipes.values() for i, _ in r.lines if i not in self.recipes))

    def day(self, d: date, wants: Mapping[tuple[int, int], Decimal], end: datetime) -> None:
        """One morning: ``wants[(store, item)]`` is what each store asks for today."""
        if _at(d, _ASKED) > end:
            return
        asked = {k: _round_up(q) for k, q in wants.items() if q > 0}
        for item in self.recipes:
            total = sum((q for (_s, i), q in asked.items() if i == item), Decimal(0))
            gap = total - self.usable((item, self.wh), d)
            if gap > 0:
                self._make(item, d, int(math.ceil(gap)), end)
        sent = _at(d, _ISSUED) <= end  # else still waiting to be sent: as asked for
        give = {item: self.usable((item, self.wh), d) if sent else Decimal("Infinity") for item in self.recipes}
        for store in self.stores:
            lines = []
            for item in self.recipes:
                q = min(asked.get((store, item), Decimal(0)), give[item])
                if q > 0:
                    lines.append((item, q))
                    give[item] -= q
            if lines:
                self._requisition(store, d, lines, end)

    def _make(self, item: int, d: date, want: int, end: datetime) -> None:
        recipe = self.recipes[item]
        per = recipe.per()
        can = min([want, *(int(self.usable((c, self.wh), d) / q) for c, q in per if q > 0)])
        created = _at(d, _WO_CREATED)
        if can <= 0 or _at(d, _WO_STARTED) > end:
            return
        done: datetime | None = _at(d, _WO_DONE)
        n = len(self.work_orders) + 1
        shelf = self.shelf.get(item)
        lot = Lot(item, self.wh, f"CK{d:%Y%m%d}-{item:04d}-{n}", d, d + timedelta(days=shelf) if shelf else None,
                  received=done)
        wo = WorkOrder(item, recipe.bom, self.wh, can, lot.batch_no, created, _at(d, _WO_RELEASED),
                       _at(d, _WO_STARTED), done if done is not None and done <= end else None)
        need: dict[int, Decimal] = {}
        for comp, q in per:  # bom.explode: summed per component, in the recipe's order
            need[comp] = need.get(comp, Decimal(0)) + q * can
        for comp, qty in need.items():
            ln = Line(comp, qty, Decimal(0))  # type: ignore[arg-type]  # kitchen quantities are decimal
            ln.alloc = self.take(self.lots.get((comp, self.wh), []), d, qty)  # type: ignore[assignment]
            wo.components.append(ln)
        if wo.completed is not None:
            lot.on_hand = can
            self.new_lot(lot)
            wo.lot = lot
        self.work_orders.append(wo)

    def _requisition(self, store: int, d: date, lines: list[tuple[int, Decimal]], end: datetime) -> None:
        rq = Requisition(store, self.wh, d, _at(d, _ASKED), _at(d, _SUBMITTED), lines)
        self.requisitions.append(rq)
        if _at(d, _ISSUED) > end:
            return
        rq.issued_at = _at(d, _ISSUED)
        for n, (item, qty) in enumerate(lines):
            for lot, q in self.take(self.lots.get((item, self.wh), []), d, qty):
                rq.issued.append((n, lot, q))
        if _at(d, _RECEIVED) > end:
            return
        rq.received_at = _at(d, _RECEIVED)
        for _n, lot, q in rq.issued:
            rq.landed.append(self._land(lot, store, q))

    def _land(self, lot: Lot, store: int, q: Decimal) -> Lot:
        """The store's record of kitchen batch ``lot`` (one per store and batch), ``q`` more on hand."""
        key = (store, id(lot))
        mine = self._landed.get(key)
        if mine is None:
            mine = next((x for x in self.lots.get((lot.item, store), []) if lot.id and x.id == lot.id), None)
        if mine is None:
            mine = Lot(lot.item, store, lot.batch_no, lot.production, lot.expiry, id=lot.id, seq=lot.seq,
                       received=lot.received, released=lot.released)
            self.lots.setdefault((lot.item, store), []).append(mine)
            self.copies.append((mine, lot))
        self._landed[key] = mine
        mine.on_hand += q  # type: ignore[assignment]
        return mine


def _round_up(q: Decimal) -> Decimal:
    """Asked for in half kilograms (or half units)."""
    return (q / _HALF).to_integral_value(rounding="ROUND_CEILING") * _HALF

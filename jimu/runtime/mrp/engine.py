"""The time-phased MRP engine: pure functions over plain data (no database), so it can
be tested against textbook grids and benchmarked on its own.

Why a separate module: the ``mrp`` unit's action only loads documents (a few set-based
queries) and writes lines; every planning rule lives here.

Rules (DESIGN 16, Manufacturing):

- The horizon is cut into buckets of ``bucket_days`` (1 or 7) from ``start``. A date
  before ``start`` falls in bucket 0 (past due); a date after the horizon is ignored.
- Items are netted by low-level code (the deepest level an item has in any BOM), so every
  parent's planned orders have added their demand before a component is netted.
- Gross requirement of a bucket = independent demand dated in it + for every parent
  planned order released in it, ``order qty × line qty / BOM qty × (1 + scrap_rate)``
  (rounded up to 4 decimals, never short).
- Projected on hand: ``on hand + scheduled receipts − gross``; whenever it would drop
  below ``safety_stock`` a planned order is due in that bucket for the shortfall, lot
  sized (at least ``min_order_qty``, rounded up to ``order_multiple``), released
  ``lead_time_days`` before its due date (the bucket's first day).
- Pegging is FIFO: supply (on hand, then by bucket scheduled receipts before planned
  orders) covers demand (safety stock first, then gross elements by date); each planned
  order lists the demands (documents or parents' planned orders) its quantity covers.
- Exceptions: ``past_due`` a planned order whose release date is before ``start`` or a
  scheduled receipt dated before ``start``; for a scheduled receipt, the bucket where it is
  first needed (stock plus the receipts before it drops below safety stock) gives
  ``expedite`` (needed earlier), ``defer`` (needed later) or ``cancel`` (not needed in the
  horizon). Scheduled receipts are netted where they are; exceptions only advise.
- Net change: :meth:`Planner.replan` re-nets only the given items and, level by level, the
  components whose dependent demand actually changed.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Container, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any, NamedTuple

__all__ = ["Calendar", "PlanItem", "Component", "Structure", "Demand", "Receipt", "Peg", "PlannedOrder",
           "MrpException", "ItemResult", "Planner", "CycleError", "lot_size", "low_level_codes", "dependent_elements", "kept_dependent",
           "SAFETY_STOCK", "gc_paused"]

ZERO = Decimal(0)
_Q = Decimal("0.0001")
#: The pegging source of the part of supply that keeps safety stock.
SAFETY_STOCK = "safety_stock"


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a run: a run allocates hundreds of thousands
    of small acyclic objects (planned orders, pegs, then the lines' tuples and texts), and
    the collector would rescan them over and over (it doubled a 10k-item run, and again
    the writing of its lines)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


#: Items re-netted between two yields of :meth:`Planner._levels` at most (a level of
#: raw materials is a third of a run: its lines are stored while the rest of it is netted).
_BATCH = 500


class CycleError(ValueError):
    """The BOM structure has a cycle; ``cycle`` is ``[a, b, ..., a]``."""

    def __init__(self, cycle: list[int]) -> None:
        super().__init__(f"BOM cycle: {cycle}")
        self.cycle = cycle


@dataclass(frozen=True)
class Calendar:
    """``horizon_days`` from ``start`` in buckets of ``bucket_days``."""

    start: date
    horizon_days: int
    bucket_days: int = 7
    size: int = field(init=False)
    #: The first day of every bucket (a run asks for one per planned order).
    days: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", max(1, -(-self.horizon_days // self.bucket_days)))
        object.__setattr__(self, "days", tuple(self.start + timedelta(days=i * self.bucket_days)
                                               for i in range(self.size)))

    def bucket(self, on: date) -> int | None:
        """The bucket of ``on`` (0 for the past), None beyond the horizon."""
        k = on.toordinal() - self.start.toordinal()
        if k <= 0:
            return 0
        i = k // self.bucket_days
        return i if i < self.size else None

    def day(self, i: int) -> date:
        if 0 <= i < self.size:
            return self.days[i]
        return self.start + timedelta(days=i * self.bucket_days)


@dataclass(frozen=True)
class PlanItem:
    id: int
    on_hand: Decimal = ZERO
    safety_stock: Decimal = ZERO
    lead_time_days: int = 0
    min_order_qty: Decimal = ZERO
    order_multiple: Decimal = ZERO
    supplier: Any = None


@dataclass(frozen=True)
class Component:
    item: int
    qty: Decimal
    scrap_rate: Decimal = ZERO


@dataclass(frozen=True)
class Structure:
    """One active BOM: ``output_qty`` of ``product`` need ``components``."""

    product: int
    output_qty: Decimal
    components: tuple[Component, ...]


@dataclass(frozen=True)
class Demand:
    """Independent demand (a sales order line, a work order's component): ``qty`` of
    ``item`` wanted on ``on``; ``source`` names the document."""

    item: int
    qty: Decimal
    on: date
    source: str


@dataclass(frozen=True)
class Receipt:
    """A scheduled receipt (open purchase or work order) of ``qty`` on ``on``."""

    item: int
    qty: Decimal
    on: date
    source: str


class Peg(NamedTuple):
    """``qty`` of a planned order covers demand ``source`` dated ``on``; ``parent`` is the
    parent item when the demand is a parent's planned order (``source`` = its due date).

    A named tuple, not a dataclass: a run makes a million of them, and writing the run's
    lines unpacks each (``for source, qty, on, parent in order.pegging``)."""

    source: str
    qty: Decimal
    on: date
    parent: int | None = None


@dataclass(slots=True)
class PlannedOrder:
    item: int
    level: int
    action: str  # make | buy
    qty: Decimal
    due: date
    release: date
    supplier: Any = None
    pegging: list[Peg] = field(default_factory=list)
    bucket: int = 0


@dataclass(frozen=True, slots=True)
class MrpException:
    item: int
    kind: str  # expedite | defer | cancel | past_due
    source: str  # the document (scheduled receipt) or "planned"
    on: date  # its date now
    to: date | None  # the date it is needed (expedite, defer)
    qty: Decimal


@dataclass(slots=True)
class ItemResult:
    """The time-phased grid of one item plus its planned orders and exceptions."""

    item: int
    level: int
    gross: list[Decimal]
    scheduled: list[Decimal]
    projected: list[Decimal]
    planned_receipts: list[Decimal]
    planned_releases: list[Decimal]
    orders: list[PlannedOrder]
    exceptions: list[MrpException]


def lot_size(need: Decimal, min_qty: Decimal = ZERO, multiple: Decimal = ZERO) -> Decimal:
    """Lot for lot, raised to ``min_qty``, rounded up to a multiple of ``multiple``."""
    qty = max(need, min_qty or ZERO)
    if multiple and multiple > 0:
        qty = (qty / multiple).to_integral_value(rounding=ROUND_CEILING) * multiple
    return qty


def low_level_codes(boms: Mapping[int, Structure]) -> dict[int, int]:
    """The deepest level of every item of the structure (products nobody uses are 0),
    by a topological walk; :class:`CycleError` when there is none."""
    children: dict[int, set[int]] = {p: {c.item for c in b.components} for p, b in boms.items()}
    indeg: dict[int, int] = {}
    for p, kids in children.items():
        indeg.setdefault(p, 0)
        for c in kids:
            indeg[c] = indeg.get(c, 0) + 1
    level = {i: 0 for i, d in indeg.items() if d == 0}
    ready = list(level)
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for c in children.get(node, ()):
            level[c] = max(level.get(c, 0), level[node] + 1)
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
    if seen < len(indeg):
        raise CycleError(_a_cycle(children, {i for i, d in indeg.items() if d > 0}))
    return level


def _a_cycle(children: Mapping[int, set[int]], left: set[int]) -> list[int]:
    """A cycle among ``left`` (every node there has a predecessor there)."""
    node = min(left)
    path: list[int] = []
    index: dict[int, int] = {}
    while node not in index:
        index[node] = len(path)
        path.append(node)
        node = min(c for c in children.get(node, ()) if c in left)
    return [*path[index[node]:], node]


class Planner:
    """Plans items over a calendar; keeps its results so :meth:`replan` can re-net only
    what an order change reaches."""

    def __init__(self, calendar: Calendar, items: Mapping[int, PlanItem], boms: Mapping[int, Structure],
                 demands: Iterable[Demand] = (), receipts: Iterable[Receipt] = (),
                 levels: Mapping[int, int] | None = None) -> None:
        self.cal = calendar
        self.items = dict(items)
        self.boms = dict(boms)
        self.levels = dict(levels) if levels is not None else low_level_codes(self.boms)
        self.demands: dict[int, list[Demand]] = {}
        for d in demands:
            self.demands.setdefault(d.item, []).append(d)
        self.receipts: dict[int, list[Receipt]] = {}
        for r in receipts:
            self.receipts.setdefault(r.item, []).append(r)
        # child -> parent -> the parent's planned orders as the child's demand elements
        # (bucket, release day offset, parent, parent order due, release date, qty)
        self.dependent: dict[int, dict[int, list[tuple[int, int, int, Any, date, Decimal]]]] = {}
        self.results: dict[int, ItemResult] = {}
        #: The ISO text of a parent order's due date, as its components' pegs name it
        #: (a run pegs a million demands to a few hundred dates).
        self._iso: dict[date, str] = {}

    # Inputs ---------------------------------------------------------------------------
    def item(self, item: int) -> PlanItem:
        return self.items.get(item) or PlanItem(item)

    def set_dependent(self, given: Mapping[int, Mapping[int, Iterable[tuple[date, Decimal, date]]]]) -> None:
        """Dependent demand from parents not re-planned here (net change from stored
        lines): child -> parent -> [(release, qty, parent order due)]."""
        for child, parents in given.items():
            for parent, elems in parents.items():
                self.dependent.setdefault(child, {})[parent] = self._elements(parent, elems)

    def _elements(self, parent: int, elems: Iterable[tuple[date, Decimal, date]]
                  ) -> list[tuple[int, int, int, Any, date, Decimal]]:
        n, bd, s0 = self.cal.size, self.cal.bucket_days, self.cal.start.toordinal()
        out = []
        for on, qty, due in elems:
            k = on.toordinal() - s0
            b = 0 if k <= 0 else k // bd
            if b < n and qty > 0:
                out.append((b, k, parent, due, on, qty))
        return out

    def _made(self, parent: int, bom: Structure, orders: list[PlannedOrder]
              ) -> dict[int, list[tuple[int, int, int, Any, date, Decimal]]]:
        """The demand elements ``orders`` of ``bom``'s product put on each component: what
        :func:`dependent_elements` then :meth:`_elements` give, in one pass (a run puts a
        million of them)."""
        n, bd, s0 = self.cal.size, self.cal.bucket_days, self.cal.start.toordinal()
        zero = ZERO  # a Decimal compares with a Decimal in a third of the time it takes with an int
        placed = []
        for o in orders:
            k = o.release.toordinal() - s0
            b = 0 if k <= 0 else k // bd
            if b < n:
                placed.append((b, k, o.due, o.release, o.qty))
        out: dict[int, list[tuple[int, int, int, Any, date, Decimal]]] = {}
        for child, factor in _factors(bom).items():
            if factor == factor.to_integral_value():  # exact already: no rounding needed
                out[child] = [(b, k, parent, due, rel, x) for b, k, due, rel, q in placed if (x := q * factor) > zero]
            else:
                out[child] = [(b, k, parent, due, rel, x) for b, k, due, rel, q in placed
                              if (x := (q * factor).quantize(_Q, ROUND_CEILING)) > zero]
        return out

    def set_demands(self, item: int, demands: Iterable[Demand]) -> None:
        self.demands[item] = list(demands)

    def set_receipts(self, item: int, receipts: Iterable[Receipt]) -> None:
        self.receipts[item] = list(receipts)

    # Runs -----------------------------------------------------------------------------
    def everything(self) -> set[int]:
        """Every item known to the plan (what a full run nets)."""
        return set(self.items) | set(self.demands) | set(self.receipts) | set(self.levels)

    def run(self) -> dict[int, ItemResult]:
        """A full regeneration: every item known to the plan."""
        for _ in self.run_levels():
            pass
        return self.results

    def run_levels(self) -> Iterator[list[ItemResult]]:
        """A full regeneration (as :meth:`run`) that yields its results in batches, lowest
        low-level code first and in item order, each batch (at most :data:`_BATCH` items
        of one code) as soon as it is netted: every parent of an item has a lower code
        and is netted before it, so nothing changes an item's result once it is netted.
        A caller can store the planned orders of a batch while the next is being
        planned. :attr:`results` holds the whole run at the end."""
        self.dependent = {}
        self.results = {}
        with gc_paused():
            for done in self._levels(self.everything()):
                results = self.results
                yield [results[i] for i in done if i in results]

    def replan(self, changed: Iterable[int]) -> set[int]:
        """Re-net ``changed`` and, lowest level first, every component whose dependent
        demand changed as a result; returns the items re-netted."""
        with gc_paused():
            return self._replan(changed)

    def _replan(self, changed: Iterable[int]) -> set[int]:
        done: set[int] = set()
        for items in self._levels(changed):
            done.update(items)
        return done

    def _levels(self, changed: Iterable[int]) -> Iterator[list[int]]:
        """Re-nets as :meth:`replan` says, yielding the items re-netted, in batches of at
        most :data:`_BATCH` items of one level (in item order), each once netted."""
        heap = [(self.levels.get(i, 0), i) for i in set(changed)]
        heapq.heapify(heap)
        queued = {i for _, i in heap}
        current: int | None = None
        done: list[int] = []
        while heap:
            level, item = heapq.heappop(heap)
            if level != current or len(done) >= _BATCH:
                if done:
                    yield done
                    done = []
                current = level
            queued.discard(item)
            done.append(item)
            old = self.results.get(item)
            new = self._net(item)
            if new.orders or new.exceptions or any(new.gross) or any(new.scheduled):
                self.results[item] = new
            else:
                self.results.pop(item, None)
            bom = self.boms.get(item)
            if bom is None:
                continue
            before = [(o.release, o.qty) for o in old.orders] if old else []
            after = [(o.release, o.qty) for o in new.orders]
            if before == after:
                continue
            made = self._made(item, bom, new.orders)
            for child in made:
                elems = made[child]
                per_parent = self.dependent.setdefault(child, {})
                if elems:
                    per_parent[item] = elems
                else:
                    per_parent.pop(item, None)
                if child not in queued:
                    queued.add(child)
                    heapq.heappush(heap, (self.levels.get(child, 0), child))
        if done:
            yield done

    # One item -------------------------------------------------------------------------
    def _net(self, item: int) -> ItemResult:
        """Net one item over the calendar (the hot loop of a run: dates are handled as
        ordinals and buckets computed inline)."""
        cal, info = self.cal, self.item(item)
        n, bd, s0 = cal.size, cal.bucket_days, cal.start.toordinal()
        level = self.levels.get(item, 0)
        gross = [ZERO] * n
        # (bucket, date ordinal, parent or -1, source, date, qty): what pegging walks
        elements: list[tuple[int, int, int, Any, date, Decimal]] = []
        for d in self.demands.get(item, ()):
            k = d.on.toordinal() - s0
            b = 0 if k <= 0 else k // bd
            if b < n and d.qty > ZERO:
                gross[b] += d.qty
                elements.append((b, k, -1, d.source, d.on, d.qty))
        for elems in self.dependent.get(item, {}).values():
            for e in elems:
                gross[e[0]] += e[5]
            elements += elems
        scheduled = [ZERO] * n
        receipts: list[tuple[int, Receipt]] = []
        for r in self.receipts.get(item, ()):
            k = r.on.toordinal() - s0
            b = 0 if k <= 0 else k // bd
            if b < n and r.qty > ZERO:
                scheduled[b] += r.qty
                receipts.append((b, r))
        receipts.sort(key=lambda x: (x[1].on, x[1].source))
        ss = info.safety_stock or ZERO
        projected = [ZERO] * n
        planned = [ZERO] * n
        releases = [ZERO] * n
        orders: list[PlannedOrder] = []
        proj = info.on_hand
        action = "make" if item in self.boms else "buy"
        supplier = info.supplier if action == "buy" else None
        lead = info.lead_time_days or 0
        lead_days = timedelta(days=lead)
        lead_buckets_exact = lead % bd == 0
        min_qty, multiple = info.min_order_qty, info.order_multiple
        sized = bool(min_qty or multiple)
        days = cal.days
        for t in range(n):
            proj += scheduled[t] - gross[t]
            if proj < ss:
                qty = lot_size(ss - proj, min_qty, multiple) if sized else ss - proj
                planned[t] = qty
                proj += qty
                due = days[t]
                release = due - lead_days if lead else due
                if lead_buckets_exact:
                    rb = max(0, t - lead // bd)
                else:
                    k = t * bd - lead
                    rb = 0 if k <= 0 else k // bd
                releases[rb] += qty
                orders.append(PlannedOrder(item, level, action, qty, due, release, supplier, [], t))
            projected[t] = proj
        if orders:
            # bucket, day, parent, then source: sources compare only within one parent
            # (documents for -1, due dates for a parent), so plain tuple order is safe
            elements.sort()
            _peg(info, ss, elements, receipts, orders, cal, self._iso)
        exceptions = _exceptions(cal, info, ss, gross, receipts, orders) if receipts or orders else []
        return ItemResult(item, level, gross, scheduled, projected, planned, releases, orders, exceptions)


def _factors(bom: Structure) -> dict[int, Decimal]:
    """Component quantity per unit of the product, scrap included (lines of one item summed)."""
    out: dict[int, Decimal] = {}
    for comp in bom.components:
        out[comp.item] = out.get(comp.item, ZERO) + comp.qty / bom.output_qty * (1 + comp.scrap_rate)
    return out


def dependent_elements(bom: Structure, orders: Iterable[tuple[date, Decimal, date]],
                       only: Container[int] | None = None) -> dict[int, list[tuple[date, Decimal, date]]]:
    """The demand ``orders`` of ``bom``'s product, given as (release, qty, due), put on
    each component (of those in ``only``, when given): (release, qty × per unit ×
    (1 + scrap) rounded up to 4 decimals, due)."""
    orders = list(orders)
    out = {}
    for child, factor in _factors(bom).items():
        if only is not None and child not in only:
            continue
        if factor == factor.to_integral_value():  # exact already: no rounding needed
            out[child] = [(rel, qty * factor, due) for rel, qty, due in orders]
        else:
            out[child] = [(rel, (qty * factor).quantize(_Q, ROUND_CEILING), due) for rel, qty, due in orders]
    return out


def kept_dependent(boms: Mapping[int, Structure], orders: Mapping[int, list[tuple[date, Decimal, date]]],
                   inside: Container[int]) -> dict[int, dict[int, list[tuple[date, Decimal, date]]]]:
    """What :meth:`Planner.set_dependent` takes from parents not re-planned: child (of
    ``inside``) -> parent -> :func:`dependent_elements` of that parent's planned ``orders``
    (parent -> [(release, qty, due)])."""
    out: dict[int, dict[int, list[tuple[date, Decimal, date]]]] = {}
    for parent, placed in orders.items():
        for child, elems in dependent_elements(boms[parent], placed, inside).items():
            out.setdefault(child, {})[parent] = elems
    return out


def _peg(info: PlanItem, ss: Decimal, elements: list[tuple[int, int, int, Any, date, Decimal]],
         receipts: list[tuple[int, Receipt]], orders: list[PlannedOrder], cal: Calendar,
         iso: dict[date, str]) -> None:
    """FIFO pegging of the planned orders to the demand elements they cover: supply is
    on hand, then per bucket the scheduled receipts before the planned order; demand is
    negative stock and safety stock first, then the elements by date. ``iso``: a date's
    ISO text, made once per run."""
    first: list[tuple[int, int, int, Any, date, Decimal]] = []
    if info.on_hand < 0:
        first.append((0, 0, -1, "on_hand", cal.start, -info.on_hand))
    if ss > 0:
        first.append((0, 0, -1, SAFETY_STOCK, cal.start, ss))
    demand = first + elements if first else elements
    supply: list[tuple[Decimal, PlannedOrder | None]] = [(max(info.on_hand, ZERO), None)]
    ri = 0
    for o in orders:
        while ri < len(receipts) and receipts[ri][0] <= o.bucket:
            supply.append((receipts[ri][1].qty, None))
            ri += 1
        supply.append((o.qty, o))
    end = len(demand)
    i = 0
    rem = demand[0][5] if end else ZERO  # what is left of demand[i]
    new_peg = tuple.__new__  # Peg's own __new__ is a Python call per peg
    zero = ZERO  # a Decimal compares with a Decimal in a third of the time it takes with an int
    for qty, order in supply:
        left = qty
        add = None if order is None else order.pegging.append
        while left > zero and i < end:
            full = rem <= left  # demand i is covered to its end: on to the next one
            if add is not None:
                e = demand[i]
                src = e[3]
                if not isinstance(src, str):
                    src = iso.get(src) or iso.setdefault(src, src.isoformat())
                add(new_peg(Peg, (src, rem if full else left, e[4], None if e[2] < 0 else e[2])))
            if full:
                left -= rem
                i += 1
                rem = demand[i][5] if i < end else zero
            else:  # this supply is spent on demand i
                rem -= left
                break
        if i >= end:
            break


def _exceptions(cal: Calendar, info: PlanItem, ss: Decimal, gross: list[Decimal],
                receipts: list[tuple[int, Receipt]], orders: list[PlannedOrder]) -> list[MrpException]:
    out: list[MrpException] = []
    for o in orders:
        if o.release < cal.start:
            out.append(MrpException(o.item, "past_due", "planned", o.release, cal.start, o.qty))
    if not receipts:
        return out
    have = info.on_hand
    cum = [ZERO] * len(gross)
    run = ZERO
    for t, g in enumerate(gross):
        run += g
        cum[t] = run
    for b, r in receipts:
        if r.on < cal.start:
            out.append(MrpException(r.item, "past_due", r.source, r.on, cal.start, r.qty))
        need = next((t for t in range(len(gross)) if have - cum[t] < ss), None)
        if need is None:
            out.append(MrpException(r.item, "cancel", r.source, r.on, None, r.qty))
        elif need < b:
            out.append(MrpException(r.item, "expedite", r.source, r.on, cal.day(need), r.qty))
        elif need > b:
            out.append(MrpException(r.item, "defer", r.source, r.on, cal.day(need), r.qty))
        have += r.qty
    return out

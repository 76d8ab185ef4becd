"""A factory's history (discrete manufacturing): what it sells and has a BOM for is made,
not bought. Twice a week, after the day's counts, each product below its reorder point
gets a work order: its sub-assemblies first (work orders of their own, as far as their
parts allow), then the product as far as every component is there. A work order is
released (components reserved first-expiry-first-out per batch, one level of the BOM
with its scrap, as ``bom_explode`` gives), started (the reserved batches issued) and
completed the next afternoon (the output received as a new batch: the genealogy a trace
follows). Purchased parts a work order was short of are bought (due in a few days),
grouped per supplier.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from jimu.templates_market.history.batchsim import BatchSim, Lot
from jimu.templates_market.history.simulate import History, Line, Master, _at, simulate

__all__ = ["WorkOrder", "FactorySim", "simulate_factory"]

#: A BOM: product -> (output qty of the BOM, [(component, qty incl. scrap)]).
Boms = Mapping[int, tuple[Decimal, Sequence[tuple[int, Decimal]]]]


@dataclass
class WorkOrder:
    product: int
    bom: int
    warehouse: int
    qty: int
    batch_no: str
    created: datetime
    released: datetime
    started: datetime
    completed: datetime | None
    components: list[Line] = field(default_factory=list)
    lot: Lot | None = None
    id: int = 0
    line_ids: list[int] = field(default_factory=list)


class FactorySim(BatchSim):
    """:class:`~.batchsim.BatchSim` that makes what has a BOM."""

    def __init__(self, master: Master, rng: random.Random, end: datetime, days: int, orders_per_day: float,
                 approvals: bool, *, lots: Sequence[Lot], shelf: Mapping[int, int | None], boms: Boms,
                 bom_ids: Mapping[int, int], parts: Mapping[int, Decimal]) -> None:
        super().__init__(master, rng, end, days, orders_per_day, approvals, lots=lots, shelf=shelf)
        self.boms, self.bom_ids, self.parts = boms, bom_ids, parts
        sups = sorted(master.suppliers)
        if sups:
            for i, item in enumerate(sorted(parts)):
                self.supplier_of.setdefault(item, sups[i % len(sups)])
        self.made: list[WorkOrder] = []

    def buys(self, item: int) -> bool:
        return item not in self.boms

    def count(self, d: date) -> None:
        super().count(d)
        if d.weekday() in (0, 3):
            self.produce(d)

    def _avail(self, item: int, wh: int) -> Decimal:
        return Decimal(sum(lot.available for lot in self.fefo((item, wh))))

    def produce(self, d: date) -> None:
        short: dict[tuple[int, int], Decimal] = {}
        at = [_at(d, 20.5)]  # after the day's orders and counts: an evening shift
        for k in self.keys:
            if k[0] not in self.boms or self.rate[k] < 0.02:
                continue
            position = self.position(k)
            if position >= self.rate[k] * 14:
                continue
            want = int(math.ceil((self.rate[k] * 28 - position) / 5.0)) * 5
            self.make(k[0], k[1], want, at, short, 0)
        groups: dict[tuple[int, int], list[Line]] = {}
        for (item, wh), need in sorted(short.items()):
            if item not in self.supplier_of or item not in self.parts:
                continue
            on_order = self.on_order.get((item, wh), 0)
            if self._avail(item, wh) + on_order >= need:
                continue
            qty = int(math.ceil(float(need * 2 - on_order) / 10.0)) * 10
            groups.setdefault((self.supplier_of[item], wh), []).append(Line(item, qty, self.parts[item]))
        self._place(d, groups)

    def make(self, item: int, wh: int, want: int, at: list[datetime], short: dict[tuple[int, int], Decimal],
             depth: int) -> int:
        """Work orders for up to ``want`` of ``item`` at ``wh`` (sub-assemblies first);
        returns how many were made. ``at``: the next start time (advanced per order)."""
        out, lines = self.boms[item]
        per = [(comp, q / out) for comp, q in lines]
        for comp, q in per:
            gap = q * want - self._avail(comp, wh)
            if gap > 0 and comp in self.boms and depth < 6:
                self.make(comp, wh, int(math.ceil(gap)), at, short, depth + 1)
        can = want
        for comp, q in per:
            if q > 0:
                have = self._avail(comp, wh)
                if have < q * want:
                    short[(comp, wh)] = short.get((comp, wh), Decimal(0)) + q * want - have
                can = min(can, int(have / q))
        if can <= 0:
            return 0
        created = at[0]
        at[0] = created + timedelta(minutes=20)
        n = len(self.made) + 1
        wo = WorkOrder(item, self.bom_ids[item], wh, can, f"P{created:%Y%m%d}-{item:04d}-{n}", created,
                       created + timedelta(minutes=5), created + timedelta(minutes=15),
                       created + timedelta(hours=18 + 2 * self.rng.random()))
        need: dict[int, Decimal] = {}
        for comp, q in per:
            need[comp] = need.get(comp, Decimal(0)) + q * can
        for comp, qty in need.items():
            ln = Line(comp, qty, Decimal(0))  # type: ignore[arg-type]
            self.take((comp, wh), ln)
            self.ship_line((comp, wh), ln)  # issued at start, a few minutes later
            wo.components.append(ln)
        lot = Lot(item, wh, wo.batch_no, created.date(), None, seq=len(self.new_lots) + 1, received=wo.completed)
        self.new_lots.append(lot)
        self.lots_of.setdefault((item, wh), []).append(lot)
        wo.lot = lot
        assert wo.completed is not None

        def done(lot: Lot = lot, qty: int = can) -> None:
            lot.on_hand += qty

        self.later.append((wo.completed, len(self.later), done))
        self.made.append(wo)
        return can

    def position(self, key: tuple[int, int]) -> int:
        pending = sum(wo.qty for wo in self.made if wo.lot is not None and wo.lot.on_hand == 0
                      and (wo.product, wo.warehouse) == key and wo.completed and wo.completed.date() >= self.today)
        return super().position(key) + pending


def simulate_factory(master: Master, lots: Sequence[Lot], shelf: Mapping[int, int | None], boms: Boms,
                     bom_ids: Mapping[int, int], parts: Mapping[int, Decimal], *, end: datetime, days: int = 120,
                     seed: int = 22, orders_per_day: float = 9.0, approvals: bool = True) -> History:
    """:func:`~.batchsim.simulate_batches` for a factory; ``h.work_orders``: the work
    orders started before ``end`` (``completed`` None when not yet done), ``h.lots`` the
    batches received or completed before it."""
    made: list[FactorySim] = []

    def make(*args: Any) -> FactorySim:
        made.append(FactorySim(*args, lots=lots, shelf=shelf, boms=boms, bom_ids=bom_ids, parts=parts))
        return made[0]

    h = simulate(master, end=end, days=days, seed=seed, orders_per_day=orders_per_day, approvals=approvals,
                 make=make)
    if not made:
        return h
    sim = made[0]
    h.work_orders = [wo for wo in sim.made if wo.started < end]
    for wo in h.work_orders:
        if wo.completed is not None and wo.completed >= end:
            wo.completed = None
    received = {id(p) for p in h.purchases if p.received is not None}
    done = {id(wo.lot) for wo in h.work_orders if wo.completed is not None}
    h.lots = [lot for lot in sim.new_lots if id(lot.po) in received or id(lot) in done]
    return h

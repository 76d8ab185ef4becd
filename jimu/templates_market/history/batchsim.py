"""The same simulated business (:mod:`.simulate`) for batch-tracked stock (food): every
unit lives in a batch (a :class:`Lot`), and each step moves batches as the runtime's
postings would.

- a purchase line received creates a batch (batch number, production date a few days
  before, expiry = production + the item's shelf life);
- an order line reserves first-expiry-first-out (``jimu.platform.ledger.batches``: only
  released batches not expired on the day, with available stock; batches without
  expiry last, ties by batch id), possibly splitting over batches; shipping consumes
  exactly the reserved batches, a cancel or reject gives them back;
- a return goes back to the batch it was shipped from (a quality return to its
  quarantine bucket);
- a count counts each batch with stock.

Stock without a batch (a sample's plain opening balance) is never sold, as FEFO never
takes it; it still makes its (item, warehouse) a place the business buys and sells.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jimu.templates_market.history.simulate import (
    History,
    Line,
    Master,
    PurchaseOrder,
    SalesReturn,
    _Sim,
    simulate,
)

__all__ = ["Lot", "BatchSim", "simulate_batches"]


@dataclass(eq=False)
class Lot:
    """One batch of one item in one warehouse, and its stock in whole units. ``id`` is
    the batch record's id (set when a new one is written); ``seq`` orders new batches
    (they get ids in that order, after every existing one)."""

    item: int
    warehouse: int
    batch_no: str
    production: date | None
    expiry: date | None
    on_hand: int = 0
    reserved: int = 0
    quarantine: int = 0
    released: bool = True
    id: int = 0
    seq: int = 0
    received: datetime | None = None
    po: PurchaseOrder | None = None

    @property
    def new(self) -> bool:
        return self.received is not None

    def fefo(self) -> tuple[bool, date, int, int]:
        """``fefo_order`` of the runtime: expiry first, no expiry last, then batch id."""
        return (self.expiry is None, self.expiry or date.max, int(self.new), self.seq if self.new else self.id)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def receipt_lot(po: PurchaseOrder, ln: Line, shelf: int | None, back: int, seq: int) -> Lot:
    """The batch receipt line ``ln`` of ``po`` creates (the ``seq``-th new one): produced
    ``back`` days before the receipt, but at most a quarter of its shelf life (a supplier does
    not deliver stale goods), expiring after its shelf life."""
    assert po.received is not None
    if shelf is not None:
        back = min(back, max(0, shelf // 4))
    produced = po.received.date() - timedelta(days=back)
    expiry = produced + timedelta(days=shelf) if shelf is not None else None
    return Lot(ln.item, po.warehouse, f"{produced:%Y%m%d}-{ln.item:04d}-H{seq}", produced, expiry, on_hand=ln.qty,
               seq=seq, received=po.received, po=po)

class BatchSim(_Sim):
    """:class:`~.simulate._Sim` whose stock hooks move batches."""

    def __init__(self, master: Master, rng: random.Random, end: datetime, days: int, orders_per_day: float,
                 approvals: bool, *, lots: Sequence[Lot], shelf: Mapping[int, int | None]) -> None:
        super().__init__(master, rng, end, days, orders_per_day, approvals)
        self.lots_of: dict[tuple[int, int], list[Lot]] = {}
        for lot in lots:
            self.lots_of.setdefault((lot.item, lot.warehouse), []).append(lot)
        self.shelf = shelf
        self.new_lots: list[Lot] = []

    def sellable(self, lot: Lot) -> bool:
        return lot.released and (lot.expiry is None or lot.expiry >= self.today)

    def fefo(self, key: tuple[int, int]) -> list[Lot]:
        """The batches an order line may take today, in the order it takes them."""
        return sorted((lot for lot in self.lots_of.get(key, []) if self.sellable(lot) and lot.available > 0),
                      key=Lot.fefo)

    def available(self, key: tuple[int, int]) -> int:
        """Whole units (a factory's components may hold part units)."""
        return int(sum(lot.available for lot in self.fefo(key)))

    def take(self, key: tuple[int, int], ln: Line) -> None:
        left = ln.qty
        for lot in self.fefo(key):
            got = min(left, lot.available)
            lot.reserved += got
            ln.alloc.append((lot, got))
            left -= got
            if left == 0:
                break
        assert left == 0, "a line is capped at what is available"
        super().take(key, ln)

    def give_back(self, key: tuple[int, int], ln: Line) -> None:
        for lot, qty in ln.alloc:
            lot.reserved -= qty
        super().give_back(key, ln)

    def ship_line(self, key: tuple[int, int], ln: Line) -> None:
        for lot, qty in ln.alloc:
            lot.on_hand -= qty
            lot.reserved -= qty
        super().ship_line(key, ln)

    def receive_line(self, po: PurchaseOrder, ln: Line) -> None:
        lot = receipt_lot(po, ln, self.shelf.get(ln.item), self.rng.randint(1, 7), len(self.new_lots) + 1)
        self.new_lots.append(lot)
        self.lots_of.setdefault((ln.item, po.warehouse), []).append(lot)
        ln.alloc = [(lot, ln.qty)]
        super().receive_line(po, ln)

    def returned(self, ret: SalesReturn, key: tuple[int, int]) -> None:
        ln = ret.order.lines[ret.line]
        lot, qty = max(ln.alloc, key=lambda a: a[1])  # the batch most of the line came from
        ret.lot, ret.qty = lot, min(ret.qty, qty)
        bucket = "quarantine" if ret.reason == "quality" else "on_hand"

        def back(lot: Lot = lot, n: int = ret.qty) -> None:
            setattr(lot, bucket, getattr(lot, bucket) + n)

        self.later.append((ret.received, len(self.later), back))
        super().returned(ret, key)

    def position(self, key: tuple[int, int]) -> int:
        sellable = sum(lot.available for lot in self.lots_of.get(key, []) if self.sellable(lot))
        return int(sellable) + self.on_order.get(key, 0)

    def count_lines(self, wh: int) -> tuple[list[tuple[int, int, int]], list[Any]]:
        lines: list[tuple[int, int, int]] = []
        lots: list[Any] = []
        for k in self.by_wh[wh]:
            for lot in sorted(self.lots_of.get(k, []), key=Lot.fefo):
                book = lot.on_hand
                if book <= 0:
                    continue
                counted = book
                if self.rng.random() < 0.12:  # a miscount or an unrecorded loss
                    counted = max(lot.reserved, book + self.rng.choice((-3, -2, -1, -1, 1, 2)))
                lines.append((k[0], book, counted))
                lots.append(lot)
                lot.on_hand = counted
                self._move(self.on_hand, k, counted - book)
        return lines, lots


def simulate_batches(master: Master, lots: Sequence[Lot], shelf: Mapping[int, int | None], *, end: datetime,
                     days: int = 120, seed: int = 22, orders_per_day: float = 9.0,
                     approvals: bool = True) -> History:
    """:func:`~.simulate.simulate` over batches; ``h.lots``: the batches it created
    (received before ``end``), in creation order."""
    made: list[BatchSim] = []

    def make(*args: Any) -> BatchSim:
        made.append(BatchSim(*args, lots=lots, shelf=shelf))
        return made[0]

    h = simulate(master, end=end, days=days, seed=seed, orders_per_day=orders_per_day, approvals=approvals,
                 make=make)
    received = {id(p) for p in h.purchases if p.received is not None}
    h.lots = [lot for lot in made[0].new_lots if id(lot.po) in received] if made else []
    return h

"""The stock ledger side of a generated history, written in bulk: movement rows with
their own past times, the reservations of sales orders, the moving-average valuation
replayed in time order, and the balances moved once per key by the net of all of it
(through the ledger's guarded update, so stock can never end below zero).

The rows are those the postings of the same documents would have written (kinds,
transitions, reasons, document and line ids), so ``jimu ledger verify`` rebuilds the
same balances from them. On a ledger with a ``batch`` dimension (food) a move or a hold
names its batch (a batch id, or a :class:`~.batchsim.Lot` whose id is known by the time
the rows are written); ``None`` is the batch-less key (what is on order)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from jimu.platform.ledger.moves import Line, update_balances
from jimu.platform.ledger.spec import Ledger, cost_to_units
from jimu.platform.ledger.tables import BUCKETS, balance, movement, reservation
from jimu.platform.ledger.valuation import revalue

__all__ = ["Move", "Hold", "LedgerRows"]

_CHUNK = 2000


@dataclass
class Hold:
    """A reservation of one sales order line: open until ``closed`` (consumed or released)."""

    item: int
    warehouse: int
    qty: int
    doc_id: int
    line_id: int
    created: datetime
    user: str
    closed: datetime | None = None
    state: str = "active"
    id: int = 0
    batch: Any = None
    entity: str = "sales_order"


@dataclass
class Move:
    """One movement row: when, what, the bucket changes in whole units of the item."""

    at: datetime
    item: int
    warehouse: int
    kind: str
    changes: dict[str, Any]  # quantities of the item (decimal where stock is, e.g. ingredients)
    doc: tuple[str, int, int | None]
    transition: str | None
    reason: str | None
    user: str
    cost: Any = None
    hold: Hold | None = None
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    batch: Any = None


class LedgerRows:
    """Collects the moves and holds of a history, then writes them (:meth:`write`)."""

    def __init__(self, app: str, lg: Ledger) -> None:
        self.app, self.lg = app, lg
        self.moves: list[Move] = []
        self.holds: list[Hold] = []
        self.keys: dict[tuple[int, int, int | None], str] = {}
        self.batched = "batch" in lg.dimensions

    def key(self, item: int, warehouse: int, batch: int | None = None) -> str:
        k = self.keys.get((item, warehouse, batch))
        if k is None:
            k = self.keys[(item, warehouse, batch)] = self.lg.key(self._dims(item, warehouse, batch))
        return k

    def add(self, mv: Move) -> None:
        mv.seq = len(self.moves)
        self.moves.append(mv)

    def hold(self, h: Hold) -> Hold:
        self.holds.append(h)
        return h

    def _dims(self, item: int, warehouse: int, batch: int | None = None) -> dict[str, Any]:
        if self.batched:
            return {"item": item, "warehouse": warehouse, "batch": batch}
        return {"item": item, "warehouse": warehouse}

    @staticmethod
    def _bid(batch: Any) -> int | None:
        return None if batch is None else int(getattr(batch, "id", batch))

    def write(self, conn: Connection) -> int:
        """Write everything in ``conn``'s transaction; returns the number of movements."""
        lg, app = self.lg, self.app
        one = 10**lg.scale
        if self.holds:
            r_stmt = reservation.insert().returning(reservation.c.id, sort_by_parameter_order=True)
            rows = [{"app": app, "ledger": lg.name, "key": self.key(h.item, h.warehouse, self._bid(h.batch)),
                     "dims": self._dims(h.item, h.warehouse, self._bid(h.batch)), "qty": int(h.qty * one),
                     "open_qty": int(h.qty * one) if h.state == "active" else 0, "state": h.state,
                     "doc_entity": h.entity, "doc_id": str(h.doc_id), "doc_line": str(h.line_id),
                     "created_at": h.created, "created_by": h.user, "expires_at": None, "closed_at": h.closed}
                    for h in self.holds]
            ids: list[int] = []
            for i in range(0, len(rows), _CHUNK):
                ids += [int(x) for x in conn.execute(r_stmt, rows[i:i + _CHUNK]).scalars()]
            for h, rid in zip(self.holds, ids, strict=True):
                h.id = rid
        moves = sorted(self.moves, key=lambda m: (m.at, m.seq))
        # The moving average, replayed in time order over what changes the valued stock.
        valued = [m for m in moves if m.changes.get("on_hand") or m.changes.get("quarantine")]
        entries = [(self._dims(m.item, m.warehouse, self._bid(m.batch)),
                    int((m.changes.get("on_hand", 0) + m.changes.get("quarantine", 0)) * one),
                    _cost(m.cost)) for m in valued]
        for m, used in zip(valued, revalue(conn, lg, app, entries), strict=True):
            m.extra["unit_cost"] = used
        net: dict[tuple[int, int, int | None], dict[str, int]] = {}
        rows = []
        for m in moves:
            bid = self._bid(m.batch)
            dims = self._dims(m.item, m.warehouse, bid)
            acc = net.setdefault((m.item, m.warehouse, bid), dict.fromkeys(BUCKETS, 0))
            row: dict[str, Any] = {"at": m.at, "user": m.user, "app": app, "ledger": lg.name, "key": self.key(m.item, m.warehouse, bid),
                                   "dims": dims, "kind": m.kind, "reason": m.reason,
                                   "reservation_id": m.hold.id if m.hold is not None else None,
                                   "unit_cost": m.extra.get("unit_cost"), "doc_entity": m.doc[0],
                                   "doc_id": str(m.doc[1]), "doc_line": None if m.doc[2] is None else str(m.doc[2]),
                                   "transition": m.transition}
            for b in BUCKETS:
                units = int(m.changes.get(b, 0) * one)
                row[f"d_{b}"] = units
                acc[b] += units
            rows.append(row)
        lines = [Line(self._dims(*k), {b: d for b, d in ch.items() if d}, "history")
                 for k, ch in sorted(net.items(), key=lambda kv: self.key(*kv[0])) if any(ch.values())]
        update_balances(conn, lg, app, lines, at=moves[-1].at if moves else datetime.now())
        # A key the history emptied (a batch used up) keeps its balance row, as a posting leaves it.
        emptied = [{"app": app, "ledger": lg.name, "key": self.key(*k), "dims": self._dims(*k), **lg.slots(self._dims(*k))}
                   for k, ch in net.items() if not any(ch.values())]
        if emptied:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(dialect.insert(balance).on_conflict_do_nothing(index_elements=["app", "ledger", "key"]),
                         emptied)
        for i in range(0, len(rows), _CHUNK):
            conn.execute(movement.insert(), rows[i:i + _CHUNK])
        return len(rows)


def _cost(cost: Any) -> Any:
    """A unit cost in cost units; dimensions (a transfer's source) mean "the average
    there", as ``revalue`` reads them; None: the current average."""
    if cost is None or isinstance(cost, Mapping):
        return cost
    return cost_to_units(cost)


def backdate(conn: Connection, app: str, lg: Ledger, since: datetime, to: datetime) -> int:
    """Move the app's movements (and reservations) at or after ``since`` to ``to``: the
    opening stock the sample data posted "now" was there before the history began."""
    m = movement.c
    res = conn.execute(sa.update(movement).where(m.app == app, m.ledger == lg.name, m.at >= since).values(at=to))
    return int(res.rowcount or 0)

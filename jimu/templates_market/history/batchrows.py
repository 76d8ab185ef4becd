"""The database side of batch-tracked history (food): the batches the app has when the
history starts (:func:`read_lots`), the batch records the purchase receipts created
(:func:`write_lots`, before anything that names them), and the batch fields a sales
line carries once reserved (:func:`sales_line_batch`, as ``record_allocations`` writes
them from the movements)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.ledger.spec import Ledger
from jimu.platform.ledger.tables import balance
from jimu.platform.schema import column_name
from jimu.templates_market.history.batchsim import Lot
from jimu.templates_market.history.rows import NewDoc, insert_docs
from jimu.templates_market.history.simulate import Line, SalesOrder

__all__ = ["read_lots", "write_lots", "sales_line_batch", "purchase_line_batch", "qty_text"]

_RELEASED = "released"


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _shelf_lives(conn: Connection, rt: Any, batches: Mapping[int, tuple[Any, ...]]) -> dict[int, int | None]:
    """item -> shelf life in days: the item's ``shelf_life_days``, else what its batches
    show (median of expiry - production), else None (its batches do not expire)."""
    spans: dict[int, list[int]] = {}
    for item, _no, produced, expiry, _status in batches.values():
        if produced is not None and expiry is not None:
            spans.setdefault(int(item), []).append((expiry - produced).days)
    out: dict[int, int | None] = {item: int(median(days)) for item, days in spans.items()}
    ent = rt.spec.entity("item")
    f = ent.field("shelf_life_days") if ent is not None else None
    if f is not None and not f.archived and f.stored:
        t = rt.tables("item")
        for rid, days in conn.execute(sa.select(t.c.id, t.c[column_name(f)]).where(t.c[column_name(f)].is_not(None))):
            out[int(rid)] = int(days)
    return out


def read_lots(conn: Connection, rt: Any, lg: Ledger) -> tuple[list[Lot], dict[int, int | None]]:
    """Every batch with stock (of every item: a factory's parts are not sold, but its
    work orders take them first-expiry-first-out) and each item's shelf life."""
    t = rt.tables("batch")
    cols = [t.c.id, t.c.item, t.c.batch_no, t.c.production_date, t.c.expiry_date]
    status = t.c.quality_status if "quality_status" in t.c else sa.literal(_RELEASED)
    batches = {int(r[0]): (r[1], r[2], _as_date(r[3]), _as_date(r[4]), r[5])
               for r in conn.execute(sa.select(*cols, status))}
    b = balance.c
    lots = []
    for d1, d2, d3, oh, res, qua in conn.execute(
            sa.select(b.d1, b.d2, b.d3, b.on_hand, b.reserved, b.quarantine)
            .where(b.app == rt.name, b.ledger == lg.name, b.d3.is_not(None)).order_by(b.key)):
        if not (str(d1).isdigit() and str(d2).isdigit() and str(d3).isdigit()):
            continue
        info = batches.get(int(d3))
        if info is None:
            continue
        _item, no, produced, expiry, quality = info
        whole = int(lg.to_qty(int(oh)))
        held = -int(-lg.to_qty(int(res)) // 1)  # a part-unit reservation holds a whole unit here
        lots.append(Lot(int(d1), int(d2), str(no), produced, expiry, on_hand=whole, reserved=held,
                        quarantine=int(lg.to_qty(int(qua))), released=(quality or _RELEASED) == _RELEASED,
                        id=int(d3)))
    return lots, _shelf_lives(conn, rt, batches)


def write_lots(jimu: Any, conn: Connection, rt: Any, lots: list[Lot]) -> int:
    """Insert the batch records of ``lots`` (in their order: ids ascend as ``seq`` does),
    created when their receipt was posted; sets ``lot.id``."""
    docs = []
    for lot in lots:
        assert lot.received is not None
        docs.append(NewDoc({"item": lot.item, "batch_no": lot.batch_no, "production_date": lot.production,
                            "expiry_date": lot.expiry, "quality_status": _RELEASED},
                           lot.received, lot.received, "warehouse", "warehouse"))
    insert_docs(jimu, conn, rt, "batch", docs)
    for lot, d in zip(lots, docs, strict=True):
        lot.id = d.id
    return len(docs)


def qty_text(n: Any, scale: int) -> str:
    return str(Decimal(n).quantize(Decimal(1).scaleb(-scale)))


def sales_line_batch(o: SalesOrder, ln: Line, scale: int) -> dict[str, Any]:
    """``batch`` (the one batch a line took, else empty) and ``allocations`` (the batches
    still held or shipped; empty once a cancel or reject gave them back)."""
    ids = [lot.id for lot, _ in ln.alloc]
    given_back = o.shipped is None and (o.cancelled is not None or o.rejected is not None)
    return {"batch": ids[0] if len(ids) == 1 else None,
            "allocations": [] if given_back else [{"batch": lot.id, "qty": qty_text(q, scale)} for lot, q in ln.alloc]}


def purchase_line_batch(ln: Line) -> dict[str, Any]:
    """What the receiving clerk typed from the supplier's label: batch number, production
    and expiry dates (the batch record takes them)."""
    if not ln.alloc:
        return {}
    lot = ln.alloc[0][0]
    return {"batch_no": lot.batch_no, "production_date": lot.production, "expiry_date": lot.expiry}

"""Stock on order: receipts against an order line drain it, a cancel gives back the rest.

A purchase order posts each line's quantity to ``on_order`` (posting kind ``on_order``)
when it is approved. What a document line still has on order is read from the movement
log (the sum of its ``d_on_order``), not kept in a second table, so it can never disagree
with the balances ``jimu ledger verify`` rebuilds. A receipt (``order_receipt``) takes at
most that from ``on_order`` and puts the whole received quantity on hand; an order that
never posted to ``on_order`` (approved before the bucket was filled) simply drains
nothing. :func:`release_on_order` gives back what is left when the order is cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.ledger.moves import Line, insert_movements, update_balances
from jimu.platform.ledger.spec import Doc, Ledger, LedgerLike, as_ledger, cost_to_units, dim_text
from jimu.platform.ledger.tables import balance, movement
from jimu.platform.ledger.valuation import Entry, revalue

if TYPE_CHECKING:
    from jimu.platform.ledger.postings import MoveLine, PostResult, _Ctx

__all__ = ["open_on_order", "order_receipt_handler", "release_on_order"]

_M, _B = movement.c, balance.c


def open_on_order(conn: Connection, app: str, ledger: LedgerLike, entity: str, doc_id: Any
                  ) -> dict[str | None, list[tuple[str, dict[str, Any], int]]]:
    """What each line of one document still has on order: ``{line id text: [(key, dims,
    units), ...]}`` (keys in sorted order; only positive rests)."""
    lg = as_ledger(ledger)
    rows = conn.execute(
        sa.select(_M.doc_line, _M.key, sa.func.sum(_M.d_on_order))
        .where(_M.app == app, _M.ledger == lg.name, _M.doc_entity == entity, _M.doc_id == dim_text(doc_id),
               _M.d_on_order != 0)
        .group_by(_M.doc_line, _M.key).order_by(_M.doc_line, _M.key)).all()
    rows = [r for r in rows if int(r[2]) > 0]
    if not rows:
        return {}
    keys = sorted({str(r[1]) for r in rows})
    dims = {str(k): dict(d) for k, d in conn.execute(
        sa.select(_B.key, _B.dims).where(_B.app == app, _B.ledger == lg.name, _B.key.in_(keys)))}
    out: dict[str | None, list[tuple[str, dict[str, Any], int]]] = {}
    for line, key, units in rows:
        out.setdefault(line, []).append((str(key), dims.get(str(key), {}), int(units)))
    return out


def order_receipt_handler(conn: Connection, lg: Ledger, lines: Sequence[MoveLine], ctx: _Ctx) -> PostResult:
    """+on_hand per line and -on_order by what that document line still has on order (at
    most the received quantity). Movement rows are of kind ``receipt``."""
    from jimu.platform.ledger.postings import PostResult, _doc, _qty

    doc = ctx.doc
    open_ = open_on_order(conn, ctx.app, lg, str(doc.entity), doc.id) if doc and doc.entity else {}
    left: dict[str | None, list[list[Any]]] = {
        line: [[key, dims, units] for key, dims, units in parts] for line, parts in open_.items()}
    out: list[Line] = []
    received: list[Line] = []
    for i, ml in enumerate(lines):
        q = _qty(lg, ml, i)
        dims = lg.dims(ml.dims)
        key = lg.key(dims)
        cost = cost_to_units(ml.unit_cost) if ml.unit_cost is not None else None
        here = Line(dims, {"on_hand": q}, "receipt", _doc(ctx, ml), ctx.reason, unit_cost=cost, index=i,
                    requested=q, key=key)
        want = q
        for part in left.get(dim_text(ml.line), []):
            take = min(want, int(part[2]))
            if take <= 0:
                continue
            part[2] = int(part[2]) - take
            want -= take
            if part[0] == key:
                here.changes["on_order"] = here.changes.get("on_order", 0) - take
            else:
                out.append(Line(part[1], {"on_order": -take}, "receipt", _doc(ctx, ml), ctx.reason, index=i,
                                requested=take, key=str(part[0])))
        out.append(here)
        received.append(here)
    update_balances(conn, lg, ctx.app, out, at=ctx.now)
    entries: list[Entry] = [(ln.dims, ln.changes["on_hand"], ln.unit_cost) for ln in received]
    for ln, used in zip(received, revalue(conn, lg, ctx.app, entries), strict=True):
        ln.unit_cost = used
    return PostResult(insert_movements(conn, lg.name, ctx.app, out, user=ctx.user, at=ctx.now))


def release_on_order(conn: Connection, app: str, ledger: LedgerLike, entity: str, doc_id: Any, *,
                     user: str | None = None, reason: str | None = None, transition: str | None = None) -> list[int]:
    """Give back what every line of one document still has on order (a cancelled purchase
    order, also after a partial receipt); returns the movement ids (none when nothing is
    left)."""
    from jimu.core import clock

    lg = as_ledger(ledger)
    out = [Line(dims, {"on_order": -units}, "on_order", Doc(entity, doc_id, line, transition), reason,
                requested=units, key=key)
           for line, parts in open_on_order(conn, app, lg, entity, doc_id).items()
           for key, dims, units in parts]
    if not out:
        return []
    now = clock.now()
    update_balances(conn, lg, app, out, at=now)
    return insert_movements(conn, lg.name, app, out, user=user, at=now)

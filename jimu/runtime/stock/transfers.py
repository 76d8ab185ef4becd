"""Two-sided transfers (调拨) with discrepancy documents.

The source scans the goods out (:func:`transfer_send`: ``-on_hand +in_transit`` at the
source, consuming a reservation if given); the target scans them in
(:func:`transfer_receive`): ``+on_hand`` at the target for what actually arrived and
``-in_transit`` at the source for everything that was sent. When the two counts differ
the difference is never adjusted away silently: a discrepancy row (transfer, item, sent,
received, difference, state ``open``, who/when) is written, and the part that did not
arrive leaves ``in_transit`` through a ``transfer_short`` movement pointing at it.
:func:`resolve_discrepancy` closes it with a reason and, when goods are booked (a
shortfall found later, a surplus accepted), posts an ``adjust`` at the target with that
reason. Everything runs in the caller's write transaction, and every batch of movements
sends one ``ledger.moved`` event in it.

A ``stock_transfer`` document (stock unit 1.2) lists its items in ``lines``
(``stock_transfer_line``: item, qty, received_qty, batch where batches are tracked):
:func:`ship_transfer` sends every line in one guarded posting (all or nothing, a short
line named in the 409), :func:`receive_transfer` scans each line in with its own received
quantity (the ``receipts`` input, default what was sent) and opens a discrepancy per line
that differs. A document without lines is a single-item transfer of the older unit (item,
qty, received_qty on the document) and still ships and receives as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import Conflict, FieldError, NotFound, ValidationError
from jimu.platform.ledger import Doc, Ledger, MoveLine, adjust, post
from jimu.platform.ledger.moves import Line, apply_lines
from jimu.platform.ledger.spec import dim_text
from jimu.platform.ledger.tables import movement
from jimu.runtime.stock.common import User, actor_of, emit_moved, username
from jimu.runtime.stock.tables import discrepancy, ensure_tables

__all__ = ["TRANSFER_ENTITY", "discrepancies", "receive_transfer", "resolve_discrepancy", "ship_transfer",
           "transfer_receive", "transfer_send"]

TRANSFER_ENTITY = "stock_transfer"
_D = discrepancy.c


def transfer_send(conn: Connection, app: str, lg: Ledger, transfer: Any, source: Mapping[str, Any], qty: Any, *,
                  line: Any = None, reservation: int | None = None, user: User = None,
                  entity: str = TRANSFER_ENTITY) -> int:
    """The source scans out ``qty``: ``-on_hand +in_transit`` at ``source`` (StockConflict
    when not available). Returns the movement id."""
    res = post(conn, app, lg, "transfer_out", [MoveLine(source, qty, line=line, reservation=reservation)],
               doc=Doc(entity, transfer, line, "send"), user=username(user))
    emit_moved(conn, app, lg, res.movements, user)
    return res.movements[-1]


def transfer_receive(conn: Connection, app: str, lg: Ledger, transfer: Any, source: Mapping[str, Any],
                     target: Mapping[str, Any], sent_qty: Any, received_qty: Any, *, line: Any = None,
                     user: User = None, entity: str = TRANSFER_ENTITY,
                     now: datetime | None = None) -> dict[str, Any]:
    """The target scans in ``received_qty`` of the ``sent_qty`` that left ``source``:
    ``-in_transit`` (all that was sent) at the source, ``+on_hand`` at ``target`` for what
    arrived (at most what was sent; a surplus waits on the discrepancy). Returns
    ``{"movements": [ids], "discrepancy": id | None}``."""
    ensure_tables(conn)
    at = now or clock.now()
    sent, received = lg.to_units(sent_qty, "sent_qty"), lg.to_units(received_qty, "received_qty")
    if sent <= 0 or received < 0:
        raise ValidationError("sent_qty must be positive and received_qty not negative", errors=[
            FieldError(name, "range", msg) for name, bad, msg in (
                ("sent_qty", sent <= 0, "must be positive"), ("received_qty", received < 0, "must not be negative"))
            if bad])
    who = username(user)
    doc = Doc(entity, transfer, line, "receive")
    moved: list[int] = []
    arrived = min(sent, received)
    if arrived:
        moved += post(conn, app, lg, "transfer_in", [MoveLine(source, lg.to_qty(arrived), line=line, to=target)],
                      doc=doc, user=who, at=at).movements
    if sent == received:
        emit_moved(conn, app, lg, moved, user)
        return {"movements": moved, "discrepancy": None}
    src, dst = lg.dims(source), lg.dims(target)
    did = int(conn.execute(discrepancy.insert().values(
        app=app, ledger=lg.name, transfer_entity=entity, transfer_id=dim_text(transfer), line=dim_text(line),
        source=src, target=dst, item=dim_text(dst.get("item")), sent=sent, received=received,
        difference=received - sent, state="open", created_by=who, created_at=at,
    ).returning(_D.id)).scalar_one())
    if sent > received:
        short = sent - received
        moved += apply_lines(conn, lg, app, [Line(src, {"in_transit": -short}, "transfer_short", doc,
                                                   f"transfer discrepancy #{did}: {lg.to_qty(short)} not received",
                                                   index=0, requested=short)], user=who, at=at)
    emit_moved(conn, app, lg, moved, user)
    return {"movements": moved, "discrepancy": did}


def _line_dims(lg: Ledger, line: Mapping[str, Any], warehouse: Any) -> dict[str, Any]:
    dims: dict[str, Any] = {"item": line.get("item"), "warehouse": warehouse}
    if "batch" in lg.dimensions and line.get("batch") is not None:
        dims["batch"] = line["batch"]
    return dims


def ship_transfer(conn: Connection, app: str, lg: Ledger, doc: Mapping[str, Any], *, user: User = None,
                  entity: str = TRANSFER_ENTITY, rt: Any = None) -> list[int]:
    """Send every line of transfer ``doc`` from its ``from_warehouse`` (one guarded posting:
    409 StockConflict naming each short line, nothing moved). Where the ledger tracks
    batches (``rt`` given), a line without a batch takes them first-expiry-first-out; a
    typed batch is 409 when quarantined, expired or short (``batch.*``). Returns the
    movement ids."""
    lines = list(doc.get("lines") or [])
    if not lines:  # a single-item transfer of the older stock unit
        return [transfer_send(conn, app, lg, doc["id"], {"item": doc.get("item"), "warehouse": doc.get("from_warehouse")},
                              doc.get("qty"), user=user, entity=entity)]
    moves = []
    for ln in lines:
        dims = _line_dims(lg, ln, doc.get("from_warehouse"))
        parts = [(dims, ln.get("qty"))]
        if rt is not None and "batch" in lg.dimensions:  # FEFO, or a typed batch checked (pinned)
            from jimu.runtime.workflow.batches import fefo_split

            parts = fefo_split(conn, rt, rt.spec.ledger(lg.name), {"expiry_field": "expiry_date"}, dims, ln.get("qty"))
        moves += [MoveLine(d, q, line=ln.get("id")) for d, q in parts]
    res = post(conn, app, lg, "transfer_out", moves, doc=Doc(entity, doc["id"], None, "send"), user=username(user))
    emit_moved(conn, app, lg, res.movements, user)
    return res.movements


def _receipts(lg: Ledger, lines: list[Mapping[str, Any]], given: Any) -> dict[str, Any]:
    """line id -> the received quantity given for it (422 for unknown lines or bad numbers)."""
    if given in (None, "", []):
        return {}
    if not isinstance(given, list):
        raise ValidationError("receipts: a list of {line, received_qty}",
                              errors=[FieldError("receipts", "type", "应为 [{line, received_qty}] 列表 / expected "
                                                                     "[{line, received_qty}]")])
    ids = {dim_text(ln.get("id")) for ln in lines}
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for i, r in enumerate(given):
        line = dim_text(r.get("line")) if isinstance(r, Mapping) else None
        if line not in ids:
            errors.append(FieldError(f"receipts.{i}.line", "unknown",
                                     f"{line} 不是本调拨单的明细 / {line!r} is not a line of this transfer"))
            continue
        try:
            units = lg.to_units(r.get("received_qty"), f"receipts.{i}.received_qty")
        except (ValidationError, ValueError, TypeError, ArithmeticError):
            units = -1
        if units < 0:
            errors.append(FieldError(f"receipts.{i}.received_qty", "range",
                                     "实收数量应为不小于 0 的数 / a quantity, not negative"))
            continue
        out[str(line)] = lg.to_qty(units)
    if errors:
        raise ValidationError("receipts: " + "; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return out


def _sent_parts(conn: Connection, app: str, lg: Ledger, entity: str, doc_id: Any
                ) -> dict[str, list[tuple[dict[str, Any], int]]]:
    """line id -> [(source dims, units sent)] from the transfer's ``transfer_out``
    movements, in the order they were sent (a batch-tracked line may have left as several
    batches; they arrive as the same batches)."""
    m = movement.c
    rows = conn.execute(sa.select(m.doc_line, m.dims, m.d_in_transit).where(
        m.app == app, m.ledger == lg.name, m.doc_entity == entity, m.doc_id == dim_text(doc_id),
        m.kind == "transfer_out").order_by(m.id))
    out: dict[str, list[tuple[dict[str, Any], int]]] = {}
    for line, dims, units in rows:
        if line is not None and units:
            out.setdefault(str(line), []).append((lg.dims(dims or {}), int(units)))
    return out


def _spread(received: int, sent: list[int]) -> list[int]:
    """What arrived of each part sent, filled in order; a shortfall lands on the last
    parts, a surplus on the last one."""
    out, left = [], received
    for i, units in enumerate(sent):
        take = left if i == len(sent) - 1 else min(left, units)
        out.append(take)
        left -= take
    return out


def receive_transfer(jimu: Any, conn: Connection, app: str, lg: Ledger, doc: Mapping[str, Any], *,
                     user: User = None, entity: str = TRANSFER_ENTITY, lines_field: str = "lines") -> dict[str, Any]:
    """Scan in every line of transfer ``doc`` at its ``to_warehouse``: each line's received
    quantity is its entry in ``doc["receipts"]`` (the transition's input), else its own
    ``received_qty``, else its qty; a line that differs opens its own discrepancy. Writes
    each line's ``received_qty`` (into the document's child table ``lines_field``: another
    document shaped as a transfer, e.g. a store requisition's issued batches, names its
    own). Returns ``{"movements", "discrepancies"}``."""
    lines = list(doc.get("lines") or [])
    src_wh, dst_wh = doc.get("from_warehouse"), doc.get("to_warehouse")
    if not lines:  # a single-item transfer of the older stock unit
        got = doc.get("received_qty")
        one = transfer_receive(conn, app, lg, doc["id"], {"item": doc.get("item"), "warehouse": src_wh},
                               {"item": doc.get("item"), "warehouse": dst_wh}, doc.get("qty"),
                               doc.get("qty") if got is None else got, user=user, entity=entity)
        return {"movements": one["movements"], "discrepancies": [d for d in [one["discrepancy"]] if d is not None]}
    given = _receipts(lg, lines, doc.get("receipts"))
    sent = _sent_parts(conn, app, lg, entity, doc["id"])
    moved: list[int] = []
    opened: list[int] = []
    rows = []
    for ln in lines:
        key = dim_text(ln.get("id")) or ""
        got = given.get(key, ln.get("received_qty"))
        got = ln.get("qty") if got is None else got
        parts = sent.get(key) or [(_line_dims(lg, ln, src_wh), lg.to_units(ln.get("qty")))]
        for (src, units), arrived in zip(parts, _spread(lg.to_units(got), [u for _, u in parts]), strict=True):
            dst = {**src, "warehouse": dst_wh}
            out = transfer_receive(conn, app, lg, doc["id"], src, dst, lg.to_qty(units), lg.to_qty(arrived),
                                   line=ln.get("id"), user=user, entity=entity)
            moved += out["movements"]
            if out["discrepancy"] is not None:
                opened.append(out["discrepancy"])
        rows.append({"id": ln.get("id"), "received_qty": got})
    jimu.records.update(app, entity, doc["id"], {lines_field: rows}, actor=actor_of(user), conn=conn,
                        _allow_state=True, _extra={"document": f"{entity}:{doc['id']}"})
    return {"movements": moved, "discrepancies": opened}


def resolve_discrepancy(conn: Connection, app: str, lg: Ledger, discrepancy_id: int, *, reason: str,
                        book: Any = None, user: User = None, now: datetime | None = None) -> dict[str, Any]:
    """Close an open discrepancy with a ``reason``. ``book`` is the signed quantity to post
    to the target's on_hand as an ``adjust`` with that reason: by default nothing for a
    shortfall (the loss stands; pass the quantity found later to book it) and the surplus
    for an over-receipt (pass 0 when it was sent back). Returns the discrepancy."""
    ensure_tables(conn)
    if not (reason and reason.strip()):
        raise ValidationError("a discrepancy is resolved with a reason",
                              errors=[FieldError("reason", "required", "say why the difference is closed")])
    at = now or clock.now()
    sel = sa.select(discrepancy).where(_D.id == discrepancy_id, _D.app == app, _D.ledger == lg.name)
    if conn.dialect.name == "postgresql":
        sel = sel.with_for_update()
    row = conn.execute(sel).first()
    if row is None:
        raise NotFound(f"discrepancy {discrepancy_id} not found")
    if row.state != "open":
        raise Conflict(f"discrepancy {discrepancy_id} is already {row.state}")
    diff = int(row.difference)
    units = lg.to_units(book, "book") if book is not None else max(diff, 0)
    if not 0 <= units <= abs(diff):
        what = "shortfall" if diff < 0 else "surplus"
        msg = f"a {what} of {lg.to_qty(abs(diff))} can book 0..{lg.to_qty(abs(diff))}"
        raise ValidationError(f"book: {msg}", errors=[FieldError("book", "range", msg)])
    movement_id = None
    if units:
        movement_id = adjust(conn, app, lg, row.target, lg.to_qty(units),
                             reason=f"transfer discrepancy #{row.id}: {reason}",
                             doc=Doc(row.transfer_entity, row.transfer_id, row.line, "resolve"), user=username(user))
        emit_moved(conn, app, lg, [movement_id], user)
    conn.execute(sa.update(discrepancy).where(_D.id == row.id, _D.state == "open").values(
        state="resolved", resolved_by=username(user), resolved_at=at, resolution=reason, booked=units,
        movement_id=movement_id))
    return discrepancies(conn, app, lg, id=row.id)[0]


def discrepancies(conn: Connection, app: str, lg: Ledger, *, transfer: Any = None, state: str | None = None,
                  id: int | None = None, entity: str = TRANSFER_ENTITY) -> list[dict[str, Any]]:
    """Discrepancy rows, oldest first, quantities as Decimal (``difference`` = received - sent)."""
    ensure_tables(conn)
    sel = sa.select(discrepancy).where(_D.app == app, _D.ledger == lg.name).order_by(_D.id)
    if id is not None:
        sel = sel.where(_D.id == id)
    if transfer is not None:
        sel = sel.where(_D.transfer_entity == entity, _D.transfer_id == dim_text(transfer))
    if state is not None:
        sel = sel.where(_D.state == state)
    return [{"id": int(r.id), "transfer": {"entity": r.transfer_entity, "id": r.transfer_id, "line": r.line},
             "item": r.item, "source": r.source, "target": r.target, "sent": lg.to_qty(r.sent),
             "received": lg.to_qty(r.received), "difference": lg.to_qty(r.difference), "state": r.state,
             "created_by": r.created_by, "created_at": r.created_at, "resolved_by": r.resolved_by,
             "resolved_at": r.resolved_at, "resolution": r.resolution,
             "booked": lg.to_qty(r.booked) if r.booked is not None else None, "movement": r.movement_id}
            for r in conn.execute(sel)]

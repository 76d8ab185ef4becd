"""Reservations: stock held for a document, with an optional time to live.

An unpaid online order holds stock for ``ttl`` (30 minutes), a deposit order until it is
cancelled (no ``expires_at``); payment converts a reservation with
:func:`confirm_reservation`. Expiry is lazy: reads of balances discount due reservations,
a guarded move that fails releases the due ones of its key and retries, and the scheduler
sweeps with :func:`sweep_expired`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from jimu.core import clock
from jimu.core.errors import Conflict, NotFound, ValidationError
from jimu.platform.db import Database
from jimu.platform.ledger import rawsql
from jimu.platform.ledger.moves import Line, expire_key, insert_movements, update_balances
from jimu.platform.ledger.spec import Doc, Ledger, LedgerLike, as_ledger, dim_text
from jimu.platform.ledger.tables import reservation
from jimu.platform.wakeup import notify

if TYPE_CHECKING:
    from jimu.platform.ledger.postings import MoveLine, PostResult, _Ctx

__all__ = [
    "reserve", "release", "release_document", "confirm_reservation", "expire_due",
    "sweep_expired", "get_reservations",
]

_R = reservation.c
_RES_MANY = reservation.insert().returning(_R.id, sort_by_parameter_order=True)
DEFAULT_TTL = timedelta(minutes=30)
_NO_DOC = Doc()


def is_due(r: Row[Any], now: datetime) -> bool:
    """An active reservation whose expiry time has passed."""
    return r.state == "active" and r.expires_at is not None and r.expires_at <= now


def lock_reservations(conn: Connection, app: str, ledger: str, ids: Sequence[int]) -> dict[int, Row[Any]]:
    """Read (and on PostgreSQL lock, in key order) the reservations ``ids``."""
    if not ids:
        return {}
    sel = sa.select(reservation).where(_R.id.in_(list(ids))).order_by(_R.key, _R.id)
    if conn.dialect.name == "postgresql":
        sel = sel.with_for_update()
    rows = {int(r.id): r for r in conn.execute(sel)}
    for rid in ids:
        r = rows.get(rid)
        if r is None or r.app != app or r.ledger != ledger:
            raise NotFound(f"reservation {rid} not found in ledger {ledger}")
    return rows


def check_dims(lg: Ledger, r: Row[Any], dims: Mapping[str, Any], index: int) -> dict[str, Any]:
    """The reservation's dimensions; ``dims`` given on the line must name the same row."""
    if dims and lg.key(dims) != r.key:
        raise ValidationError(f"lines.{index}: reservation {r.id} is for {lg.describe(r.dims)}")
    if r.state in ("released", "consumed"):
        raise Conflict(f"reservation {r.id} is already {r.state}")
    return dict(r.dims)


def expire_line(r: Row[Any], index: int) -> Line:
    """The movement line releasing a due reservation."""
    return Line(dict(r.dims), {"reserved": -int(r.open_qty)}, "expire",
                Doc(r.doc_entity, r.doc_id, r.doc_line), "reservation expired", int(r.id),
                index=index, key=str(r.key))


def close_reservations(conn: Connection, held: Mapping[int, Row[Any]], taken: Mapping[int, int],
                       now: datetime) -> None:
    """Write back consumed/released quantities; due ones become expired."""
    updates: list[tuple[int, int, str | None, datetime | None]] = []
    for rid, r in held.items():
        if is_due(r, now):
            updates.append((rid, 0, "expired", now))
        elif taken.get(rid):
            left = int(r.open_qty) - taken[rid]
            updates.append((rid, left, "consumed", now) if left == 0 else (rid, left, None, None))
    write_reservations(conn, updates)


_PG_WRITE = ("UPDATE jimu_ledger_reservation AS t SET open_qty = v.o, state = COALESCE(v.s, t.state), "
             "closed_at = COALESCE(v.c, t.closed_at) FROM unnest(CAST(%(i)s AS bigint[]), CAST(%(o)s AS bigint[]), "
             "CAST(%(s)s AS text[]), CAST(%(c)s AS timestamptz[])) AS v(i, o, s, c) WHERE t.id = v.i")
_SQLITE_CHUNK = 2000


def write_reservations(conn: Connection, updates: Sequence[tuple[int, int, str | None, datetime | None]]) -> None:
    """Write ``(id, open_qty, new state or None, closed_at or None)`` of many reservations
    in one statement (PostgreSQL: arrays; SQLite: a VALUES list per chunk), not one each:
    a shipment consuming a reservation per line paid a round trip per line."""
    if not updates:
        return
    cur = rawsql.cursor(conn)
    try:
        if conn.dialect.name == "postgresql":
            rawsql.execute_planned(cur, _PG_WRITE, {"i": [u[0] for u in updates], "o": [u[1] for u in updates],
                                    "s": [u[2] for u in updates], "c": [rawsql.ts("postgresql", u[3]) for u in updates]})
            return
        for start in range(0, len(updates), _SQLITE_CHUNK):
            part = updates[start:start + _SQLITE_CHUNK]
            values = ", ".join(["(?, ?, ?, ?)"] * len(part))
            cur.execute(f"WITH v(i, o, s, c) AS (VALUES {values}) UPDATE jimu_ledger_reservation AS t "
                        "SET open_qty = v.o, state = COALESCE(v.s, t.state), closed_at = COALESCE(v.c, t.closed_at) "
                        "FROM v WHERE t.id = v.i",
                        [x for u in part for x in (u[0], u[1], u[2], None if u[3] is None else rawsql.ts_sqlite(u[3]))])
    finally:
        cur.close()


def reserve_handler(conn: Connection, lg: Ledger, lines: Sequence[MoveLine], ctx: _Ctx) -> PostResult:
    """+reserved per line, guarded by available; creates one reservation per line."""
    from jimu.platform.ledger.postings import PostResult, _doc, _qty

    expires = ctx.now + ctx.ttl if ctx.ttl is not None else None
    if expires is not None:
        notify(conn, "due")  # the scheduler's sweep sleeps until the earliest expiry
    if len(lines) == 1:
        # The hot path (one order line on a hot item): one statement on PostgreSQL, three
        # driver-level statements on SQLite; anything unusual falls through unchanged.
        ml = lines[0]
        dims = lg.dims(ml.dims)
        q = _qty(lg, ml, 0)
        key, dims_json = lg.key_texts(dims)
        hot_doc = _doc(ctx, ml)
        done = rawsql.reserve_one(
            conn, ctx.app, lg.name, key, dims_json, q, allow_negative=lg.allow_negative,
            doc=(hot_doc or _NO_DOC).columns(), transition=hot_doc.transition if hot_doc else None,
            reason=ctx.reason, user=ctx.user, at=ctx.now, expires_at=expires)
        if done is not None:
            return PostResult([done[1]], [done[0]])
        out = [Line(dims, {"reserved": q}, "reserve", hot_doc, ctx.reason, index=0, requested=q, key=key)]
    else:
        out = [Line(lg.dims(ml.dims), {"reserved": (q := _qty(lg, ml, i))}, "reserve", _doc(ctx, ml),
                    ctx.reason, index=i, requested=q) for i, ml in enumerate(lines)]
    update_balances(conn, lg, ctx.app, out, at=ctx.now)
    rows = []
    for ln in out:
        doc = (ln.doc or Doc()).columns()
        rows.append({"app": ctx.app, "ledger": lg.name, "key": ln.key, "dims": dict(ln.dims),
                     "qty": ln.changes["reserved"], "open_qty": ln.changes["reserved"], "state": "active",
                     "created_at": ctx.now, "created_by": ctx.user, "expires_at": expires, **doc})
    if len(rows) == 1:
        ids = [rawsql.insert_reservation(conn, rows[0])]
    else:
        ids = [int(x) for x in conn.execute(_RES_MANY, rows).scalars()]
    for ln, rid in zip(out, ids, strict=True):
        ln.reservation_id = rid
    return PostResult(insert_movements(conn, lg.name, ctx.app, out, user=ctx.user, at=ctx.now), ids)


def release_handler(conn: Connection, lg: Ledger, lines: Sequence[MoveLine], ctx: _Ctx) -> PostResult:
    """-reserved: gives back the open quantity of each line's reservation (or ``qty`` of it)."""
    from jimu.platform.ledger.postings import PostResult, _doc

    ids = []
    for i, ml in enumerate(lines):
        if ml.reservation is None:
            raise ValidationError(f"lines.{i}.reservation is required to release")
        ids.append(ml.reservation)
    held = lock_reservations(conn, ctx.app, lg.name, ids)
    out: list[Line] = []
    taken: dict[int, int] = {}
    for i, ml in enumerate(lines):
        assert ml.reservation is not None
        r = held[ml.reservation]
        dims = check_dims(lg, r, lg.dims(ml.dims) if ml.dims else {}, i)
        if r.state != "active":
            continue  # already expired: nothing left to give back
        open_left = int(r.open_qty) - taken.get(r.id, 0)
        q = min(lg.to_units(ml.qty), open_left) if ml.qty is not None else open_left
        if q <= 0:
            continue
        taken[r.id] = taken.get(r.id, 0) + q
        doc = _doc(ctx, ml) or Doc(r.doc_entity, r.doc_id, r.doc_line)
        out.append(Line(dims, {"reserved": -q}, "release", doc, ctx.reason, r.id, index=i, requested=q))
    update_balances(conn, lg, ctx.app, out, at=ctx.now)
    write_reservations(conn, [
        (rid, left, "released", ctx.now) if (left := int(held[rid].open_qty) - q) == 0 else (rid, left, None, None)
        for rid, q in taken.items()])
    return PostResult(insert_movements(conn, lg.name, ctx.app, out, user=ctx.user, at=ctx.now))


def reserve(conn: Connection, app: str, ledger: LedgerLike, dims: Mapping[str, Any], qty: Any, *,
            ttl: timedelta | None = None, doc: Doc | None = None, user: str | None = None) -> int:
    """Hold ``qty`` (+reserved, guarded by available); returns the reservation id. With
    ``ttl`` the hold expires (unpaid online orders: ``timedelta(minutes=30)``); without it
    it lasts until released or consumed (deposit orders). Raises StockConflict."""
    from jimu.platform.ledger.postings import MoveLine, post

    return post(conn, app, ledger, "reserve", [MoveLine(dims, qty)], doc=doc, user=user, ttl=ttl).reservations[0]


def release(conn: Connection, app: str, ledger: LedgerLike, reservation_id: int, qty: Any = None, *,
            user: str | None = None, reason: str | None = None) -> list[int]:
    """Give back ``qty`` (default: all that is still open) of a reservation; returns the
    movement ids (none when it had already expired)."""
    from jimu.platform.ledger.postings import MoveLine, post

    line = MoveLine({}, qty, reservation=reservation_id)
    return post(conn, app, ledger, "release", [line], user=user, reason=reason).movements


def release_document(conn: Connection, app: str, ledger: LedgerLike, entity: str, doc_id: Any, *,
                     user: str | None = None, reason: str | None = None) -> list[int]:
    """Release every active reservation of one document (a cancelled order); returns the
    movement ids."""
    from jimu.platform.ledger.postings import MoveLine, post

    lg = as_ledger(ledger)
    ids = conn.execute(sa.select(_R.id).where(
        _R.app == app, _R.ledger == lg.name, _R.doc_entity == entity, _R.doc_id == dim_text(doc_id),
        _R.state == "active").order_by(_R.key, _R.id)).scalars().all()
    lines = [MoveLine({}, None, reservation=int(i)) for i in ids]
    return post(conn, app, lg, "release", lines, user=user, reason=reason).movements


def confirm_reservation(conn: Connection, app: str, reservation_id: int, *, now: datetime | None = None) -> None:
    """Payment received: the reservation no longer expires. Refuses (Conflict) one that is
    no longer active or whose time has already run out."""
    at = now or clock.now()
    cur = conn.execute(
        sa.update(reservation).where(
            _R.id == reservation_id, _R.app == app, _R.state == "active",
            sa.or_(_R.expires_at.is_(None), _R.expires_at > at),
        ).values(expires_at=None)
    )
    if cur.rowcount != 1:
        raise Conflict(f"reservation {reservation_id} is no longer active (expired, released or consumed)")


def expire_due(conn: Connection, app: str | None = None, now: datetime | None = None, *,
               ledger: str | None = None, limit: int | None = None) -> int:
    """Release the active reservations whose time has run out (of ``app``, or all apps);
    returns how many expired. Keys are processed in sorted order."""
    at = now or clock.now()
    sel = sa.select(_R.app, _R.ledger, _R.key).where(
        _R.state == "active", _R.expires_at.is_not(None), _R.expires_at <= at)
    if app is not None:
        sel = sel.where(_R.app == app)
    if ledger is not None:
        sel = sel.where(_R.ledger == ledger)
    targets = sorted({(r.app, r.ledger, r.key) for r in conn.execute(sel.limit(limit))})
    return sum(expire_key(conn, a, lname, key, at) for a, lname, key in targets)


def sweep_expired(db: Database, now: datetime | None = None, *, batch: int = 200) -> int:
    """The scheduler's sweep: expire due reservations of every app in short write
    transactions of at most ``batch`` keys; returns how many expired."""
    total = 0
    while True:
        with db.write() as conn:
            n = expire_due(conn, None, now, limit=batch)
        total += n
        if n == 0:
            return total


def get_reservations(conn: Connection, app: str, ledger: LedgerLike, *, entity: str | None = None,
                     doc_id: Any = None, state: str | None = None) -> list[dict[str, Any]]:
    """Reservations of a ledger (optionally of one document / in one state), oldest first:
    ``{"id", "dims", "qty", "open_qty", "state", "document", "created_at", "expires_at"}``."""
    lg = as_ledger(ledger)
    sel = sa.select(reservation).where(_R.app == app, _R.ledger == lg.name).order_by(_R.id)
    if entity is not None:
        sel = sel.where(_R.doc_entity == entity)
    if doc_id is not None:
        sel = sel.where(_R.doc_id == dim_text(doc_id))
    if state is not None:
        sel = sel.where(_R.state == state)
    return [
        {"id": int(r.id), "dims": r.dims, "qty": lg.to_qty(r.qty), "open_qty": lg.to_qty(r.open_qty),
         "state": r.state, "document": {"entity": r.doc_entity, "id": r.doc_id, "line": r.doc_line},
         "created_at": r.created_at, "created_by": r.created_by, "expires_at": r.expires_at}
        for r in conn.execute(sel)
    ]

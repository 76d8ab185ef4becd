"""Posting kinds: receipt, reserve, release, ship, transfers, adjust, quarantine, on_order,
order_receipt.

:func:`post` is what the runtime calls for a document transition: one kind, the document's
lines, all in the caller's write transaction. The single-line helpers (:func:`receipt`,
:func:`ship`, ...) are thin wrappers for code and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import ValidationError
from jimu.platform.ledger import reservations as res
from jimu.platform.ledger.moves import Line, insert_movements, update_balances
from jimu.platform.ledger.ordered import order_receipt_handler
from jimu.platform.ledger.spec import Doc, Ledger, LedgerLike, as_ledger, cost_to_units
from jimu.platform.ledger.valuation import Entry, revalue

__all__ = [
    "MoveLine", "PostResult", "PostingKind", "POSTING_KINDS", "post",
    "receipt", "ship", "transfer_out", "transfer_in", "adjust", "quarantine", "on_order",
]


@dataclass(frozen=True)
class MoveLine:
    """One document line to post: dimensions, quantity, and what the kind needs.

    ``reservation`` is consumed by ship/transfer_out and released by release (then ``dims``
    may be empty: the reservation's are used); ``to`` is the target of a transfer_in;
    ``line`` the document line id (kept on the movement and the reservation)."""

    dims: Mapping[str, Any]
    qty: Any = None
    line: Any = None
    unit_cost: Any = None
    reservation: int | None = None
    to: Mapping[str, Any] | None = None


@dataclass
class PostResult:
    """Movement ids written, and the reservation ids a reserve created."""

    movements: list[int] = field(default_factory=list)
    reservations: list[int] = field(default_factory=list)


@dataclass
class _Ctx:
    app: str
    doc: Doc | None
    user: str | None
    reason: str | None
    ttl: timedelta | None
    now: datetime


Handler = Callable[[Connection, Ledger, Sequence[MoveLine], _Ctx], PostResult]


@dataclass(frozen=True)
class PostingKind:
    """A posting kind as exposed through the ``jimu_ledger_posting_kinds`` hook."""

    name: str
    description: str
    buckets: dict[str, str]
    handler: Handler


def _doc(ctx: _Ctx, ml: MoveLine) -> Doc | None:
    if ctx.doc is None and ml.line is None:
        return None
    base = ctx.doc or Doc()
    return Doc(base.entity, base.id, ml.line if ml.line is not None else base.line, base.transition)


def _qty(lg: Ledger, ml: MoveLine, i: int, *, signed: bool = False) -> int:
    if ml.qty is None:
        raise ValidationError(f"lines.{i}.qty is required")
    units = lg.to_units(ml.qty, f"lines.{i}.qty")
    if not signed and units <= 0:
        raise ValidationError(f"lines.{i}.qty must be positive, got {ml.qty}")
    if signed and units == 0:
        raise ValidationError(f"lines.{i}.qty must not be zero")
    return units


def _simple(kind: str, make: Callable[[int], dict[str, int]], *, signed: bool = False,
            valued_bucket: str | None = None, need_reason: bool = False) -> Handler:
    """A handler whose line changes are a fixed function of the quantity."""

    def handler(conn: Connection, lg: Ledger, lines: Sequence[MoveLine], ctx: _Ctx) -> PostResult:
        if need_reason and not (ctx.reason and ctx.reason.strip()):
            raise ValidationError(f"a {kind} needs a reason")
        out: list[Line] = []
        for i, ml in enumerate(lines):
            q = _qty(lg, ml, i, signed=signed)
            cost = cost_to_units(ml.unit_cost) if ml.unit_cost is not None else None
            out.append(Line(lg.dims(ml.dims), make(q), kind, _doc(ctx, ml), ctx.reason,
                            unit_cost=cost, index=i, requested=abs(q)))
        update_balances(conn, lg, ctx.app, out, at=ctx.now)
        if valued_bucket:
            entries: list[Entry] = [(ln.dims, ln.changes[valued_bucket], ln.unit_cost) for ln in out]
            for ln, used in zip(out, revalue(conn, lg, ctx.app, entries), strict=True):
                ln.unit_cost = used
        return PostResult(insert_movements(conn, lg.name, ctx.app, out, user=ctx.user, at=ctx.now))

    return handler


def _consuming(kind: str, extra: Callable[[int], dict[str, int]]) -> Handler:
    """ship / transfer_out: -on_hand (plus ``extra``), consuming a reservation if given."""

    def handler(conn: Connection, lg: Ledger, lines: Sequence[MoveLine], ctx: _Ctx) -> PostResult:
        ids = [ml.reservation for ml in lines if ml.reservation is not None]
        held = res.lock_reservations(conn, ctx.app, lg.name, ids)
        out: list[Line] = []
        consumed: dict[int, int] = {}
        for i, ml in enumerate(lines):
            q = _qty(lg, ml, i)
            taken = 0
            dims = lg.dims(ml.dims) if ml.dims else {}
            if ml.reservation is not None:
                r = held[ml.reservation]
                dims = res.check_dims(lg, r, dims, i)
                if res.is_due(r, ctx.now):
                    out.append(res.expire_line(r, i))
                else:
                    taken = min(q, int(r.open_qty) - consumed.get(r.id, 0))
                    consumed[r.id] = consumed.get(r.id, 0) + taken
            elif not dims:
                raise ValidationError(f"lines.{i}.dims are required")
            changes = {"on_hand": -q, **extra(q)}
            if taken:
                changes["reserved"] = -taken
            out.append(Line(dims, changes, kind, _doc(ctx, ml), ctx.reason, ml.reservation,
                            index=i, requested=q))
        update_balances(conn, lg, ctx.app, out, at=ctx.now)
        res.close_reservations(conn, held, consumed, ctx.now)
        moves = [ln for ln in out if ln.kind == kind]
        used = revalue(conn, lg, ctx.app, [(ln.dims, ln.changes["on_hand"], None) for ln in moves])
        for ln, cost in zip(moves, used, strict=True):
            ln.unit_cost = cost
        return PostResult(insert_movements(conn, lg.name, ctx.app, out, user=ctx.user, at=ctx.now))

    return handler


def _transfer_in(conn: Connection, lg: Ledger, lines: Sequence[MoveLine], ctx: _Ctx) -> PostResult:
    out: list[Line] = []
    entries: list[Entry] = []
    for i, ml in enumerate(lines):
        q = _qty(lg, ml, i)
        if ml.to is None:
            raise ValidationError(f"lines.{i}.to (the target dimensions) is required")
        src, dst = lg.dims(ml.dims), lg.dims(ml.to)
        doc = _doc(ctx, ml)
        out.append(Line(src, {"in_transit": -q}, "transfer_in", doc, ctx.reason, index=i, requested=q))
        out.append(Line(dst, {"on_hand": q}, "transfer_in", doc, ctx.reason, index=i, requested=q))
        # Goods arrive at the cost they left with (the source's average) unless told otherwise.
        entries.append((dst, q, cost_to_units(ml.unit_cost) if ml.unit_cost is not None else src))
    update_balances(conn, lg, ctx.app, out, at=ctx.now)
    for ln, cost in zip(out[1::2], revalue(conn, lg, ctx.app, entries), strict=True):
        ln.unit_cost = cost
    return PostResult(insert_movements(conn, lg.name, ctx.app, out, user=ctx.user, at=ctx.now))


POSTING_KINDS: dict[str, PostingKind] = {
    k.name: k
    for k in [
        PostingKind("receipt", "Goods received: +on_hand (a unit cost updates the moving average).",
                    {"on_hand": "+"}, _simple("receipt", lambda q: {"on_hand": q}, valued_bucket="on_hand")),
        PostingKind("reserve", "Hold stock for a document: +reserved, guarded by available.",
                    {"reserved": "+"}, res.reserve_handler),
        PostingKind("release", "Give a reservation back: -reserved.", {"reserved": "-"}, res.release_handler),
        PostingKind("ship", "Goods out: -on_hand, consuming the line's reservation (-reserved) if any.",
                    {"on_hand": "-", "reserved": "-"}, _consuming("ship", lambda q: {})),
        PostingKind("transfer_out", "Goods leave for another warehouse: -on_hand +in_transit at the source.",
                    {"on_hand": "-", "in_transit": "+"},
                    _consuming("transfer_out", lambda q: {"in_transit": q})),
        PostingKind("transfer_in", "Goods arrive: -in_transit at the source, +on_hand at the target.",
                    {"in_transit": "-", "on_hand": "+"}, _transfer_in),
        PostingKind("adjust", "Correction or opening balance: ±on_hand, with a reason.",
                    {"on_hand": "±"}, _simple("adjust", lambda q: {"on_hand": q}, signed=True,
                                             valued_bucket="on_hand", need_reason=True)),
        PostingKind("quarantine", "Block stock: on_hand -> quarantine (guarded by available).",
                    {"on_hand": "-", "quarantine": "+"},
                    _simple("quarantine", lambda q: {"on_hand": -q, "quarantine": q})),
        PostingKind("unquarantine", "Release blocked stock: quarantine -> on_hand.",
                    {"quarantine": "-", "on_hand": "+"},
                    _simple("unquarantine", lambda q: {"quarantine": -q, "on_hand": q})),
        PostingKind("scrap", "Write off blocked stock: -quarantine, with a reason.",
                    {"quarantine": "-"}, _simple("scrap", lambda q: {"quarantine": -q}, valued_bucket="quarantine",
                                                 need_reason=True)),
        PostingKind("on_order", "Purchase ordered (+) or received/cancelled (-): ±on_order.",
                    {"on_order": "±"}, _simple("on_order", lambda q: {"on_order": q}, signed=True)),
        PostingKind("order_receipt", "Goods received against an order line: +on_hand, and -on_order by what "
                    "that line still has on order (movements of kind receipt).",
                    {"on_hand": "+", "on_order": "-"}, order_receipt_handler),
    ]
}


def post(
    conn: Connection,
    app: str,
    ledger: LedgerLike,
    kind: str,
    lines: Sequence[MoveLine],
    *,
    doc: Doc | None = None,
    user: str | None = None,
    reason: str | None = None,
    ttl: timedelta | None = None,
    at: datetime | None = None,
) -> PostResult:
    """Post ``lines`` of one document with posting ``kind`` inside ``conn``'s transaction
    (open it with ``Database.write()``). Raises StockConflict (409, one FieldError per
    failing line, nothing applied) or ValidationError (422). ``ttl`` applies to reserve."""
    pk = POSTING_KINDS.get(kind)
    if pk is None:
        raise ValidationError(f"unknown posting kind {kind!r}; known: {sorted(POSTING_KINDS)}")
    if not lines:
        return PostResult()
    ctx = _Ctx(app, doc, user, reason, ttl, at or clock.now())
    return pk.handler(conn, as_ledger(ledger), list(lines), ctx)


def _one(conn: Connection, app: str, ledger: LedgerLike, kind: str, ml: MoveLine, **kw: Any) -> int:
    return post(conn, app, ledger, kind, [ml], **kw).movements[-1]


def receipt(conn: Connection, app: str, ledger: LedgerLike, dims: Mapping[str, Any], qty: Any, *,
            unit_cost: Any = None, doc: Doc | None = None, user: str | None = None,
            reason: str | None = None) -> int:
    """+on_hand; a ``unit_cost`` updates the moving average. Returns the movement id."""
    return _one(conn, app, ledger, "receipt", MoveLine(dims, qty, unit_cost=unit_cost),
                doc=doc, user=user, reason=reason)


def ship(conn: Connection, app: str, ledger: LedgerLike, dims: Mapping[str, Any], qty: Any, *,
         reservation: int | None = None, doc: Doc | None = None, user: str | None = None,
         reason: str | None = None) -> int:
    """-on_hand; with ``reservation`` also -reserved (consumes it; an expired one is
    released and the ship then needs available stock). Returns the movement id."""
    return _one(conn, app, ledger, "ship", MoveLine(dims, qty, reservation=reservation),
                doc=doc, user=user, reason=reason)


def transfer_out(conn: Connection, app: str, ledger: LedgerLike, dims: Mapping[str, Any], qty: Any, *,
                 reservation: int | None = None, doc: Doc | None = None, user: str | None = None) -> int:
    """-on_hand +in_transit at the source ``dims``. Returns the movement id."""
    return _one(conn, app, ledger, "transfer_out", MoveLine(dims, qty, reservation=reservation),
                doc=doc, user=user)


def transfer_in(conn: Connection, app: str, ledger: LedgerLike, source: Mapping[str, Any],
                target: Mapping[str, Any], qty: Any, *, doc: Doc | None = None,
                user: str | None = None) -> int:
    """-in_transit at ``source``, +on_hand at ``target``. Returns the target movement id."""
    return _one(conn, app, ledger, "transfer_in", MoveLine(source, qty, to=target), doc=doc, user=user)


def adjust(conn: Connection, app: str, ledger: LedgerLike, dims: Mapping[str, Any], delta: Any, *,
           reason: str, doc: Doc | None = None, user: str | None = None, unit_cost: Any = None) -> int:
    """±on_hand by ``delta`` (signed) with a ``reason``. Returns the movement id."""
    return _one(conn, app, ledger, "adjust", MoveLine(dims, delta, unit_cost=unit_cost),
                doc=doc, user=user, reason=reason)


def quarantine(conn: Connection, app: str, ledger: LedgerLike, dims: Mapping[str, Any], qty: Any, *,
               reason: str | None = None, doc: Doc | None = None, user: str | None = None) -> int:
    """Move ``qty`` from on_hand to quarantine (guarded by available)."""
    return _one(conn, app, ledger, "quarantine", MoveLine(dims, qty), doc=doc, user=user, reason=reason)


def on_order(conn: Connection, app: str, ledger: LedgerLike, dims: Mapping[str, Any], delta: Any, *,
             doc: Doc | None = None, user: str | None = None) -> int:
    """±on_order (a purchase order placed, received or cancelled)."""
    return _one(conn, app, ledger, "on_order", MoveLine(dims, delta), doc=doc, user=user)

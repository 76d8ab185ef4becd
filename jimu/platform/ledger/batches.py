"""Batches with expiry (food): FEFO allocation, near-expiry lists, quarantining expired
stock. The ledger needs a ``batch`` dimension; expiry dates come from the caller (the batch
records live in the app's tables, above this layer) as a mapping or a callable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import FieldError, StockConflict, ValidationError
from jimu.platform.ledger.postings import MoveLine, post
from jimu.platform.ledger.queries import balances
from jimu.platform.ledger.spec import Doc, LedgerLike, as_ledger

__all__ = ["BatchExpiry", "allocate_fefo", "near_expiry", "quarantine_expired", "fefo_order"]

BatchExpiry = Mapping[Any, date | None] | Callable[[Any], date | None]


def _expiry_of(batch_expiry: BatchExpiry) -> Callable[[Any], date | None]:
    if callable(batch_expiry):
        return batch_expiry
    table = batch_expiry
    return lambda b: table.get(b, table.get(str(b)))


def fefo_order(batch: Any, expiry: date | None) -> tuple[int, date, str]:
    """Sort key: earliest expiry first, batches without expiry last, then by batch id."""
    return (expiry is None, expiry or date.max, f"{batch!s:>20}")


def _batch_rows(conn: Connection, app: str, ledger: LedgerLike, filters: dict[str, Any]) -> list[dict[str, Any]]:
    lg = as_ledger(ledger)
    if "batch" not in lg.dimensions:
        raise ValidationError(f"ledger {lg.name} has no batch dimension")
    return [r for r in balances(conn, app, lg, **filters) if r.get("batch") is not None]


def allocate_fefo(conn: Connection, app: str, ledger: LedgerLike, item: Any, warehouse: Any, qty: Any,
                  batch_expiry: BatchExpiry, *, today: date | None = None,
                  skip: Callable[[Any], bool] | None = None) -> list[tuple[Any, Decimal]]:
    """The batches, first-expiry-first-out, that cover ``qty`` of ``item`` at ``warehouse``:
    ``[(batch, qty), ...]``. Expired batches (expiry before ``today``), quarantined stock
    and batches ``skip`` refuses (e.g. quarantined by quality) are left out; refuses with
    StockConflict when the rest is not enough. A read: the caller then reserves or ships
    these lines, and the guarded move settles any race."""
    lg = as_ledger(ledger)
    need = lg.to_units(qty)
    day = today or clock.today()
    exp = _expiry_of(batch_expiry)
    rows = []
    for r in _batch_rows(conn, app, lg, {"item": item, "warehouse": warehouse}):
        e = exp(r["batch"])
        if r["available"] > 0 and (e is None or e >= day) and not (skip is not None and skip(r["batch"])):
            rows.append((fefo_order(r["batch"], e), r))
    rows.sort(key=lambda x: x[0])
    out: list[tuple[Any, Decimal]] = []
    left = need
    for _, r in rows:
        if left <= 0:
            break
        take = min(left, lg.to_units(r["available"]))
        out.append((r["batch"], lg.to_qty(take)))
        left -= take
    if left > 0:
        have = lg.to_qty(need - left)
        what = lg.describe({"item": item, "warehouse": warehouse})
        msg = f"Not enough unexpired stock of {what}: requested {lg.to_qty(need)}, available {have}"
        raise StockConflict(msg, errors=[FieldError("qty", StockConflict.code, msg)],
                            extra={"requested": str(lg.to_qty(need)), "available": str(have), "unexpired": True,
                                   "dims": {"item": item, "warehouse": warehouse}})
    return out


def near_expiry(conn: Connection, app: str, ledger: LedgerLike, batch_expiry: BatchExpiry, days: int, *,
                today: date | None = None, **dim_filters: Any) -> list[dict[str, Any]]:
    """Batch balance rows with stock whose expiry falls within ``days`` days from ``today``
    (already expired ones included), soonest first; each row gains ``expiry`` and
    ``days_left`` (negative when expired)."""
    day = today or clock.today()
    exp = _expiry_of(batch_expiry)
    out = []
    for r in _batch_rows(conn, app, ledger, dim_filters):
        e = exp(r["batch"])
        if e is not None and r["on_hand"] > 0 and (e - day).days <= days:
            out.append({**r, "expiry": e, "days_left": (e - day).days})
    out.sort(key=lambda r: fefo_order(r["batch"], r["expiry"]))
    return out


def quarantine_expired(conn: Connection, app: str, ledger: LedgerLike, batch_expiry: BatchExpiry, *,
                       today: date | None = None, user: str | None = None,
                       doc: Doc | None = None) -> list[dict[str, Any]]:
    """Move the available stock of expired batches (expiry before ``today``) to the
    quarantine bucket; returns ``[{dims..., "qty"}]`` moved. Reserved expired stock stays
    (release the reservations first)."""
    lg = as_ledger(ledger)
    day = today or clock.today()
    exp = _expiry_of(batch_expiry)
    lines, moved = [], []
    for r in _batch_rows(conn, app, lg, {}):
        e = exp(r["batch"])
        if e is not None and e < day and r["available"] > 0:
            dims = {d: r[d] for d in lg.dimensions}
            lines.append(MoveLine(dims, r["available"]))
            moved.append({**dims, "qty": r["available"]})
    post(conn, app, lg, "quarantine", lines, user=user, doc=doc, reason=f"expired before {day.isoformat()}")
    return moved

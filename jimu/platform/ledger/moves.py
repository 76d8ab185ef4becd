"""The move engine: guarded atomic balance updates plus movement rows.

Every change of a balance goes through :func:`apply_lines`. It merges the lines of one
posting per balance key, updates the balance rows in sorted key order (so two multi-line
documents never deadlock), each with one guarded ``UPDATE ... WHERE bucket + :d >= 0 AND
available >= 0`` whose row count tells whether the stock was there, and writes one
movement row per line. It runs inside the caller's write transaction (``Database.write()``,
``BEGIN IMMEDIATE`` on SQLite), so the move commits or rolls back with the document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import FieldError, StockConflict
from jimu.platform.ledger import rawsql, setpost
from jimu.platform.ledger.spec import Doc, Ledger
from jimu.platform.ledger.tables import BUCKETS, balance, movement, reservation

__all__ = ["Line", "apply_lines", "run_guards", "update_balances", "expire_key", "ensure_row", "insert_movements"]

_B = balance.c


@dataclass
class Line:
    """One movement line: full dimensions and integer unit changes per bucket."""

    dims: Mapping[str, Any]
    changes: dict[str, int]
    kind: str
    doc: Doc | None = None
    reason: str | None = None
    reservation_id: int | None = None
    unit_cost: int | None = None
    index: int = 0
    requested: int = 0
    key: str = field(default="")


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def ensure_row(conn: Connection, lg: Ledger, app: str, key: str, dims: Mapping[str, Any]) -> None:
    """Create the balance row of ``key`` if missing (INSERT ... ON CONFLICT DO NOTHING)."""
    stmt = _insert(conn, balance).values(app=app, ledger=lg.name, key=key, dims=dict(dims), **lg.slots(dims))
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["app", "ledger", "key"]))


def expire_key(conn: Connection, app: str, ledger: str, key: str, now: datetime) -> int:
    """Expire the due active reservations of one balance key; returns how many expired.

    On PostgreSQL rows another transaction holds are skipped (it is consuming or expiring
    them), so this never waits on a reservation lock while holding balance locks."""
    r = reservation.c
    sel = sa.select(r.id, r.open_qty, r.dims, r.doc_entity, r.doc_id, r.doc_line).where(
        r.app == app, r.ledger == ledger, r.key == key, r.state == "active",
        r.expires_at.is_not(None), r.expires_at <= now,
    ).order_by(r.id)
    if conn.dialect.name == "postgresql":
        sel = sel.with_for_update(skip_locked=True)
    rows = conn.execute(sel).all()
    if not rows:
        return 0
    conn.execute(
        sa.update(reservation).where(r.id.in_([x.id for x in rows]))
        .values(state="expired", open_qty=0, closed_at=now)
    )
    total = sum(int(x.open_qty) for x in rows)
    conn.execute(
        sa.update(balance).where(_B.app == app, _B.ledger == ledger, _B.key == key)
        .values(reserved=_B.reserved - total)
    )
    conn.execute(movement.insert(), [
        {"at": now, "user": None, "app": app, "ledger": ledger, "key": key, "dims": x.dims,
         "kind": "expire", "d_reserved": -int(x.open_qty), "doc_entity": x.doc_entity,
         "doc_id": x.doc_id, "doc_line": x.doc_line, "reason": "reservation expired",
         "reservation_id": x.id}
        for x in rows
    ])
    return len(rows)


def run_guards(conn: Connection, lg: Ledger, app: str, lines: Sequence[Line]) -> None:
    """Call every ledger guard (hook ``jimu_ledger_guards``) with the posting's lines; a
    guard refuses by raising. The platform knows no guard itself: a higher layer
    registers them (layers import one way)."""
    if not lines:
        return
    from jimu.platform.hooks import collect

    for guard in collect("jimu_ledger_guards"):
        guard(conn, app, lg, lines)


def _try(conn: Connection, lg: Ledger, app: str, key: str, changes: Mapping[str, int]) -> bool:
    return rawsql.guarded_update(conn, app, lg.name, key, changes, lg.allow_negative)


def apply_lines(
    conn: Connection,
    lg: Ledger,
    app: str,
    lines: Sequence[Line],
    *,
    user: str | None = None,
    at: datetime | None = None,
) -> list[int]:
    """:func:`update_balances` then :func:`insert_movements`; returns the movement ids."""
    now = at or clock.now()
    update_balances(conn, lg, app, lines, at=now)
    return insert_movements(conn, lg.name, app, lines, user=user, at=now)


def update_balances(conn: Connection, lg: Ledger, app: str, lines: Sequence[Line], *, at: datetime) -> None:
    """Apply the bucket changes of ``lines`` to the balance rows, guarded and atomic.

    Refuses with :class:`StockConflict` (one FieldError per failing line) when a bucket
    would go negative or available would fall below zero, unless the ledger allows
    negative stock (then only on_hand/available may go below zero). Multi-key postings run
    in a savepoint so a refusal leaves nothing half-applied even if the caller goes on.
    The ledger guards (hook ``jimu_ledger_guards``, e.g. a stocktake's freeze) see the
    lines first and may refuse the whole posting."""
    now = at
    run_guards(conn, lg, app, lines)
    merged: dict[str, dict[str, int]] = {}
    first: dict[str, Line] = {}
    for ln in lines:
        ln.key = ln.key or lg.key(ln.dims)
        acc = merged.setdefault(ln.key, dict.fromkeys(BUCKETS, 0))
        first.setdefault(ln.key, ln)
        for b, d in ln.changes.items():
            acc[b] += d
    todo = sorted(k for k, ch in merged.items() if any(ch.values()))
    if len(todo) > 1:
        _update_many(conn, lg, app, lines, merged, first, todo, now)
        return
    failed: list[str] = []
    for key in todo:
        changes = merged[key]
        if _try(conn, lg, app, key, changes):
            continue
        ensure_row(conn, lg, app, key, first[key].dims)
        if _try(conn, lg, app, key, changes):
            continue
        if expire_key(conn, app, lg.name, key, now) and _try(conn, lg, app, key, changes):
            continue
        failed.append(key)
    if failed:
        raise _conflict(conn, lg, app, [ln for ln in lines if ln.key in failed], merged)


def _update_many(conn: Connection, lg: Ledger, app: str, lines: Sequence[Line],
                 merged: Mapping[str, Mapping[str, int]], first: Mapping[str, Line], keys: Sequence[str],
                 now: datetime) -> None:
    """Several balance rows: one set-based upsert (:mod:`setpost`) in a savepoint, so a
    refusal leaves nothing half-applied even if the caller goes on. Keys the guard refused
    get the lazy expiry of their due reservations and one more guarded try."""
    nested = conn.begin_nested()
    try:
        after = setpost.upsert_changes(conn, lg, app, keys, merged, {k: first[k].dims for k in keys})
        failed: list[str] = []
        created: set[str] = set()
        for key in keys:
            change = merged[key]
            got = after.get(key)
            if got is not None:
                if setpost.violates({b: got[b] - change.get(b, 0) for b in BUCKETS}, change, lg.allow_negative):
                    failed.append(key)  # a new row (the guard judged stored rows already)
                    created.add(key)
                continue
            if expire_key(conn, app, lg.name, key, now) and _try(conn, lg, app, key, merged[key]):
                continue
            failed.append(key)
        if failed:
            bad = [ln for ln in lines if ln.key in set(failed)]
            raise _conflict(conn, lg, app, bad, merged, created=created)
    except BaseException:
        nested.rollback()
        raise
    nested.commit()


def insert_movements(
    conn: Connection, ledger: str, app: str, lines: Sequence[Line], *, user: str | None, at: datetime
) -> list[int]:
    """Write one movement row per line (no balance change); returns ids in line order."""
    rows = []
    for ln in lines:
        row: dict[str, Any] = {
            "at": at, "user": user, "app": app, "ledger": ledger, "key": ln.key,
            "dims": dict(ln.dims), "kind": ln.kind, "reason": ln.reason,
            "reservation_id": ln.reservation_id, "unit_cost": ln.unit_cost,
            "doc_entity": None, "doc_id": None, "doc_line": None, "transition": None,
        }
        for b in BUCKETS:
            row[f"d_{b}"] = ln.changes.get(b, 0)
        if ln.doc is not None:
            row.update(ln.doc.columns())
            row["transition"] = ln.doc.transition
        rows.append(row)
    if len(rows) == 1:
        return [rawsql.insert_movement(conn, rows[0])]
    return rawsql.insert_movements(conn, rows)


def _conflict(
    conn: Connection, lg: Ledger, app: str, bad: Sequence[Line], merged: Mapping[str, Mapping[str, int]],
    created: set[str] | frozenset[str] = frozenset(),
) -> StockConflict:
    """The refusal naming every failing line; ``created`` keys had no balance row before
    this posting (they are read as zeros, not as the refused row the upsert wrote)."""
    keys = sorted({ln.key for ln in bad} - set(created))
    rows = {
        r.key: r
        for r in conn.execute(
            sa.select(balance).where(_B.app == app, _B.ledger == lg.name, _B.key.in_(keys))
        )
    }
    errors: list[FieldError] = []
    details: list[dict[str, Any]] = []
    messages: list[str] = []
    for ln in bad:
        row = rows.get(ln.key)
        have = {b: int(getattr(row, b)) if row is not None else 0 for b in BUCKETS}
        avail = have["on_hand"] - have["reserved"]
        change = merged[ln.key]
        shortage = [b for b in BUCKETS if change[b] < 0 and have[b] + change[b] < 0
                    and not (lg.allow_negative and b == "on_hand")]
        bucket = shortage[0] if shortage and shortage[0] != "on_hand" else "available"
        shown = avail if bucket == "available" else have[bucket]
        requested = ln.requested or max((abs(d) for d in ln.changes.values()), default=0)
        what = lg.describe(ln.dims)
        msg = (f"Not enough stock of {what}: requested {lg.to_qty(requested)}, "
               f"{bucket} {lg.to_qty(shown)}")
        messages.append(msg)
        errors.append(FieldError(f"lines.{ln.index}.qty", StockConflict.code, msg))
        details.append({"line": ln.index, "dims": {k: v for k, v in ln.dims.items()},
                        "requested": str(lg.to_qty(requested)), "bucket": bucket,
                        "available": str(lg.to_qty(shown))})
    summary = messages[0] if len(messages) == 1 else f"{messages[0]} (and {len(messages) - 1} more lines)"
    return StockConflict(summary, errors=errors, extra={"lines": details})

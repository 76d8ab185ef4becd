"""Rebuilding balances from the movement log and comparing them with the stored ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from jimu.platform.db import Database
from jimu.platform.ledger.tables import BUCKETS, balance, movement, reservation

__all__ = ["Difference", "verify"]

_B, _M, _R = balance.c, movement.c, reservation.c


@dataclass(frozen=True)
class Difference:
    """One bucket of one balance row whose stored value differs from the rebuilt one.

    ``source`` is ``"movements"`` (Σ movement deltas) or ``"reservations"`` (Σ open
    quantity of active reservations, for the reserved bucket). Values are integer units
    of ``10**-scale`` of the ledger."""

    app: str
    ledger: str
    key: str
    dims: Any
    bucket: str
    stored: int
    rebuilt: int
    source: str = "movements"

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"app": self.app, "ledger": self.ledger, "key": self.key, "dims": self.dims,
                "bucket": self.bucket, "stored": self.stored, "rebuilt": self.rebuilt,
                "source": self.source}


def verify(db: Database, app: str, ledger: str | None = None) -> list[Difference]:
    """Every difference between the stored balances of ``app`` (one ledger or all) and
    the balances rebuilt from the movement log and the active reservations; an empty list
    means the ledger is consistent. One read transaction, so it sees one snapshot."""
    def scope(c: Any) -> list[sa.ColumnElement[bool]]:
        conds = [c.app == app]
        if ledger is not None:
            conds.append(c.ledger == ledger)
        return conds

    with db.read() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        stored = {(r.ledger, r.key): r for r in conn.execute(
            sa.select(_B.ledger, _B.key, _B.dims, *[_B[b] for b in BUCKETS]).where(*scope(_B)))}
        rebuilt = {(r[0], r[1]): r for r in conn.execute(
            sa.select(_M.ledger, _M.key, *[sa.func.sum(_M[f"d_{b}"]) for b in BUCKETS])
            .where(*scope(_M)).group_by(_M.ledger, _M.key))}
        held = {(r[0], r[1]): int(r[2]) for r in conn.execute(
            sa.select(_R.ledger, _R.key, sa.func.sum(_R.open_qty))
            .where(*scope(_R), _R.state == "active").group_by(_R.ledger, _R.key))}
    out: list[Difference] = []
    for lk in sorted(set(stored) | set(rebuilt) | set(held)):
        s = stored.get(lk)
        r = rebuilt.get(lk)
        dims = s.dims if s is not None else None
        for i, b in enumerate(BUCKETS):
            have = int(getattr(s, b)) if s is not None else 0
            want = int(r[2 + i] or 0) if r is not None else 0
            if have != want:
                out.append(Difference(app, lk[0], lk[1], dims, b, have, want))
        have_r = int(s.reserved) if s is not None else 0
        if have_r != held.get(lk, 0):
            out.append(Difference(app, lk[0], lk[1], dims, "reserved", have_r, held.get(lk, 0), "reservations"))
    return out

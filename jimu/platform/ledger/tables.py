"""System tables of the ledger primitive: balances, movements, reservations, valuation.

Quantities are exact integers scaled by ``10**scale`` of their ledger (BigInteger on both
backends), so no REAL arithmetic on SQLite ever touches them; costs and values are integers
scaled by ``10**COST_SCALE``. The API converts to and from ``Decimal``.
"""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.db import system_metadata
from jimu.platform.store.tables import TZDateTime

__all__ = [
    "BUCKETS",
    "COST_SCALE",
    "DIM_SLOTS",
    "balance",
    "movement",
    "reservation",
    "valuation",
]

#: The stored buckets, one BigInteger column each; ``available`` = on_hand - reserved.
BUCKETS: tuple[str, ...] = ("on_hand", "reserved", "in_transit", "on_order", "quarantine")
#: Decimal places kept for unit costs and stock values.
COST_SCALE = 8
#: Number of indexed text columns holding the dimension values (for filtering).
DIM_SLOTS = 6

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _slots() -> list[sa.Column[str]]:
    return [sa.Column(f"d{i}", sa.String(128)) for i in range(1, DIM_SLOTS + 1)]


balance = sa.Table(
    "jimu_ledger_balance",
    system_metadata,
    sa.Column("app", sa.String(63), primary_key=True),
    sa.Column("ledger", sa.String(63), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("dims", sa.JSON, nullable=False),
    *_slots(),
    *[sa.Column(b, sa.BigInteger, nullable=False, server_default="0") for b in BUCKETS],
    sa.Index("ix_jimu_ledger_balance_dims", "app", "ledger", "d1", "d2", "d3"),
    # The third dimension alone: the batch of a batch-tracking stock ledger (item,
    # warehouse, batch), which batch trace and recall look balance rows up by.
    sa.Index("ix_jimu_ledger_balance_d3", "app", "ledger", "d3"),
)

movement = sa.Table(
    "jimu_ledger_movement",
    system_metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("user", sa.String(150)),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("ledger", sa.String(63), nullable=False),
    sa.Column("key", sa.String(512), nullable=False),
    sa.Column("dims", sa.JSON, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    *[sa.Column(f"d_{b}", sa.BigInteger, nullable=False, server_default="0") for b in BUCKETS],
    sa.Column("unit_cost", sa.BigInteger),
    sa.Column("doc_entity", sa.String(63)),
    sa.Column("doc_id", sa.String(64)),
    sa.Column("doc_line", sa.String(64)),
    sa.Column("transition", sa.String(63)),
    sa.Column("reason", sa.Text),
    sa.Column("reservation_id", sa.BigInteger),
    sa.Index("ix_jimu_ledger_movement_key", "app", "ledger", "key", "at"),
    sa.Index("ix_jimu_ledger_movement_doc", "app", "doc_entity", "doc_id"),
)

reservation = sa.Table(
    "jimu_ledger_reservation",
    system_metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("ledger", sa.String(63), nullable=False),
    sa.Column("key", sa.String(512), nullable=False),
    sa.Column("dims", sa.JSON, nullable=False),
    sa.Column("qty", sa.BigInteger, nullable=False),
    sa.Column("open_qty", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("doc_entity", sa.String(63)),
    sa.Column("doc_id", sa.String(64)),
    sa.Column("doc_line", sa.String(64)),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("created_by", sa.String(150)),
    sa.Column("expires_at", TZDateTime),
    sa.Column("closed_at", TZDateTime),
    sa.Index("ix_jimu_ledger_reservation_doc", "app", "doc_entity", "doc_id"),
)
# Only holds that can expire are indexed for expiry (deposit holds cost no index write on
# the hot path); the sweep and the per-key lazy expiry both read this small index.
_due = sa.and_(reservation.c.state == "active", reservation.c.expires_at.is_not(None))
sa.Index("ix_jimu_ledger_reservation_due", reservation.c.app, reservation.c.ledger, reservation.c.key,
         reservation.c.expires_at, sqlite_where=_due, postgresql_where=_due)

valuation = sa.Table(
    "jimu_ledger_valuation",
    system_metadata,
    sa.Column("app", sa.String(63), primary_key=True),
    sa.Column("ledger", sa.String(63), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("dims", sa.JSON, nullable=False),
    sa.Column("qty", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("value", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("avg_cost", sa.BigInteger, nullable=False, server_default="0"),
)

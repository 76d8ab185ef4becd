"""System tables of the stock operations: channel pools, transfer discrepancies and the
items a freezing stocktake holds (``stock_freeze``).

Quantities are integer units of the ledger's scale, like the ledger's own tables. The
tables are created with the other system tables (this module adds itself to
``SYSTEM_TABLE_MODULES``) and, for a database opened before this package was imported,
on first use (:func:`ensure_tables`).
"""

from __future__ import annotations

import threading
import weakref

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.db import TZDateTime, system_metadata

__all__ = ["channel_pool", "discrepancy", "ensure_tables", "stock_freeze"]

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

channel_pool = sa.Table(
    "jimu_stock_channel_pool",
    system_metadata,
    sa.Column("app", sa.String(63), primary_key=True),
    sa.Column("ledger", sa.String(63), primary_key=True),
    sa.Column("item", sa.String(128), primary_key=True),
    sa.Column("warehouse", sa.String(128), primary_key=True),
    sa.Column("channel", sa.String(63), primary_key=True),
    sa.Column("weight", sa.Integer, nullable=False, server_default="1"),
    sa.Column("allotted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("threshold", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("rebalanced_at", TZDateTime),
    sa.Column("updated_at", TZDateTime),
)

discrepancy = sa.Table(
    "jimu_stock_discrepancy",
    system_metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("ledger", sa.String(63), nullable=False),
    sa.Column("transfer_entity", sa.String(63), nullable=False),
    sa.Column("transfer_id", sa.String(64), nullable=False),
    sa.Column("line", sa.String(64)),
    sa.Column("source", sa.JSON, nullable=False),
    sa.Column("target", sa.JSON, nullable=False),
    sa.Column("item", sa.String(128)),
    sa.Column("sent", sa.BigInteger, nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    sa.Column("difference", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_by", sa.String(150)),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("resolved_by", sa.String(150)),
    sa.Column("resolved_at", TZDateTime),
    sa.Column("resolution", sa.Text),
    sa.Column("booked", sa.BigInteger),
    sa.Column("movement_id", sa.BigInteger),
    sa.Index("ix_jimu_stock_discrepancy_doc", "app", "transfer_entity", "transfer_id"),
    sa.Index("ix_jimu_stock_discrepancy_state", "app", "state"),
)

#: One row per item a stocktake with ``freeze: true`` holds in its warehouse, from
#: ``start`` to ``post``/``cancel``: the ledger guard refuses on_hand movements of it.
#: ``number`` and ``item_label`` (``sku name``) are kept so the refusal names both
#: without reading the app's tables inside every posting.
stock_freeze = sa.Table(
    "jimu_stock_freeze",
    system_metadata,
    sa.Column("app", sa.String(63), primary_key=True),
    sa.Column("ledger", sa.String(63), primary_key=True),
    sa.Column("warehouse", sa.String(128), primary_key=True),
    sa.Column("item", sa.String(128), primary_key=True),
    sa.Column("doc_entity", sa.String(63), primary_key=True),
    sa.Column("doc_id", sa.String(64), primary_key=True),
    sa.Column("number", sa.String(128)),
    sa.Column("item_label", sa.String(400)),
    sa.Column("created_at", TZDateTime),
)

_ready: weakref.WeakSet[object] = weakref.WeakSet()
_lock = threading.Lock()


def ensure_tables(conn: Connection) -> None:
    """Create this package's tables if missing (once per engine)."""
    if conn.engine in _ready:
        return
    with _lock:
        for table in (channel_pool, discrepancy, stock_freeze):
            table.create(bind=conn, checkfirst=True)
        _ready.add(conn.engine)

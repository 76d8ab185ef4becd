"""The system table recording which rollups are built (``jimu_rollup``).

One row per rollup table that holds complete figures: written in the transaction that
built it from the base table, deleted when the published spec no longer needs it (the
table is then rebuilt from scratch if it is ever needed again, since writes after that
moment no longer maintained it). Importing this module (the bootstrap does) registers the
rollup record listener.
"""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.db import TZDateTime, system_metadata
from jimu.runtime import rollups as _rollups  # noqa: F401  (registers the listener)

__all__ = ["rollup_meta"]

rollup_meta = sa.Table(
    "jimu_rollup", system_metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("app", sa.String(63), nullable=False, index=True),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("built_at", TZDateTime, nullable=False),
    sa.Column("app_version", sa.Integer, nullable=False),
)

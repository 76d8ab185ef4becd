"""System tables of the permissions layer: the signing secret, integration API keys and
the screens' sessions.

They live on ``system_metadata``; ``ensure_tables`` creates them on databases upgraded
before this module was loaded."""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.db import Database, TZDateTime, system_metadata

__all__ = ["secrets", "api_keys", "sessions", "ensure_tables"]

secrets = sa.Table(
    "jimu_secret",
    system_metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
)

api_keys = sa.Table(
    "jimu_api_key",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), nullable=False, index=True),
    sa.Column("role", sa.String(63), nullable=False),
    sa.Column("name", sa.String(150), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_by", sa.String(150)),
    sa.Column("created_at", TZDateTime, nullable=False),
)


# A screens session: the signed session cookie names one row (by the SHA-256 of its random
# id); logging out deletes the row, so the cookie stops working at once, server-side.
sessions = sa.Table(
    "jimu_session",
    system_metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False, index=True),
)


def ensure_tables(db: Database) -> None:
    """Create the permission tables if missing (idempotent)."""
    with db.write() as conn:
        system_metadata.create_all(bind=conn, tables=[secrets, api_keys, sessions], checkfirst=True)

"""Jimu's own system tables (metadata, versions, changes, users, counters, audit).

They are created and evolved by alembic (``jimu/migrations``); other subsystems add their
tables to the same ``system_metadata``.
"""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.db import TZDateTime, system_metadata

__all__ = ["apps", "app_versions", "spec_changes", "users", "counters", "audit_log", "TZDateTime"]


apps = sa.Table(
    "jimu_app",
    system_metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("label", sa.JSON, nullable=False),
    sa.Column("draft", sa.JSON, nullable=False),
    sa.Column("draft_revision", sa.Integer, nullable=False, default=0),
    sa.Column("published_version", sa.Integer, nullable=False, default=0),
    sa.Column("template", sa.String(63)),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("updated_at", TZDateTime, nullable=False),
)

app_versions = sa.Table(
    "jimu_app_version",
    system_metadata,
    sa.Column("app", sa.String(63), sa.ForeignKey("jimu_app.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("published_at", TZDateTime, nullable=False),
    sa.Column("published_by", sa.String(150)),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("diff", sa.JSON, nullable=False),
)

spec_changes = sa.Table(
    "jimu_spec_change",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), sa.ForeignKey("jimu_app.name", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("element", sa.String(255), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("author", sa.String(150)),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("summary_zh", sa.Text, nullable=False),
    sa.Column("summary_en", sa.Text, nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
)

users = sa.Table(
    "jimu_user",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(150), nullable=False, unique=True),
    sa.Column("display_name", sa.String(255)),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("manager", sa.String(150)),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("attributes", sa.JSON, nullable=False, default=dict),
    sa.Column("token_epoch", sa.Integer, nullable=False, default=0),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", TZDateTime),
    sa.Column("created_at", TZDateTime, nullable=False),
)

counters = sa.Table(
    "jimu_counter",
    system_metadata,
    sa.Column("app", sa.String(63), primary_key=True),
    sa.Column("entity", sa.String(63), primary_key=True),
    sa.Column("field", sa.String(63), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

audit_log = sa.Table(
    "jimu_audit",
    system_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("user", sa.String(150)),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(63)),
    sa.Column("record", sa.String(64)),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("summary_zh", sa.Text, nullable=False),
    sa.Column("summary_en", sa.Text, nullable=False),
    sa.Column("source", sa.String(255)),
    sa.Column("document", sa.String(255)),
    sa.Index("ix_jimu_audit_record", "app", "entity", "record"),
    sa.Index("ix_jimu_audit_user", "app", "user", "at"),
)

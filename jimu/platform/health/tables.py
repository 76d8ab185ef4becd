"""System tables of the health scanner: findings with their states, and scan history."""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.db import system_metadata
from jimu.platform.store.tables import TZDateTime

__all__ = ["health_findings", "health_scans"]

health_findings = sa.Table(
    "jimu_health_finding",
    system_metadata,
    sa.Column("app", sa.String(63), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),  # hash of rule + element path
    sa.Column("rule", sa.String(16), nullable=False),
    sa.Column("category", sa.String(4), nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("element", sa.String(255), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("remediation", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, default="open"),
    sa.Column("reason", sa.Text),
    sa.Column("snoozed_until", TZDateTime),
    sa.Column("fingerprint", sa.String(32), nullable=False),  # hash of the element's JSON
    sa.Column("first_seen", TZDateTime, nullable=False),
    sa.Column("last_seen", TZDateTime, nullable=False),
    sa.Column("state_by", sa.String(150)),
    sa.Column("state_at", TZDateTime),
    sa.Index("ix_jimu_health_finding_state", "app", "state"),
)

health_scans = sa.Table(
    "jimu_health_scan",
    system_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),  # open findings per severity
    sa.Index("ix_jimu_health_scan_app", "app", "at"),
)

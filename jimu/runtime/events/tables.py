"""System tables of the event outbox, webhooks and automations.

- ``jimu_event``: the transactional outbox. One row per committed record change,
  transition and ledger movement, written in the same transaction as the change (a rolled
  back write leaves nothing). ``seq`` orders events (SSE ``id:`` and Last-Event-ID), ``id``
  is the stable uuid receivers dedupe on. ``dispatched_at`` is set by the dispatcher once every
  consumer has handled the event (their processed-markers in ``jimu_event_consumer``
  make each apply it once); ``lease_*`` lets a crashed dispatcher's claim expire and,
  after a consumer failed, holds the event back until its retry time.
- ``jimu_webhook``: outgoing (``direction='out'``: url, format json|dingtalk|wecom, role
  whose rights filter the payload, signing secret, retry policy) and incoming hooks
  (``direction='in'``: a token URL creating/updating records as ``role``).
- ``jimu_webhook_delivery``: one row per (event, webhook): pending -> delivered | failed,
  ``next_at`` schedules the next attempt (exponential backoff kept in the DB, no sleeps).
- ``jimu_webhook_attempt``: the delivery log, one row per HTTP attempt with its response.
- ``jimu_automation_run``: what each automation did for each event (ok, skipped, error,
  loop_stopped), for the designer and the health scanner.
- ``jimu_automation_state``: next due time of schedule-triggered automations.
- ``jimu_event_consumer``: the processed-marker of each (event, consumer): ``done`` once
  the consumer's effects committed (written in the same transaction as they are, so a
  retried event never applies them twice), ``failed`` with the attempt count and last
  error while the event waits for its retry, ``dead`` when it gave up. Automations keep
  one marker per automation (``automation:<name>``) and per step.
"""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.db import TZDateTime, system_metadata

__all__ = ["events", "webhooks", "deliveries", "attempts", "automation_runs", "automation_state", "event_consumers"]

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

events = sa.Table(
    "jimu_event",
    system_metadata,
    sa.Column("seq", _ID, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(63)),
    sa.Column("record", sa.String(64)),
    sa.Column("version", sa.Integer),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("data", sa.JSON),
    sa.Column("actor", sa.String(150)),
    sa.Column("actor_roles", sa.JSON),
    sa.Column("depth", sa.Integer, nullable=False, default=0),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("dispatched_at", TZDateTime),
    sa.Column("lease_owner", sa.String(80)),
    sa.Column("lease_until", TZDateTime),
    sa.Index("ix_jimu_event_app_seq", "app", "seq"),
    # The dispatcher's claim (undispatched, in seq order): only the backlog is indexed, and
    # an event written already dispatched is not written to it at all (revision 0003).
    sa.Index("ix_jimu_event_undispatched", "seq", sqlite_where=sa.text("dispatched_at IS NULL"),
             postgresql_where=sa.text("dispatched_at IS NULL")),
)

webhooks = sa.Table(
    "jimu_webhook",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), nullable=False, index=True),
    sa.Column("name", sa.String(63), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False, default="out"),
    sa.Column("url", sa.Text),
    sa.Column("format", sa.String(16), nullable=False, default="json"),
    sa.Column("secret", sa.String(200)),
    sa.Column("role", sa.String(63), nullable=False),
    sa.Column("kinds", sa.JSON, nullable=False),
    sa.Column("entities", sa.JSON),
    sa.Column("entity", sa.String(63)),
    sa.Column("mode", sa.String(16)),
    sa.Column("key_field", sa.String(63)),
    sa.Column("token_hash", sa.String(64), unique=True),
    sa.Column("max_attempts", sa.Integer, nullable=False, default=8),
    sa.Column("backoff", sa.Float, nullable=False, default=10.0),
    sa.Column("timeout", sa.Float, nullable=False, default=5.0),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_by", sa.String(150)),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.UniqueConstraint("app", "name", name="uq_jimu_webhook_name"),
)

deliveries = sa.Table(
    "jimu_webhook_delivery",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_at", TZDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(80)),
    sa.Column("lease_until", TZDateTime),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("delivered_at", TZDateTime),
    sa.UniqueConstraint("webhook_id", "event_id", name="uq_jimu_webhook_delivery"),
    sa.Index("ix_jimu_webhook_delivery_due", "status", "next_at"),
)

attempts = sa.Table(
    "jimu_webhook_attempt",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("response", sa.Text),
    sa.Column("duration_ms", sa.Float),
    sa.Column("manual", sa.Boolean, nullable=False, default=False),
)

automation_runs = sa.Table(
    "jimu_automation_run",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("automation", sa.String(63), nullable=False),
    sa.Column("event_id", sa.String(36)),
    sa.Column("entity", sa.String(63)),
    sa.Column("record", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("depth", sa.Integer, nullable=False, default=0),
    sa.Column("detail", sa.Text),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Index("ix_jimu_automation_run_app", "app", "automation", "id"),
)

automation_state = sa.Table(
    "jimu_automation_state",
    system_metadata,
    sa.Column("app", sa.String(63), primary_key=True),
    sa.Column("automation", sa.String(63), primary_key=True),
    sa.Column("next_at", TZDateTime, nullable=False),
    sa.Column("last_at", TZDateTime),
)

event_consumers = sa.Table(
    "jimu_event_consumer",
    system_metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("consumer", sa.String(140), primary_key=True),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("at", TZDateTime, nullable=False),
)

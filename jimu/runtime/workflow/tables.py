"""System tables of the workflow engine and the scheduler.

- ``jimu_wf_approval``: one approval instance per approval-bearing transition fired
  (steps resolved when the instance opens, the current step, open/approved/rejected/cancelled).
- ``jimu_wf_vote``: one row per decision (who acted, on whose behalf, approve/reject).
- ``jimu_wf_delegation``: while ``user`` is away (``from_at`` <= now < ``until_at``),
  ``delegate`` may act on approvals waiting for ``user``.
- ``jimu_inbox``: approvals waiting for a user, notifications and escalations.
- ``jimu_job``: scheduled work (workflow timers, notifications, ...) claimed by the
  scheduler with a lease (``lease_owner``/``lease_until``); ``status`` pending -> done |
  cancelled | failed. ``key`` (optional) names a recurring job's slot (say
  ``automation.schedule:shop:daily``): a unique index over the *pending* rows lets at most
  one pending job hold a key, so workers that queue the same recurring job at once insert
  it once (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.db import TZDateTime, system_metadata

__all__ = ["approvals", "votes", "delegations", "inbox", "jobs"]

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

approvals = sa.Table(
    "jimu_wf_approval",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record", sa.BigInteger, nullable=False),
    sa.Column("workflow", sa.String(63), nullable=False),
    sa.Column("transition", sa.String(63), nullable=False),
    sa.Column("pending_state", sa.String(63), nullable=False),
    sa.Column("from_state", sa.String(63), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="open"),
    sa.Column("step", sa.Integer, nullable=False, default=0),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("submitter", sa.String(150)),
    sa.Column("opened_at", TZDateTime, nullable=False),
    sa.Column("step_opened_at", TZDateTime, nullable=False),
    sa.Column("closed_at", TZDateTime),
    sa.Index("ix_jimu_wf_approval_record", "app", "entity", "record", "status"),
)

votes = sa.Table(
    "jimu_wf_vote",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("approval_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("step_name", sa.String(63), nullable=False),
    sa.Column("user", sa.String(150), nullable=False),
    sa.Column("on_behalf_of", sa.String(150), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("at", TZDateTime, nullable=False),
)

delegations = sa.Table(
    "jimu_wf_delegation",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("user", sa.String(150), nullable=False, index=True),
    sa.Column("delegate", sa.String(150), nullable=False, index=True),
    sa.Column("app", sa.String(63)),
    sa.Column("from_at", TZDateTime, nullable=False),
    sa.Column("until_at", TZDateTime),
    sa.Column("created_at", TZDateTime, nullable=False),
)

inbox = sa.Table(
    "jimu_inbox",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("user", sa.String(150), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("entity", sa.String(63)),
    sa.Column("record", sa.BigInteger),
    sa.Column("approval_id", sa.BigInteger),
    sa.Column("step", sa.Integer),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("read", sa.Boolean, nullable=False, default=False),
    sa.Column("done", sa.Boolean, nullable=False, default=False),
    sa.Column("payload", sa.JSON),
    sa.Index("ix_jimu_inbox_user", "app", "user", "done", "id"),
    sa.Index("ix_jimu_inbox_approval", "approval_id"),
)

jobs = sa.Table(
    "jimu_job",
    system_metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("app", sa.String(63)),
    sa.Column("entity", sa.String(63)),
    sa.Column("record", sa.BigInteger),
    sa.Column("name", sa.String(63)),
    sa.Column("state", sa.String(63)),
    sa.Column("due_at", TZDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", TZDateTime),
    sa.Column("payload", sa.JSON),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("done_at", TZDateTime),
    sa.Column("done_by", sa.String(100)),
    sa.Column("last_error", sa.Text),
    sa.Column("key", sa.String(200)),
    sa.Index("ix_jimu_job_due", "status", "due_at"),
    sa.Index("ux_jimu_job_pending_key", "key", unique=True,
             sqlite_where=sa.text("status = 'pending' AND key IS NOT NULL"),
             postgresql_where=sa.text("status = 'pending' AND key IS NOT NULL")),
    sa.Index("ix_jimu_job_record", "app", "entity", "record", "status"),
)

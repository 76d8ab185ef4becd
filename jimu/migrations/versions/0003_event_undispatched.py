"""jimu_event: the pending-events index holds only the events still to dispatch.

``ix_jimu_event_pending (dispatched_at, seq)`` had an entry for every event ever written;
the dispatcher only ever looks for ``dispatched_at IS NULL`` in ``seq`` order. The
partial index ``ix_jimu_event_undispatched (seq) WHERE dispatched_at IS NULL`` serves that
claim alone, stays as small as the backlog, and is not written at all for an event that
is written already dispatched (no consumer wants it). Databases made before get the new
index and lose the old one; on a fresh database the baseline already made the new one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_WHERE = sa.text("dispatched_at IS NULL")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "jimu_event" not in inspector.get_table_names():
        return
    names = {i["name"] for i in inspector.get_indexes("jimu_event")}
    if "ix_jimu_event_undispatched" not in names:
        op.create_index("ix_jimu_event_undispatched", "jimu_event", ["seq"], sqlite_where=_WHERE,
                        postgresql_where=_WHERE)
    if "ix_jimu_event_pending" in names:
        op.drop_index("ix_jimu_event_pending", table_name="jimu_event")


def downgrade() -> None:
    op.create_index("ix_jimu_event_pending", "jimu_event", ["dispatched_at", "seq"])
    op.drop_index("ix_jimu_event_undispatched", table_name="jimu_event")

"""jimu_job.key: the slot of a recurring job (one pending job per key).

Databases created before the key existed (the baseline only creates missing tables) get
the column and its partial unique index; on a fresh database the baseline already made
both and this revision changes nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_WHERE = sa.text("status = 'pending' AND key IS NOT NULL")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "jimu_job" not in inspector.get_table_names():
        return
    if "key" not in {c["name"] for c in inspector.get_columns("jimu_job")}:
        op.add_column("jimu_job", sa.Column("key", sa.String(200)))
    if "ux_jimu_job_pending_key" not in {i["name"] for i in inspector.get_indexes("jimu_job")}:
        op.create_index("ux_jimu_job_pending_key", "jimu_job", ["key"], unique=True,
                        sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade() -> None:
    op.drop_index("ux_jimu_job_pending_key", table_name="jimu_job")
    op.drop_column("jimu_job", "key")

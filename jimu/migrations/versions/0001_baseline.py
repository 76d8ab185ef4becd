"""Baseline: Jimu's system tables.

Before 1.0 the baseline creates every table registered in ``system_metadata`` (the
subsystems declare their own tables next to their code); from 1.0 on each change to a
system table is an explicit revision after this one.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from jimu.platform.db import system_metadata
    from jimu.platform.store.bootstrap import load_system_tables

    load_system_tables()
    system_metadata.create_all(bind=op.get_bind(), checkfirst=True)


def downgrade() -> None:
    from jimu.platform.db import system_metadata

    system_metadata.drop_all(bind=op.get_bind(), checkfirst=True)

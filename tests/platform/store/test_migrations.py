"""System-table revisions after the baseline bring an older database up to date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from jimu.platform.db import Database
from jimu.platform.store.bootstrap import upgrade_system_tables


@pytest.fixture
def db(backend, make_db_url):
    database = Database(make_db_url(backend))
    yield database
    database.engine.dispose()


def test_a_database_from_before_the_job_key_gets_it(db):
    """A database whose ``jimu_job`` predates ``key`` (made by the 0001 baseline of an
    older Jimu) gets the column and the one-pending-job-per-key index on the next open,
    so recurring jobs queue there too. Mutation caught: revision 0002 doing nothing."""
    from jimu.runtime.scheduler.jobs import schedule_job

    upgrade_system_tables(db)
    with db.write() as conn:  # back to the older shape, stamped at the baseline
        conn.execute(sa.text("DROP INDEX ux_jimu_job_pending_key"))
        conn.execute(sa.text("ALTER TABLE jimu_job DROP COLUMN key"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    upgrade_system_tables(db)
    assert "key" in {c["name"] for c in sa.inspect(db.engine).get_columns("jimu_job")}
    due = datetime(2030, 1, 1, tzinfo=UTC)
    with db.write() as conn:
        first = schedule_job(conn, kind="automation.schedule", due_at=due, key="k")
        again = schedule_job(conn, kind="automation.schedule", due_at=due, key="k")
    assert first > 0 and again == 0
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"

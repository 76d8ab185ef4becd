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
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD


HEAD = "0003"


def test_a_database_from_before_the_partial_event_index_gets_it(db):
    """A database whose ``jimu_event`` has the full ``ix_jimu_event_pending`` (revision
    0002) gets the partial ``ix_jimu_event_undispatched`` instead, and the dispatcher's
    claim reads it (SQLite's plan names it). Mutation caught: revision 0003 doing nothing
    (the old index stays, the new one is missing)."""
    upgrade_system_tables(db)
    with db.write() as conn:  # back to the older shape, stamped at 0002
        conn.execute(sa.text("DROP INDEX ix_jimu_event_undispatched"))
        conn.execute(sa.text("CREATE INDEX ix_jimu_event_pending ON jimu_event (dispatched_at, seq)"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002'"))
    upgrade_system_tables(db)
    names = {i["name"] for i in sa.inspect(db.engine).get_indexes("jimu_event")}
    assert "ix_jimu_event_undispatched" in names and "ix_jimu_event_pending" not in names
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
        if db.is_sqlite:
            from jimu.runtime.events.dispatcher import _CLAIM

            sql = str(_CLAIM.compile(db.engine))
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sql, (None, 10, 0)))
            assert "ix_jimu_event_undispatched" in plan, plan

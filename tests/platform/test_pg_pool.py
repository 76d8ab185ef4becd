"""PostgreSQL connections are checked on checkout without a round trip: a connection the
server closed is replaced, a healthy one in use a moment ago is not pinged."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform import db as db_mod
from jimu.platform.db import Database
from tests.platform._pg_kill import terminate_backend

PG_URL = os.environ.get("JIMU_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs JIMU_TEST_PG_URL")


@pytest.fixture
def pg(make_db_url) -> Iterator[Database]:
    database = Database(make_db_url("pg"))
    yield database
    database.dispose()


def _pid(database: Database) -> int:
    with database.read() as c:
        return int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _pings(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    dialect = database.engine.dialect
    real = dialect.do_ping
    calls: list[int] = []

    def counting(dbapi_conn: Any) -> bool:
        calls.append(1)
        return bool(real(dbapi_conn))

    monkeypatch.setattr(dialect, "do_ping", counting)
    return calls


def test_a_connection_back_from_a_transaction_is_not_pinged(pg, monkeypatch):
    """Two transactions one after the other reuse the pooled connection (last in, first
    out) and send no ``SELECT 1`` (``pool_pre_ping`` sent one per checkout, a round trip
    per transaction); after ``PING_IDLE`` in the pool it is pinged. Mutations: put
    ``pool_pre_ping=True`` back in ``make_engine`` (or make ``_needs_ping`` always True)
    and pings are counted; drop the idle check and none is sent after ``PING_IDLE``."""
    first = _pid(pg)
    pings = _pings(pg, monkeypatch)
    assert _pid(pg) == first and _pid(pg) == first
    assert pings == []
    monkeypatch.setattr(db_mod, "PING_IDLE", 0.0)
    assert _pid(pg) == first
    assert pings == [1]


def test_a_connection_the_server_closed_is_replaced_on_checkout(pg, monkeypatch):
    """``pg_terminate_backend`` on the pooled connection's backend (as a server restart
    does to all of them): the next transaction gets a new connection instead of failing
    on its first statement. Mutation: ``_needs_ping`` answering False for a readable
    socket (no check at all) and the read raises OperationalError."""
    victim = _pid(pg)
    terminate_backend(PG_URL, victim)
    pings = _pings(pg, monkeypatch)
    assert _pid(pg) != victim
    assert pings == [1]


def test_statements_of_read_transactions_get_prepared(pg):
    """A statement run in read after read is prepared by psycopg (after
    ``prepare_threshold`` = 5 runs on the connection) and stays prepared: reads run in
    autocommit on PostgreSQL (the read pool), since psycopg forgets a connection's prepared
    statements on every ROLLBACK (and sends ``DEALLOCATE ALL``), which the pool's reset on
    checkin sends to a connection left in a transaction. Mutations: end ``Database.read``
    with ``tx.rollback()`` on the main pool (the code before the read pool), or leave the
    read pool's connections out of autocommit, and the statement is not among the
    session's prepared statements."""
    probe = sa.text("SELECT 1 AS jimu_prepare_probe")
    for _ in range(8):
        with pg.read() as c:
            c.execute(probe).scalar_one()
    with pg.read() as c:
        prepared = c.execute(sa.text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert any("jimu_prepare_probe" in s for s in prepared), prepared



def test_without_autovacuum_connections_plan_each_execution(pg):
    """Where autovacuum is off (this project's machines), ``plan_cache_mode =
    force_custom_plan`` on both pools: a generic plan made while an app's table was small
    kept a list-50 sorting the whole table as it grew (405 -> 124 req/s after 5,000
    creates, measured with wrk); with autovacuum on, PostgreSQL's default. Mutation: no
    ``connect`` listener (``auto`` where autovacuum is off)."""
    with pg.read() as c:
        off = c.execute(sa.text("SHOW autovacuum")).scalar_one() == "off"
        expected = "force_custom_plan" if off else "auto"
        assert c.execute(sa.text("SHOW plan_cache_mode")).scalar_one() == expected
    with pg.write() as c:
        assert c.execute(sa.text("SHOW plan_cache_mode")).scalar_one() == expected

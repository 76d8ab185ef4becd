"""PostgreSQL reads run on the read pool (jimu.platform.readengine): autocommit (no BEGIN /
COMMIT round trips), read-only (a write in a read raises), and the main engine's statement
hooks still see them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from jimu.platform.db import Database

PG_URL = os.environ.get("JIMU_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs JIMU_TEST_PG_URL")


@pytest.fixture
def pg(make_db_url) -> Iterator[Database]:
    database = Database(make_db_url("pg"))
    with database.write() as c:
        c.execute(sa.text("CREATE TABLE ro_probe (id integer PRIMARY KEY)"))
    yield database
    database.dispose()


def test_a_write_inside_a_read_raises_and_stores_nothing(pg):
    """An INSERT sent in ``Database.read()`` fails ("read-only transaction") instead of
    committing on its own. Mutation: drop the ``default_transaction_read_only`` SET from
    the read pool's connect hook and the INSERT commits (the row is then counted)."""
    with pytest.raises(sa.exc.DBAPIError, match="read-only"):
        with pg.read() as c:
            c.execute(sa.text("INSERT INTO ro_probe (id) VALUES (1)"))
    with pg.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM ro_probe")).scalar_one() == 0
    with pg.write() as c:  # writes are untouched
        c.execute(sa.text("INSERT INTO ro_probe (id) VALUES (2)"))
    with pg.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM ro_probe")).scalar_one() == 1


def test_a_read_runs_each_statement_as_its_own_transaction(pg):
    """No transaction block spans a read's statements (so no BEGIN and no COMMIT is sent):
    two statements see two transaction start times. Mutation: ``Database.read`` on the main
    engine with ``conn.begin()`` as before and both statements share one transaction (the
    same ``transaction_timestamp()``), and a write transaction still does."""
    stamp = sa.text("SELECT transaction_timestamp(), pg_sleep(0.01)")
    with pg.read() as c:
        first = c.execute(stamp).first()[0]
        second = c.execute(stamp).first()[0]
    assert first != second
    with pg.write() as c:
        assert c.execute(stamp).first()[0] == c.execute(stamp).first()[0]


def test_statement_hooks_of_the_engine_see_the_reads(pg):
    """A ``before_cursor_execute`` listener on ``Database.engine`` sees a read's statement
    (the read engine joins the main engine's events). Mutation: build the read engine with
    ``create_engine`` from the URL (events of its own) and nothing is seen."""
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    event.listen(pg.engine, "before_cursor_execute", capture)
    try:
        with pg.read() as c:
            c.execute(sa.text("SELECT 41 + 1 AS hooked")).scalar_one()
    finally:
        event.remove(pg.engine, "before_cursor_execute", capture)
    assert any("hooked" in s for s in seen), seen


def test_the_read_pool_is_disposed_with_the_database(make_db_url):
    """``Database.dispose`` closes the read pool's connections too (a server with many
    test schemas would otherwise keep them). Mutation: dispose only the main engine and the
    backend stays in pg_stat_activity."""
    database = Database(make_db_url("pg"))
    with database.read() as c:
        pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    database.dispose()
    admin = sa.create_engine(PG_URL)
    deadline = time.monotonic() + 10  # a backend exits a moment after its client closed
    try:
        with admin.connect() as c:
            while (alive := c.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                                      {"p": pid}).scalar_one()) and time.monotonic() < deadline:
                c.rollback()
                time.sleep(0.05)
    finally:
        admin.dispose()
    assert alive == 0

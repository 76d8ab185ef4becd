"""``begin_with``: on PostgreSQL a transaction's BEGIN goes in one message with its first
query, and the transaction is then exactly the one psycopg would have opened (what the
statements after it write commits or rolls back with it); anywhere else, or when a
transaction is already open on the server, it answers None and the caller runs the
query itself."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jimu.platform.db import Database
from jimu.platform.pgbegin import begin_with, literal


def _table(db: Database) -> None:
    with db.write() as c:
        c.execute(sa.text("CREATE TABLE pgbegin_probe (x INTEGER)"))


def _status(c: sa.Connection) -> str:
    from psycopg import pq

    return pq.TransactionStatus(c.connection.dbapi_connection.pgconn.transaction_status).name


def test_the_query_opens_the_transaction(db: Database) -> None:
    """The query's rows come back as text; the server holds a transaction afterwards, so
    psycopg sends no BEGIN of its own and a rollback undoes what followed. Mutation:
    send the query without the BEGIN and the connection is idle after it (psycopg would
    open a second round trip's transaction before the INSERT)."""
    _table(db)
    if db.is_sqlite:
        with db.write() as c:
            assert begin_with(c, "SELECT 1") is None
        return
    with db.write() as c:
        assert _status(c) == "IDLE"
        assert begin_with(c, "SELECT 1, NULL, 'x'") == [("1", None, "x")]
        assert _status(c) == "INTRANS"
        assert begin_with(c, "SELECT 2") is None  # the transaction is open: the caller runs it
        c.execute(sa.text("INSERT INTO pgbegin_probe VALUES (1)"))
    with pytest.raises(RuntimeError), db.write() as c:
        assert begin_with(c, "SELECT 1") == [("1",)]
        c.execute(sa.text("INSERT INTO pgbegin_probe VALUES (2)"))
        raise RuntimeError("rolled back")
    with db.read() as c:
        assert list(c.execute(sa.text("SELECT x FROM pgbegin_probe")).scalars()) == [1]


def test_not_without_a_transaction_begun_by_sqlalchemy(db: Database) -> None:
    """A connection SQLAlchemy has not begun (autobegin pending) is left alone: a BEGIN
    sent then would open a transaction nobody commits. Mutation: drop the
    ``in_transaction`` condition and the call answers rows."""
    if db.is_sqlite:
        return
    with db.engine.connect() as c:
        assert not c.in_transaction()
        assert begin_with(c, "SELECT 1") is None


def test_a_failing_query_fails_the_transaction(db: Database) -> None:
    """The driver's error, and the transaction is then failed as after any failing first
    statement (rolled back by the caller). Mutation: ignore the error result and the
    call answers [] for a query that failed."""
    if db.is_sqlite:
        return
    import psycopg

    with pytest.raises(psycopg.errors.UndefinedTable), db.write() as c:
        begin_with(c, "SELECT * FROM no_such_table_here")
    with db.read() as c:
        assert c.execute(sa.text("SELECT 1")).scalar() == 1


def test_literal_quotes_like_the_server_reads(db: Database) -> None:
    """Quotes and backslashes survive the round trip."""
    if db.is_sqlite:
        return
    tricky = "o'brien \\ \"x\" 名"
    with db.write() as c:
        assert begin_with(c, f"SELECT {literal(c, tricky)}") == [(tricky,)]

"""A write's last statement sent with its COMMIT (``jimu.platform.pgtail``): on PostgreSQL a
deferrable ``insert_together`` waits on the connection and goes in one pipeline with the
``COMMIT``; whatever reaches the connection first sends it before itself (so statements
run in the order written and see its rows); a rollback, also to a savepoint, drops it
with the rest; its failure fails the commit, as SQLAlchemy raises any commit's error, and
leaves nothing written. Elsewhere (SQLite, statements listened to, a transaction not yet
open on the server) the statement runs at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform import pgtail, wakeup
from jimu.platform.db import Database
from jimu.platform.lean_insert import LeanInsert, insert_together

_meta = sa.MetaData()
_rows = sa.Table(
    "t_pgtail", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(50), unique=True),
    sa.Column("n", sa.Integer),
)
_INSERT = LeanInsert(_rows, ("name", "n"))


def _tables(db: Database) -> None:
    with db.write() as c:
        _meta.create_all(c)


def _names(db: Database) -> list[str]:
    with db.read() as c:
        return list(c.execute(sa.select(_rows.c.name).order_by(_rows.c.id)).scalars())


def _write(c: sa.Connection, name: str, n: int = 1) -> None:
    insert_together(c, [(_INSERT, {"name": name, "n": n})], None, deferrable=True)


def _deferred(c: sa.Connection) -> bool:
    return pgtail.DEFERRED in c.connection.info


def _open(c: sa.Connection) -> None:
    """Open the transaction on the server (a deferral waits for a statement before it)."""
    c.execute(sa.text("SELECT 1"))


def test_the_statement_goes_with_the_commit(db: Database) -> None:
    """Deferred until the commit, then written: one pipeline for both. Mutation:
    ``do_commit`` not replaced (the deferred row is never written)."""
    _tables(db)
    with db.write() as c:
        _open(c)
        _write(c, "a")
        assert _deferred(c) is (not db.is_sqlite)
    with db.write() as c:
        c.execute(sa.text("CREATE TABLE t_pgtail_ddl (x INTEGER)"))  # psycopg then deallocates all
        _write(c, "b")
        assert _deferred(c) is (not db.is_sqlite)
    assert _names(db) == ["a", "b"]


def test_not_before_the_transaction_is_open_on_the_server(db: Database) -> None:
    """As the transaction's first statement it runs at once (a COMMIT sent after it
    alone would find no transaction)."""
    _tables(db)
    with db.write() as c:
        _write(c, "first")
        assert not _deferred(c)
    assert _names(db) == ["first"]


def test_what_comes_next_sends_it_first(db: Database) -> None:
    """A statement through SQLAlchemy, a text statement, another lean insert: each sends
    the deferred one first, so it sees its row and the order is the written one.
    Mutations: the dialect's executions not flushing (the count misses the row), the
    lean path not flushing (the ids come out of order)."""
    _tables(db)
    with db.write() as c:
        _open(c)
        _write(c, "a")
        assert c.execute(sa.select(sa.func.count()).select_from(_rows)).scalar_one() == 1
        assert not _deferred(c)
        _write(c, "b")
        assert c.exec_driver_sql("SELECT count(*) FROM t_pgtail").scalar_one() == 2
        _write(c, "c")
        _INSERT(c, {"name": "d", "n": 4})
        _write(c, "e")
    assert _names(db) == ["a", "b", "c", "d", "e"]


def test_a_rollback_drops_it(db: Database) -> None:
    """Rolled back with the transaction, and not sent by the connection's next commit.
    Mutation: ``do_rollback`` keeping it (the next write of the thread's kept connection
    commits it: "lost" appears)."""
    _tables(db)
    with pytest.raises(RuntimeError), db.write() as c:
        _open(c)
        _write(c, "lost")
        raise RuntimeError("refused")
    with db.write() as c:
        _open(c)
        _write(c, "kept")
    assert _names(db) == ["kept"]


def test_a_savepoint_rolled_back_takes_it_along(db: Database) -> None:
    """Deferred inside a savepoint that is rolled back: gone; deferred before it: kept
    (the SAVEPOINT statement sent it first)."""
    _tables(db)
    with db.write() as c:
        _open(c)
        _write(c, "before")
        sp = c.begin_nested()
        _write(c, "inside")
        sp.rollback()
        _write(c, "after")
    assert _names(db) == ["before", "after"]


def test_its_failure_fails_the_commit(db: Database) -> None:
    """A duplicate unique value: the commit raises SQLAlchemy's IntegrityError, nothing of
    the transaction is written, and the thread's next write works on a connection in a
    clean state."""
    _tables(db)
    with db.write() as c:
        _open(c)
        _write(c, "taken")
    with pytest.raises(sa.exc.IntegrityError), db.write() as c:
        c.execute(_rows.insert().values(name="with it", n=1))
        _write(c, "taken")
    with db.write() as c:
        _open(c)
        _write(c, "next")
    assert _names(db) == ["taken", "next"]


def test_a_commit_failing_on_its_own(db: Database) -> None:
    """The deferred statement succeeds, the COMMIT fails (a deferred constraint checked at
    commit): the commit's error is raised, nothing is written."""
    if db.is_sqlite:
        return
    with db.write() as c:
        c.execute(sa.text("CREATE TABLE t_pgtail_p (id INTEGER PRIMARY KEY)"))
        c.execute(sa.text("CREATE TABLE t_pgtail_c (p INTEGER REFERENCES t_pgtail_p (id) "
                          "DEFERRABLE INITIALLY DEFERRED, name VARCHAR(50), n INTEGER)"))
    child = sa.Table("t_pgtail_c", sa.MetaData(), sa.Column("p", sa.Integer), sa.Column("name", sa.String(50)),
                     sa.Column("n", sa.Integer))
    orphan = LeanInsert(child, ("p", "name", "n"))
    with pytest.raises(sa.exc.IntegrityError), db.write() as c:
        _open(c)
        insert_together(c, [(orphan, {"p": 99, "name": "orphan", "n": 1})], None, deferrable=True)
        assert _deferred(c)
    with db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM t_pgtail_c")).scalar_one() == 0


def test_not_while_statements_are_listened_to(db: Database) -> None:
    """A ``before_cursor_execute`` listener (a test counting statements, tracing) sees
    every statement: nothing is deferred past it."""
    _tables(db)
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        with db.write() as c:
            _open(c)
            _write(c, "seen")
            assert not _deferred(c)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert any("t_pgtail" in s for s in seen)
    assert _names(db) == ["seen"]


def test_the_notify_reaches_a_listener_after_the_commit(db: Database) -> None:
    """The deferred statement's ``pg_notify`` is delivered when the pipelined COMMIT
    commits (the event outbox wakes other workers so)."""
    if db.is_sqlite:
        return
    _tables(db)
    import psycopg

    channel = wakeup.channel("pgtail_probe", "public")
    url = db.engine.url.set(drivername="postgresql")
    dsn = url.render_as_string(hide_password=False).split("?")[0]
    got = threading.Event()
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f'LISTEN "{channel}"')
        with db.write() as c:
            _open(c)
            insert_together(c, [(_INSERT, {"name": "n", "n": 1})], channel, deferrable=True)
            assert _deferred(c)
        for _note in listener.notifies(timeout=5, stop_after=1):
            got.set()
    assert got.is_set()


def test_a_failure_mid_pipeline_discards_the_connection(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error between sending and reading the pipeline's answers (here the flush) leaves
    the connection mid-pipeline, where no statement can follow: it is closed, the commit
    raises, and the thread's next write gets a working connection. (Whether the server
    committed is unknown to the client, as for any COMMIT whose answer is lost: here
    libpq had sent both before the error.) Left open, the pool's reset would discard it
    as well, after a failed ROLLBACK ("not allowed in pipeline mode") logged as an
    exception during reset: the close spares that, and this test passes either way; it
    checks the connection is not used again."""
    if db.is_sqlite:
        return
    _tables(db)
    from psycopg import generators

    def broken(_pgconn: Any) -> Any:
        raise OSError("flush failed")

    with db.write() as c:
        _open(c)
        raw = c.connection.dbapi_connection
    monkeypatch.setattr(generators, "send", broken)
    with pytest.raises(OSError), db.write() as c:
        _open(c)
        _write(c, "lost")
    monkeypatch.undo()
    assert raw.closed
    with db.write() as c:
        _open(c)
        _write(c, "next")
    assert _names(db)[-1] == "next"

"""A lean statement straight through libpq (``jimu.platform.pgdirect``): on PostgreSQL,
inside a transaction already open on the server, ``LeanInsert`` runs without a psycopg
cursor and answers what the cursor would (``test_lean_insert.py`` compares the stored
bytes and the returned values, types included, with SQLAlchemy's); as a transaction's
first statement it takes the cursor, which sends psycopg's ``BEGIN``; a failing
statement raises SQLAlchemy's error, as through the cursor."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.db import Database
from jimu.platform.lean_insert import LeanInsert

_meta = sa.MetaData()
_rows = sa.Table(
    "t_pgdirect", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(50), unique=True),
)
_ROW = LeanInsert(_rows, ("name",), returning=True)
_PLAIN = LeanInsert(_rows, ("name",))


@pytest.fixture
def cursors(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the psycopg cursors made."""
    import psycopg

    made: list[int] = []
    cursor = psycopg.Connection.cursor

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return cursor(self, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "cursor", counted)
    return made


def test_no_cursor_inside_an_open_transaction(db: Database, cursors: list[int]) -> None:
    """Mutation: ``open_on_server`` answering False (a cursor per statement)."""
    if db.is_sqlite:
        return
    with db.write() as c:
        _meta.create_all(c)
    cursors.clear()
    with db.write() as c:
        first = _ROW.row(c, {"name": "first"})  # the cursor: psycopg opens the transaction
        assert len(cursors) == 1
        second = _ROW.row(c, {"name": "second"})
        _PLAIN(c, {"name": "third"})
        assert len(cursors) == 1
    assert first is not None and second is not None and second["id"] == first["id"] + 1
    with db.read() as c:
        assert list(c.execute(sa.select(_rows.c.name).order_by(_rows.c.id)).scalars()) == ["first", "second", "third"]


def test_a_failing_statement_raises_sqlalchemys_error(db: Database) -> None:
    """A duplicate: ``IntegrityError`` from the statement itself, the transaction rolled
    back, the next write fine."""
    with db.write() as c:
        _meta.create_all(c)
        _ROW.row(c, {"name": "taken"})
    with pytest.raises(sa.exc.IntegrityError), db.write() as c:
        _ROW.row(c, {"name": "other"})
        _ROW.row(c, {"name": "taken"})
    with db.write() as c:
        _ROW.row(c, {"name": "next"})
    with db.read() as c:
        assert list(c.execute(sa.select(_rows.c.name).order_by(_rows.c.id)).scalars()) == ["taken", "next"]


def test_a_list_read_goes_without_a_cursor(db: Database, cursors: list[int]) -> None:
    """A ``DriverSelect`` on the read pool (autocommit, idle) goes straight to libpq and
    answers what ``Connection.execute`` does. Mutation: ``_applies`` without the autocommit
    case (a cursor per read)."""
    if db.is_sqlite:
        return
    from jimu.platform.driver_select import DriverSelect

    with db.write() as c:
        _meta.create_all(c)
        c.execute(_rows.insert(), [{"name": f"n{i}"} for i in range(5)])
    select = DriverSelect(sa.select(_rows.c.id, _rows.c.name).where(_rows.c.name != "n2").order_by(_rows.c.id.desc())
                          .limit(3))
    with db.read() as c:
        want = [tuple(r) for r in c.execute(select.stmt).all()]
        cursors.clear()
        got = select.rows(c)
        assert not cursors
    assert got == want and [name for _id, name in got] == ["n4", "n3", "n1"]


class _Verdict(Exception):
    pass


def _refuse(_row: Any) -> None:
    raise _Verdict()


def test_a_deferred_check_goes_with_the_next_statement(db: Database) -> None:
    """``defer_check``: the check's BEGIN, the check and the next lean statement in one
    pipeline; its row reaches ``verify`` before the statement's answer."""
    if db.is_sqlite:
        return
    with db.write() as c:
        _meta.create_all(c)
    rows: list[Any] = []
    from jimu.platform import pgdirect

    with db.write() as c:
        assert pgdirect.defer_check(c, "SELECT %(x)s::INTEGER + 1", {"x": 41}, rows.append)
        made = _ROW.row(c, {"name": "after"})
        assert rows == [(42,)] and made is not None
    with db.read() as c:
        assert list(c.execute(sa.select(_rows.c.name)).scalars()) == ["after"]


def test_a_refused_check_blocks_the_transaction_even_when_swallowed(db: Database) -> None:
    """The verdict raised by the statement that carried the check, swallowed by a
    careless caller: every later statement and the commit raise it again, nothing is
    written, and the thread's next transaction (the verdict forgotten with its
    transaction) works; a check left waiting on a read connection that then ran nothing
    does not fire in the next read (the pool's reset drops it, through the dialect's
    rollback; a check-in listener does too, as a backstop: removing either alone keeps
    this passing). Mutation: the verdict not kept (the commit writes "swallowed")."""
    if db.is_sqlite:
        return
    from jimu.platform import pgdirect

    with db.write() as c:
        _meta.create_all(c)
    with pytest.raises(_Verdict), db.write() as c:
        assert pgdirect.defer_check(c, "SELECT 1", {}, _refuse)
        try:
            _ROW.row(c, {"name": "swallowed"})
        except _Verdict:
            pass
        with pytest.raises(_Verdict):
            c.execute(sa.select(_rows.c.id)).all()
    with db.write() as c:
        _ROW.row(c, {"name": "next"})
    with db.read() as c:
        assert list(c.execute(sa.select(_rows.c.name)).scalars()) == ["next"]
        assert pgdirect.defer_check(c, "SELECT 1", {}, _refuse)  # a read that then runs nothing
    with db.read() as c:  # the same pooled connection: nothing waits on it any more
        assert list(c.execute(sa.select(_rows.c.name)).scalars()) == ["next"]

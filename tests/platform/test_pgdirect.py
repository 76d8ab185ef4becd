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

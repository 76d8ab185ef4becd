"""jimu.platform.driver_select: a kept SELECT run on the driver's cursor answers what
``conn.execute(stmt).all()`` answers, value for value and type for type; hooks and errors
behave as through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from jimu.platform.db import Database, DecimalType, TZDateTime
from jimu.platform.driver_select import DriverSelect

META = sa.MetaData()
T = sa.Table("ds_rows", META, sa.Column("id", sa.Integer, primary_key=True), sa.Column("owner", sa.Text),
             sa.Column("at", TZDateTime), sa.Column("qty", DecimalType(18, 4)), sa.Column("ok", sa.Boolean),
             sa.Column("doc", sa.JSON))


@pytest.fixture
def filled(db: Database) -> Database:
    at = datetime(2026, 12, 6, 17, 5, 1, 123456, tzinfo=UTC)
    with db.write() as c:
        META.create_all(c)
        c.execute(T.insert(), [{"id": i, "owner": "clerk" if i % 2 else "admin", "at": at, "qty": Decimal(i) / 8,
                                "ok": bool(i % 3), "doc": {"n": i, "tags": ["a", "b"]}} for i in range(1, 40)]
                  + [{"id": 99, "owner": "clerk", "at": None, "qty": None, "ok": None, "doc": None}])
    return db


def _first_page(owner: str = "clerk") -> Any:
    return sa.select(T).where(T.c.owner == owner, T.c.qty >= Decimal("0.5")).order_by(T.c.id.desc()).limit(12)


def test_rows_equal_what_sqlalchemy_reads(filled):
    """Bound values (a text, a decimal through its bind processor) and every column's result
    processor as SQLAlchemy applies them. Mutation: return the driver's rows without the
    result processors and SQLite's timestamps, decimals, booleans and JSON come back as text
    and integers (PostgreSQL's driver converts most itself: its timestamps still differ by
    the column's tz handling only when naive, so SQLite is the one that fails)."""
    stmt = _first_page()
    kept = DriverSelect(stmt)
    with filled.read() as c:
        want = [tuple(r) for r in c.execute(stmt)]
        for _ in range(3):  # the plan is made once and reused
            got = kept.rows(c)
            assert [tuple(r) for r in got] == want
            assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in want]
            assert [str(r[3]) for r in got] == [str(r[3]) for r in want]  # the scale too
    assert len(want) == 12 and all(r[1] == "clerk" for r in want)


def test_a_statement_hook_sees_the_statement(filled):
    """While a ``before_cursor_execute`` listener is registered the statement goes through
    ``Connection.execute`` (same rows). Mutation: ignore ``_listened`` and the listener
    sees nothing."""
    kept = DriverSelect(_first_page())
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    with filled.read() as c:
        plain = kept.rows(c)
    event.listen(filled.engine, "before_cursor_execute", capture)
    try:
        with filled.read() as c:
            hooked = kept.rows(c)
    finally:
        event.remove(filled.engine, "before_cursor_execute", capture)
    assert any("ds_rows" in s for s in seen)
    assert [tuple(r) for r in hooked] == [tuple(r) for r in plain]


def test_a_failing_statement_raises_sqlalchemys_error(filled):
    """A run that fails in the driver raises what ``Connection.execute`` raises (a
    ``sqlalchemy.exc.DBAPIError``), not the driver's own exception. Mutation: no
    fallback to ``Connection.execute`` and sqlite3's / psycopg's error escapes."""
    kept = DriverSelect(_first_page())
    with filled.read() as c:
        kept.rows(c)
    with filled.write() as c:
        c.execute(sa.text("DROP TABLE ds_rows"))
    with pytest.raises(sa.exc.DBAPIError):
        with filled.read() as c:
            kept.rows(c)


def test_an_expanding_in_goes_through_sqlalchemy(filled):
    """A statement whose SQL is finished per run (``IN`` of a list) is left to SQLAlchemy
    and still answers its rows. Mutation: drop the ``post_compile_params`` check and a
    plan is made (its run fails in the driver and is repeated by SQLAlchemy)."""
    stmt = sa.select(T.c.id).where(T.c.id.in_([3, 5, 7])).order_by(T.c.id)
    kept = DriverSelect(stmt)
    with filled.read() as c:
        assert [r[0] for r in kept.rows(c)] == [3, 5, 7]
        assert kept._plans[c.dialect] is None

"""jimu.platform.fast_update: rows updated by id through the driver (one UPDATE ... FROM
unnest on PostgreSQL, a plain executemany on SQLite) are stored exactly as SQLAlchemy's
own update stores them, and no other row changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from jimu.platform.db import Database, DecimalType, TZDateTime
from jimu.platform.fast_update import update_rows


def test_updated_values_equal_sqlalchemy_update(db_url):
    """Two copies of a table; half the rows updated through SQLAlchemy in one, through
    ``update_rows`` in the other (decimals, dates, a timezone-aware timestamp, COPY's and
    SQL's special characters, NULLs, a column cleared by a constant): the stored text is
    the same, ``version`` went up by one on the updated rows only, the other rows are as
    they were. Mutations tried, each seen failing: the values bound without their
    column's bind processor (SQLite refused the Decimal); ids paired with the values of
    the previous row (the stored rows differ); the version bump left out."""
    db = Database(db_url)
    meta = sa.MetaData()

    def table(name: str) -> sa.Table:
        return sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("version", sa.Integer, nullable=False), sa.Column("k", sa.Integer),
                        sa.Column("at", TZDateTime), sa.Column("qty", DecimalType(18, 4)), sa.Column("on", sa.Date),
                        sa.Column("note", sa.Text), sa.Column("doc", sa.String(40)))

    slow, fast = table("fu_slow"), table("fu_fast")
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 12, 6, 20, 5, 1, 123456, tzinfo=shanghai)
    start = [{"id": i, "version": 1, "k": i, "at": datetime(2026, 1, 1, tzinfo=UTC), "qty": Decimal(i),
              "on": date(2026, 1, 1), "note": f"n{i}", "doc": f"PO-{i}"} for i in range(1, 11)]
    changes = [(i, i * 7 if i != 4 else None, Decimal("5.1") if i % 3 else Decimal("2.00005"), date(2026, 2, i),
                f"SO-{i}\t← 'x'; \\ ×2\nx" if i != 6 else None) for i in range(2, 11, 2)]
    names = ["k", "qty", "on", "note"]
    try:
        with db.write() as c:
            meta.create_all(c)
            c.execute(slow.insert(), start)
            c.execute(fast.insert(), start)
            for i, *values in changes:
                c.execute(sa.update(slow).where(slow.c.id == i).values(
                    {**dict(zip(names, values, strict=True)), "at": at, "doc": None, "version": slow.c.version + 1}))
            assert update_rows(c, fast, names, list(reversed(changes)), {"at": at, "doc": None}) == len(changes)
            assert update_rows(c, fast, names, []) == 0
        with db.read() as c:
            cols = ["id", "version", "k", "at", "qty", "on", "note", "doc"]

            def raw(t: sa.Table) -> list[tuple[object, ...]]:
                return [tuple(r) for r in c.execute(sa.select(*(sa.cast(t.c[n], sa.Text) for n in cols))
                                                     .order_by(t.c.id))]
            assert raw(fast) == raw(slow)
            versions = dict(c.execute(sa.select(fast.c.id, fast.c.version)).all())
            assert versions == {i: 2 if i % 2 == 0 else 1 for i in range(1, 11)}
            assert c.execute(sa.select(fast.c.at).where(fast.c.id == 2)).scalar() == at
            assert c.execute(sa.select(fast.c.doc).where(fast.c.id == 3)).scalar() == "PO-3"
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()


def test_a_value_too_long_for_its_column_is_refused_not_cut(db_url):
    """PostgreSQL refuses a text longer than a ``VARCHAR(n)`` column, as an insert does
    (SQLite keeps any length in either case). Mutation tried: the arrays cast to the
    column's own ``VARCHAR(8)`` (seen failing: the value was cut to 8 characters)."""
    import pytest

    db = Database(db_url)
    meta = sa.MetaData()
    t = sa.Table("fu_long", meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("version", sa.Integer, nullable=False), sa.Column("doc", sa.String(8)))
    try:
        with db.write() as c:
            meta.create_all(c)
            c.execute(t.insert(), [{"id": 1, "version": 1, "doc": "PO-1"}])
        if db.engine.dialect.name == "postgresql":
            with pytest.raises(Exception, match="too long"), db.write() as c:  # the driver's own error
                update_rows(c, t, ["doc"], [(1, "PO-123456789")])
            expected = "PO-1"
        else:
            with db.write() as c:
                update_rows(c, t, ["doc"], [(1, "PO-123456789")])
            expected = "PO-123456789"
        with db.read() as c:
            assert c.execute(sa.select(t.c.doc)).scalar() == expected
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()

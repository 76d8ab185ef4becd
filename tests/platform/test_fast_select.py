"""jimu.platform.fast_select: rows read as tuples with each column's result processor
memoized equal what ``conn.execute`` gives, value for value and type for type."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from jimu.platform.db import Database, DecimalType, TZDateTime
from jimu.platform.fast_select import select_tuples


def test_tuples_equal_sqlalchemy_rows(db_url):
    """Mutation tried: the raw values returned without their column's result processor
    (seen failing on SQLite: its decimal and date text came back as str;
    psycopg converts those itself, so PostgreSQL still passed)."""
    db = Database(db_url)
    meta = sa.MetaData()
    t = sa.Table("fs_rows", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("k", sa.Integer),
                 sa.Column("at", TZDateTime), sa.Column("qty", DecimalType(18, 4)), sa.Column("on", sa.Date),
                 sa.Column("note", sa.Text))
    at = datetime(2026, 12, 6, 20, 5, 1, 123456, tzinfo=timezone(timedelta(hours=8)))
    rows = [{"id": i, "k": i % 3, "at": at if i % 2 else datetime(2026, 1, 1, tzinfo=UTC),
             "qty": Decimal("5.1") if i % 2 else Decimal(i), "on": date(2026, 1, 5 + i % 3), "note": f"n{i % 2}"}
            for i in range(1, 30)]
    rows.append({"id": 99, "k": None, "at": None, "qty": None, "on": None, "note": None})
    try:
        with db.write() as c:
            meta.create_all(c)
            c.execute(t.insert(), rows)
        with db.read() as c:
            sel = sa.select(t.c.id, t.c.k, t.c.at, t.c.qty, t.c.on, t.c.note).where(t.c.id > 1).order_by(t.c.id)
            want = [tuple(r) for r in c.execute(sel)]
            got = select_tuples(c, sel)
        assert got == want
        assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in want]
        assert [str(r[3]) for r in got] == [str(r[3]) for r in want]  # the scale too (5.1000)
        assert len(got) == 29
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()

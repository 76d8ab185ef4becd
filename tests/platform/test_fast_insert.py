"""jimu.platform.fast_insert: rows written through the driver (COPY on PostgreSQL, a plain
executemany on SQLite) are stored exactly as SQLAlchemy's own insert stores them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa

from jimu.platform.db import Database, DecimalType, TZDateTime
from jimu.platform.fast_insert import insert_rows


def test_stored_values_equal_sqlalchemy_insert(db_url):
    """Mutation tried: binding the values without their column's bind processor (seen
    failing: SQLite refused the Decimal; PostgreSQL's driver adapts the values itself). The
    note has COPY's special characters (tab, newline, backslash) and a NULL row."""
    db = Database(db_url)
    meta = sa.MetaData()
    def table(name: str) -> sa.Table:
        return sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("k", sa.Integer),
                        sa.Column("at", TZDateTime), sa.Column("qty", DecimalType(18, 4)), sa.Column("on", sa.Date),
                        sa.Column("note", sa.Text))

    slow, fast = table("fi_slow"), table("fi_fast")
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 12, 6, 20, 5, 1, 123456, tzinfo=shanghai)
    rows = [(i, i % 3, at if i % 2 else datetime(2026, 1, 1, tzinfo=UTC), Decimal("5.1") if i % 2 else Decimal("5.1000"),
             date(2026, 1, 5 + i % 3), f"SO-{i}\t← 安全库存 \\ ×2\nx" if i != 3 else None) for i in range(1, 8)]
    rows.append((8, None, None, None, None, None))
    names = ["id", "k", "at", "qty", "on", "note"]
    try:
        _stored_alike(db, meta, slow, fast, names, rows)
        with db.read() as c:
            assert c.execute(sa.select(fast.c.at).where(fast.c.id == 1)).scalar() == at
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()


def _stored_alike(db: Database, meta: sa.MetaData, slow: sa.Table, fast: sa.Table, names: list[str],
                  rows: list[tuple[object, ...]]) -> None:
    """Creates the tables, writes ``rows`` into ``slow`` with SQLAlchemy's insert and into
    ``fast`` with insert_rows (from an iterator) and checks the stored text is the same."""
    with db.write() as c:
        meta.create_all(c)
        c.execute(slow.insert(), [dict(zip(names, r, strict=True)) for r in rows])
        assert insert_rows(c, fast, names, iter(rows)) == len(rows)
    with db.read() as c:
        def raw(t: sa.Table) -> list[tuple[object, ...]]:
            # the stored text itself, not the values read back through the types
            return [tuple(r) for r in c.execute(sa.select(*(sa.cast(t.c[n], sa.Text) for n in names))
                                                 .order_by(t.c.id))]
        assert raw(fast) == raw(slow)


def test_constants_and_column_wise_processing(db_url):
    """Values given once for every row (``constants``) are stored as if each row carried
    them; rows of the wrong width are refused before anything is written.
    Mutation tried: the constants zipped without their columns' bind processors (seen
    failing: SQLite refused the Decimal and the timezone-aware timestamp)."""
    db = Database(db_url)
    meta = sa.MetaData()
    t = sa.Table("fi_const", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("run", sa.Integer),
                 sa.Column("at", TZDateTime), sa.Column("qty", DecimalType(18, 4)), sa.Column("on", sa.Date),
                 sa.Column("who", sa.Text))
    at = datetime(2026, 12, 6, 20, 5, 1, tzinfo=timezone(timedelta(hours=8)))
    rows = [(i, date(2026, 1, 5 + i % 2)) for i in range(1, 6)]
    try:
        with db.write() as c:
            meta.create_all(c)
            n = insert_rows(c, t, ["id", "on"], rows, {"run": 7, "at": at, "qty": Decimal("2.5"), "who": "o'brien"})
            assert n == 5
            try:
                insert_rows(c, t, ["id", "on"], [(9, date(2026, 1, 5)), (10,)])
            except ValueError:
                pass
            else:
                raise AssertionError("a short row was accepted")
            assert insert_rows(c, t, ["id", "on"], iter(())) == 0
        with db.read() as c:
            got = [tuple(r) for r in c.execute(sa.select(t.c.id, t.c.run, t.c.at, t.c.qty, t.c.on, t.c.who)
                                               .order_by(t.c.id))]
        assert got == [(i, 7, at, Decimal("2.5000"), d, "o'brien") for i, d in rows]
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()


def test_decimals_round_and_refuse_as_the_column_type(db_url):
    """SQLite's decimal columns are formatted inline (not through the bind processor):
    the stored text still equals SQLAlchemy's for halves (rounded away from zero, as
    PostgreSQL's NUMERIC rounds), exponents, integers, zeros and NULL, and a NaN is refused
    as the column type refuses it; on PostgreSQL Decimals pass as they are, through the
    same checks. Mutations tried: ``quantize`` without ``ROUND_HALF_UP`` in
    ``_decimal_column`` (seen failing: 1.00005 stored as 1 instead of 1.0001); PostgreSQL's
    pass-through without ``is_finite`` (seen failing: the NaN stored)."""
    from jimu.core.money import DecimalInputError

    db = Database(db_url)
    meta = sa.MetaData()
    def table(name: str) -> sa.Table:
        return sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("qty", DecimalType(18, 4)))

    slow, fast = table("fi_dec_slow"), table("fi_dec_fast")
    values = [Decimal("1.00005"), Decimal("-1.00005"), Decimal("2.00015"), Decimal("2.5E+3"), 7, Decimal("0E-10"),
              None, Decimal("123456.78"), Decimal("5.1000")]
    rows = list(enumerate(values, start=1))
    try:
        with db.write() as c:
            meta.create_all(c)
            c.execute(slow.insert(), [{"id": i, "qty": v} for i, v in rows])
            assert insert_rows(c, fast, ["id", "qty"], rows) == len(rows)
        with db.read() as c:
            def raw(t: sa.Table) -> list[tuple[object, ...]]:
                return [tuple(r) for r in c.execute(sa.select(t.c.id, sa.cast(t.c.qty, sa.Text)).order_by(t.c.id))]
            assert raw(fast) == raw(slow)
            assert c.execute(sa.select(fast.c.qty).where(fast.c.id == 1)).scalar() == Decimal("1.0001")
        try:
            with db.write() as c:
                insert_rows(c, fast, ["id", "qty"], [(20, Decimal("2")), (21, Decimal("NaN"))])
        except (DecimalInputError, sa.exc.StatementError, sa.exc.DataError):
            pass
        else:
            raise AssertionError("a NaN quantity was stored")
        with db.read() as c:
            assert c.execute(sa.select(sa.func.count()).select_from(fast).where(fast.c.id >= 20)).scalar() == 0
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()


def test_inline_decimal_text_equals_the_processors_at_any_scale() -> None:
    """The inline text of a SQLite decimal column is the bind processor's, also at a scale
    over 6 where ``str`` of a quantized Decimal takes an exponent (1E-8). Mutation tried:
    the exponent rewrite in ``_decimal_column`` removed (seen failing: "1E-8" for
    "0.00000001")."""
    from sqlalchemy.dialects import sqlite

    from jimu.platform.fast_insert import _decimal_column

    dialect = sqlite.dialect()
    for scale in (0, 2, 4, 8, 10):
        t = DecimalType(24, scale)
        proc = t.dialect_impl(dialect).bind_processor(dialect)
        assert proc is not None and t._quantum is not None
        values = [Decimal("0.00000001"), Decimal("0E-12"), Decimal("1.5"), Decimal("-0.000000015"), None, 3,
                  Decimal("12345.678901234"), Decimal("2.5E+3"), Decimal("-0.5")]
        assert _decimal_column(values, t._quantum, proc) == [None if v is None else proc(v) for v in values], scale


def test_rows_from_a_generator_in_chunks(db_url, monkeypatch):
    """``rows`` may be a generator (a run's lines are written while they are made): on
    PostgreSQL the COPY takes them ``COPY_CHUNK`` at a time, on SQLite a writer thread
    ``SQLITE_CHUNK`` at a time; every row lands, in order, the
    last partial chunk included, with the constants; an empty generator writes nothing.
    Mutation tried: the COPY loop stopping after the first chunk (``break`` right after
    writing it): 3 of 10 rows stored on PostgreSQL."""
    import jimu.platform.fast_insert as fi

    monkeypatch.setattr(fi, "COPY_CHUNK", 3)
    monkeypatch.setattr(fi, "SQLITE_CHUNK", 3)
    db = Database(db_url)
    t = sa.Table("fi_gen", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("k", sa.Integer),
                 sa.Column("qty", DecimalType(18, 2)), sa.Column("run", sa.Integer))
    made: list[int] = []

    def rows():
        for i in range(1, 11):
            made.append(i)
            yield (i, i * 10, Decimal(i) / 4)

    try:
        with db.write() as c:
            t.create(c)
            assert insert_rows(c, t, ["id", "k", "qty"], rows(), {"run": 7}) == 10
            assert insert_rows(c, t, ["id", "k", "qty"], iter(()), {"run": 7}) == 0
        with db.read() as c:
            got = c.execute(sa.select(t).order_by(t.c.id)).all()
        assert [tuple(r) for r in got] == [(i, i * 10, (Decimal(i) / 4).quantize(Decimal("0.01")), 7)
                                          for i in range(1, 11)]
        assert made == list(range(1, 11))
    finally:
        with db.write() as c:
            t.drop(c, checkfirst=True)
        db.dispose()


def test_binary_copy_only_for_values_it_stores_as_text_would(db_url, monkeypatch):
    """PostgreSQL: a chunk of rows whose values are exactly the columns' Python types goes
    in a binary COPY; a chunk with a value the binary dumper would refuse or store
    differently (a datetime for a date) goes in a text COPY in the same transaction, and everything is stored as SQLAlchemy's
    insert stores it; an integer beyond the column's range is refused (psycopg's binary
    dumper wraps it around: 2**40 stored as 0). Mutations tried: ``_fits_binary`` without
    its type check (seen failing: TypeError, NumericBinaryDumper cannot dump str) and
    without its range check (seen failing: 2**40 stored as 0); ``_copy`` never binary (seen
    failing: no binary COPY)."""
    import psycopg

    import jimu.platform.fast_insert as fi

    monkeypatch.setattr(fi, "COPY_CHUNK", 2)
    db = Database(db_url)
    meta = sa.MetaData()

    def table(name: str) -> sa.Table:
        return sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("k", sa.Integer),
                        sa.Column("qty", DecimalType(18, 4)), sa.Column("on", sa.Date), sa.Column("note", sa.String(20)),
                        sa.Column("at", TZDateTime), sa.Column("big", sa.BigInteger))

    slow, fast = table("fi_bin_slow"), table("fi_bin_fast")
    at = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    rows = [(1, 1, Decimal("1.00005"), date(2026, 1, 5), "a", at, 2**40),
            (2, None, Decimal("-2"), None, None, None, None),
            (3, 3, "5.5", date(2026, 1, 6), "b", at, 1),  # text for a decimal
            (4, 4, 7, date(2026, 1, 7), "c", at, 1),
            (5, 5, Decimal("9.9"), datetime(2026, 1, 8), "d", at, 1),  # a datetime for a date
            (6, 6, Decimal("1"), date(2026, 1, 9), "e", at, 1),
            (7, 7, Decimal("2.5"), date(2026, 1, 10), "f", at, -(2**40)),
            (8, 8, Decimal("3"), date(2026, 1, 11), "g", at, 3)]
    names = ["id", "k", "qty", "on", "note", "at", "big"]
    statements: list[str] = []
    copy = psycopg.Cursor.copy

    def spy(self, statement, *a, **kw):  # type: ignore[no-untyped-def]
        statements.append(str(statement))
        return copy(self, statement, *a, **kw)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    try:
        _stored_alike(db, meta, slow, fast, names, rows)
        if db.engine.dialect.name == "postgresql":
            # one COPY per chunk: (1, 2) binary, (3, 4) binary too (the decimal column's
            # processor makes "5.5" a Decimal), (5, 6) text (a datetime for a date), (7, 8) binary
            assert ["BINARY" in s for s in statements] == [True, True, False, True]
            try:
                with db.write() as c:
                    insert_rows(c, fast, ["id", "k"], [(30, 1), (31, 2**40)])
            except psycopg.errors.NumericValueOutOfRange:
                pass
            else:
                raise AssertionError("an integer beyond the column's range was stored")
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()


def test_chunks_in_a_writer_thread_store_what_executemany_stores(db_url, monkeypatch):
    """More rows than ``SQLITE_CHUNK``: chunks go through JSON in a writer thread, or as
    tuples when a value would not come back from JSON as the driver binds it (a float, a
    bool, an integer beyond 64 bits, a NUL in a string); the stored text equals
    SQLAlchemy's insert's, and rows without ids get them in row order (on PostgreSQL the
    same rows go through COPY).
    Mutations tried: ``ORDER BY key DESC`` in the JSON statement (seen failing: ids in
    reverse within each chunk); _json_chunk without its type check (seen failing: the
    infinite float stored as NULL: orjson writes it as null); without the NUL check
    (seen failing: 'a\\x00b' stored as 'a')."""
    import jimu.platform.fast_insert as fi

    monkeypatch.setattr(fi, "SQLITE_CHUNK", 2)
    monkeypatch.setattr(fi, "COPY_CHUNK", 2)
    db = Database(db_url)
    meta = sa.MetaData()

    def table(name: str) -> sa.Table:
        return sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("k", sa.BigInteger),
                        sa.Column("at", TZDateTime), sa.Column("qty", DecimalType(18, 4)), sa.Column("on", sa.Date),
                        sa.Column("note", sa.Text), sa.Column("f", sa.Float))

    at = datetime(2026, 12, 6, 20, 5, 1, 123456, tzinfo=timezone(timedelta(hours=8)))
    rows: list[tuple[object, ...]] = [
        (i, i * 7, at, Decimal("5.1") if i % 2 else Decimal("-0.00005"), date(2026, 1, 5 + i % 3),
         f"SO-{i}\t← 安全库存 \\ \"×2\"\nx\u2028", None) for i in range(1, 8)]
    nul = "a\x00b" if db.engine.dialect.name == "sqlite" else "ab"  # PostgreSQL stores no NUL at all
    rows += [(8, None, None, None, None, None, None), (9, 2**62, at, Decimal(1), None, nul, None),
             (10, -(2**62), None, None, None, "x" * 5000, None), (11, 1, None, None, None, "\\u0000", None),
             (12, 2, None, None, None, "", None), (13, 3, None, None, None, "infinity: JSON has none", float("inf")),
             (14, 4, None, None, None, "", None), (15, 5, None, None, None, "last", None)]
    names = ["id", "k", "at", "qty", "on", "note", "f"]
    seen: list[object] = []
    chunk = fi._json_chunk

    def spy(columns):  # type: ignore[no-untyped-def]
        out = chunk(columns)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(fi, "_json_chunk", spy)
    try:
        _stored_alike(db, meta, table("fi_w_slow"), table("fi_w_fast"), names, rows)
        if db.engine.dialect.name == "sqlite":
            # (1,2) (3,4) (5,6) (7,8) JSON; (9,10) a NUL: tuples; (11,12) tuples too (the
            # text backslash-u0000 is not told from an escaped NUL); (13,14) a float; (15) JSON
            assert seen == [True, True, True, True, False, False, False, True]
        ordered = sa.Table("fi_w_order", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("k", sa.Integer))
        with db.write() as c:
            ordered.create(c)
            assert insert_rows(c, ordered, ["k"], iter([(k,) for k in range(100, 107)])) == 7
        with db.read() as c:
            assert c.execute(sa.select(ordered.c.k).order_by(ordered.c.id)).scalars().all() == list(range(100, 107))
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()


def test_writer_thread_failures_reach_the_caller(db_url, monkeypatch):
    """A chunk the database refuses (a duplicate key) raises its error from insert_rows, as
    does an error of the rows' generator; the writer thread has ended either way and the
    transaction rolls back cleanly (nothing of it stored).
    Mutation tried: the writer's error kept and not raised (seen failing: no error)."""
    import threading

    import jimu.platform.fast_insert as fi

    monkeypatch.setattr(fi, "SQLITE_CHUNK", 2)
    monkeypatch.setattr(fi, "COPY_CHUNK", 2)
    db = Database(db_url)
    t = sa.Table("fi_fail", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("k", sa.Integer))

    def broken():
        yield from [(1, 1), (2, 2), (3, 3)]
        raise RuntimeError("the maker failed")

    try:
        with db.write() as c:
            t.create(c)
        threads = threading.active_count()
        for rows, error in (([(1, 1), (2, 2), (3, 3), (3, 4), (5, 5)], sa.exc.IntegrityError),
                            (broken(), RuntimeError)):
            try:
                with db.write() as c:
                    insert_rows(c, t, ["id", "k"], rows)
            except Exception as exc:  # noqa: BLE001
                assert isinstance(exc, error) or error.__name__ in type(exc).__name__ or \
                    "UniqueViolation" in type(exc).__name__ or "IntegrityError" in type(exc).__name__, exc
            else:
                raise AssertionError("no error")
            assert threading.active_count() == threads
        with db.read() as c:
            assert c.execute(sa.select(sa.func.count()).select_from(t)).scalar() == 0
    finally:
        with db.write() as c:
            t.drop(c, checkfirst=True)
        db.dispose()

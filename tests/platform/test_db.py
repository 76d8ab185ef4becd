"""The column types of jimu.platform.db on both backends: aware UTC datetimes and exact
decimals survive a round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from jimu.platform.db import Database, DecimalType, ExactDecimal, TZDateTime, _sqlite_utc, json_loads


def test_datetimes_and_decimals_round_trip(db_url):
    db = Database(db_url)
    meta = sa.MetaData()
    t = sa.Table("typed_roundtrip", meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("at", TZDateTime), sa.Column("price", DecimalType(18, 2)), sa.Column("x", ExactDecimal()))
    shanghai = timezone(timedelta(hours=8))
    values = [datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=shanghai), datetime(2026, 1, 1, tzinfo=UTC),
              datetime(2026, 6, 1, 8, 30)]  # a naive value is taken as UTC
    try:
        with db.write() as c:
            meta.create_all(c)
            c.execute(t.insert(), [{"id": i, "at": v, "price": "12.345" if i == 0 else 7, "x": "0.1234567890123"}
                                   for i, v in enumerate(values)])
            c.execute(t.insert(), {"id": 9, "at": None, "price": None, "x": None})
        with db.read() as c:
            rows = c.execute(sa.select(t).order_by(t.c.id)).mappings().all()
        got = [r["at"] for r in rows[:3]]
        assert all(g.tzinfo is not None for g in got)
        assert got == [values[0], values[1], values[2].replace(tzinfo=UTC)]
        assert [r["price"] for r in rows[:2]] == [Decimal("12.35"),  # half away from zero on both
                                                  Decimal("7.00")]
        assert str(rows[1]["price"]) == "7.00"
        assert rows[0]["x"] == Decimal("0.1234567890123")
        assert rows[3]["at"] is None and rows[3]["price"] is None and rows[3]["x"] is None
    finally:
        with db.write() as c:
            meta.drop_all(c)
        db.dispose()


def test_sqlite_text_is_read_as_aware_utc():
    assert _sqlite_utc(None) is None
    assert _sqlite_utc("2026-11-30 04:52:27.123456") == datetime(2026, 11, 30, 4, 52, 27, 123456, tzinfo=UTC)
    assert _sqlite_utc("2026-11-30 04:52:27") == datetime(2026, 11, 30, 4, 52, 27, tzinfo=UTC)
    assert _sqlite_utc("2026-11-30").tzinfo is not None
    with_offset = _sqlite_utc("2026-11-30T04:52:27+08:00")
    assert with_offset.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("text", [
    '{"a": [1, 2.5, true, null, "名"], "b": {}}', "[]", '"\\u2028"', "NaN", '{"x": -Infinity}', str(10 ** 30),
    '"\\ud800"', '{"k": 1, "k": 2}', "1e400",
])
def test_json_loads_reads_as_json_loads(text: str) -> None:
    """orjson where it agrees, ``json.loads`` for the rest (NaN and infinities, huge
    integers, a lone surrogate, an overflowing float). Mutation: drop the fallback and the
    NaN, infinity, huge-integer and surrogate cases raise."""
    want, got = json.loads(text), json_loads(text)
    assert repr(got) == repr(want) and type(got) is type(want)


def test_json_columns_are_read_through_json_loads(db, monkeypatch) -> None:
    """Both back ends hand a JSON column's text to ``json_loads``. Mutation: leave
    ``json_deserializer`` out of ``make_engine`` and nothing is counted."""
    import jimu.platform.db as dbmod

    seen: list[object] = []
    real = dbmod.json_loads
    monkeypatch.setattr(dbmod, "json_loads", lambda t: seen.append(t) or real(t))
    fresh = Database(db.url)
    try:
        table = sa.Table("t_json_read", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("doc", sa.JSON))
        table.create(fresh.engine)
        with fresh.write() as c:
            c.execute(table.insert(), {"doc": {"a": [1, "名", None]}})
        with fresh.read() as c:
            assert c.execute(sa.select(table.c.doc)).scalar_one() == {"a": [1, "名", None]}
        assert seen
    finally:
        fresh.dispose()


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.one_of(st.none(), st.timezones())))
def test_sqlite_datetime_text_is_what_sqlalchemy_would_store(value):
    """TZDateTime's one-step SQLite bind (``_sqlite_text``) writes the very text its
    ``process_bind_param`` followed by SQLAlchemy's SQLite DATETIME processor wrote,
    for naive (UTC) and aware datetimes of any zone. Mutations: ``isoformat(" ")`` without
    ``"microseconds"`` (a whole second loses its ``.000000``); no UTC conversion."""
    from sqlalchemy.dialects import sqlite

    from jimu.platform.db import TZDateTime, _sqlite_text

    dialect = sqlite.dialect()
    try:
        expected = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)(
            TZDateTime().process_bind_param(value, dialect))
    except OverflowError:  # beyond year 1..9999 once in UTC: both refuse
        with pytest.raises(OverflowError):
            _sqlite_text(value)
        return
    assert _sqlite_text(value) == expected
    assert TZDateTime().bind_processor(dialect) is _sqlite_text


def test_decimal_result_rounds_a_drivers_decimal_and_refuses_what_is_not_finite() -> None:
    """A Decimal from the driver (psycopg's NUMERIC) is taken as it is, rounded half away
    from zero to the column's scale; NaN and infinities (a NUMERIC can hold them) are
    refused as every other path refuses them. Mutations tried: taking any Decimal as it
    is (NaN came back); dropping the rounding (12.345 stayed)."""
    from jimu.core.money import DecimalInputError

    t, pg = DecimalType(18, 2), sa.dialects.postgresql.dialect()
    assert str(t.process_result_value(Decimal("12.345"), pg)) == "12.35"
    assert str(t.process_result_value(Decimal("-12.345"), pg)) == "-12.35"
    assert str(t.process_result_value(7, pg)) == "7.00"
    for bad in (Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")):
        with pytest.raises(DecimalInputError):
            t.process_result_value(bad, pg)

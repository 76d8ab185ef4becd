"""The list encoder's raw-value converters write the same JSON as the converted values
(``DecimalType`` quantized to its scale then fixed-point text; ``TZDateTime`` as the aware
datetime orjson writes), for what each driver really hands over."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from jimu.core.money import DecimalInputError
from jimu.platform.db import RAW, DecimalType, TZDateTime, read_raw
from jimu.runtime.access.encoder import decimal_text, plain_numeric, timestamp_json
from jimu.runtime.access.policy import _json
from tests.conftest import PG_URL

DECIMALS = ["0", "-0", "1", "-7", "12.25", "-12.25", "1234.56", "0.1", "0.0001", "0.00005", "2.675", "-2.675",
            "99999999999999.9999", "12345678901234.5", "1e-4", "3.14159", "100000", "0.30000000000000004"]
WHEN = [datetime(2026, 12, 6, 11, 7, 4, 131405, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC)]


def _expected_decimal(read: Any, raw: Any) -> Any:
    value = read(raw)
    return None if value is None else format(value, "f")


def test_raw_decimals_and_timestamps_read_back_as_the_converted_values(db):
    """Each value stored in a NUMERIC(18, s) and a timestamp column, selected raw, gives
    the text the converted value gives (on SQLite: integers, short floats taken by the
    fast paths, long floats and text by the column's conversion; on PostgreSQL: Decimals
    and aware datetimes). Mutations: drop the ``<= scale`` check (2.675 stored raw in a
    scale-2 column is written '2.675', not '2.68'), or the zero-fraction branch of the timestamp text ('.000000' kept),
    and this fails."""
    meta = sa.MetaData()
    t = sa.Table("enc_t", meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("d4", DecimalType(18, 4)), sa.Column("d2", DecimalType(18, 2)),
                 sa.Column("d0", DecimalType(18, 0)), sa.Column("at", TZDateTime))
    with db.write() as c:
        meta.create_all(c)
        c.execute(t.insert(), [{"d4": Decimal(v), "d2": Decimal(v) if abs(Decimal(v)) < 10**15 else None,
                                "d0": Decimal(v), "at": WHEN[i % len(WHEN)]} for i, v in enumerate(DECIMALS)]
                  + [{"d4": None, "d2": None, "d0": None, "at": None}])
        # Values not written through the column type (raw SQL, older data): more decimals
        # than the scale, as SQLite keeps them.
        for v in (2.675, -1.23456789, 0.125, 1e-7):
            c.execute(sa.text("INSERT INTO enc_t (d4, d2, d0) VALUES (:v, :v, :v)"), {"v": v})
    with db.read() as c:
        dialect = c.dialect
        cols = [t.c.d4, t.c.d2, t.c.d0, t.c.at]
        converted = c.execute(sa.select(*cols).order_by(t.c.id)).all()
        raw = c.execute(sa.select(*(sa.type_coerce(col, RAW) for col in cols)).order_by(t.c.id)).all()
    texts = [decimal_text(col.type, dialect, _json) for col in cols[:3]]
    stamp = timestamp_json(TZDateTime(), dialect, _json)
    for done, got in zip(converted, raw, strict=True):
        for i, text in enumerate(texts):
            assert text(got[i]) == (None if done[i] is None else format(done[i], "f")), (cols[i].name, got[i])
            assert text(got[i]) == _expected_decimal(read_raw(cols[i].type, dialect), got[i])
        assert orjson.dumps(stamp(got[3])) == orjson.dumps(done[3]), got[3]


def test_timestamp_text_of_any_other_shape_goes_through_the_column_conversion():
    """SQLite text that is not SQLAlchemy's own format (an offset, no fraction) is parsed
    as the column would parse it, not rewritten. Mutation: accept any 26-character text
    in the fast path and '2026-12-06 11:07:04.131+08' is misread."""
    stamp = timestamp_json(TZDateTime(), sa.create_engine("sqlite://").dialect, _json)
    for text in ("2026-12-06 11:07:04.131+08", "2026-12-06 11:07:04", "2026-12-06T11:07:04.131405+08:00"):
        parsed = datetime.fromisoformat(text)
        want = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        assert orjson.dumps(stamp(text)) == orjson.dumps(want), text


@pytest.mark.skipif(not PG_URL, reason="needs JIMU_TEST_PG_URL")
@pytest.mark.parametrize("backend", ["pg"])  # numeric text is selected on PostgreSQL only
def test_postgresql_numeric_text_gives_the_converted_values_text(db):
    """On PostgreSQL a list selects decimal columns as text (``CAST(col AS TEXT)``); that
    text through a column's converter equals what the converted Decimal gives, also when
    the text's scale is not the column's (text of another column: a spec changed ahead of
    its table), and NaN fails as a NaN Decimal fails. Mutation: ``plain_numeric`` answering
    True for any text and a scale-4 text read for a scale-2 column stays '12.2500'."""
    meta = sa.MetaData()
    t = sa.Table("enc_txt", meta, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("d4", DecimalType(18, 4)), sa.Column("d2", DecimalType(18, 2)),
                 sa.Column("d0", DecimalType(18, 0)))
    with db.write() as c:
        meta.create_all(c)
        c.execute(t.insert(), [{"d4": Decimal(v), "d2": Decimal(v) if abs(Decimal(v)) < 10**15 else None,
                                "d0": Decimal(v)} for v in DECIMALS])
    cols = [t.c.d4, t.c.d2, t.c.d0]
    with db.read() as c:
        dialect = c.dialect
        texts = c.execute(sa.select(*(sa.cast(col, sa.Text) for col in cols)).order_by(t.c.id)).all()
        nan = c.execute(sa.text("SELECT 'NaN'::numeric::text")).scalar_one()
    assert all(type(v) is str for row in texts for v in row if v is not None)
    for col in cols:
        text = decimal_text(col.type, dialect, _json)
        read = read_raw(col.type, dialect)
        for row in texts:
            for v in row:
                assert text(v) == (None if v is None else format(read(Decimal(v)), "f")), (col.name, v)
        with pytest.raises(DecimalInputError):
            read(Decimal(nan))
        with pytest.raises(DecimalInputError):
            text(nan)


def test_plain_numeric_takes_only_postgresqls_fixed_point_text_of_the_scale():
    """Mutation: drop the last-digit check and 'Infinity' passes as a scale-0 number."""
    assert plain_numeric("3.5000", 4) and plain_numeric("-0.0001", 4) and plain_numeric("12", 0)
    assert plain_numeric("-7", 0)
    for v, scale in (("3.50", 4), ("3.50000", 4), ("NaN", 4), ("NaN", 0), ("Infinity", 0), ("-Infinity", 0),
                     ("1.5", 0), ("", 0), ("", 2)):
        assert not plain_numeric(v, scale), (v, scale)

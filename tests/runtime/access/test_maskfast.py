"""Masks compiled to closures (jimu/runtime/access/maskfast.py) give what the expression
engine gives, for every raw value each driver may hand over; and the list encoder uses
them for the forms they cover."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from jimu.platform.db import read_raw
from jimu.platform.expressions import Env, compile_expression
from jimu.platform.schema.columns import sql_type
from jimu.platform.specs.app import AppSpec
from jimu.runtime.access.encoder import _mask
from jimu.runtime.access.maskfast import mask_closure
from jimu.runtime.access.policy import MASK_FAILED, _json

APP = AppSpec.model_validate({"name": "m", "entities": [{"name": "item", "fields": [
    {"name": "cost", "type": "decimal", "options": {"precision": 18, "scale": 4}},
    {"name": "price", "type": "money"},
    {"name": "whole", "type": "decimal", "options": {"precision": 18, "scale": 0}},
    {"name": "n", "type": "integer"},
    {"name": "code", "type": "text"}]}]})
ITEM = APP.entity("item")
MASKS = ["ROUND(cost, 0)", "ROUND(cost, 2)", "ROUND(cost, 4)", "ROUND(cost, 7)", "ROUND(cost)", "ROUND(price, 1)",
         "ROUND(whole, 3)", "ROUND(n, 2)", "ROUND(n)", "cost", "price", "n", "code", "42", "1.5", '"***"', "0"]
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.psycopg.dialect()}  # type: ignore[attr-defined]
ENV = Env(user="clerk", roles=("clerk",))

decimals = st.decimals(min_value=Decimal("-99999999999999"), max_value=Decimal("99999999999999"), places=6,
                       allow_nan=False, allow_infinity=False)
# What a driver hands over for a column: SQLite's NUMERIC gives ints and floats (text for
# values written by hand), PostgreSQL's numeric gives Decimals; integers for integer columns.
raws = st.one_of(st.none(), decimals, st.integers(min_value=-10**15, max_value=10**15),
                 st.floats(min_value=-1e14, max_value=1e14, allow_nan=False), decimals.map(str),
                 st.sampled_from([Decimal("2.675"), Decimal("-2.675"), Decimal("0.5"), Decimal("-0.5"),
                                  Decimal("0.00005"), 0.49995, -0.0, 1234.56, Decimal("-0")]))


def _reader(dialect: Any, field: str) -> Any:
    f = ITEM.field(field)
    assert f is not None
    return read_raw(sql_type(f), dialect)


@pytest.mark.parametrize("source", MASKS)
@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=raws)
def test_a_closure_answers_what_the_engine_answers(source: str, dialect: str, raw: Any) -> None:
    """Same JSON value (or MASK_FAILED) as ``_json(compiled.evaluate(record))`` on the
    record the encoder builds (the raw value converted by the column's conversion).
    Mutations caught: rounding ROUND_HALF_EVEN in maskfast (2.675 -> 2.67 at 2 places;
    0.5 -> 0), skipping the column conversion before rounding (a float rounds its binary
    value: 0.49995 at scale 4 is 0.5000 first)."""
    compiled = compile_expression(source, APP, "item", purpose="mask")
    d = DIALECTS[dialect]
    made = mask_closure(compiled, lambda f: _reader(d, f), _json, MASK_FAILED)
    assert made is not None, source
    field, fn = made
    if field is None:
        record: dict[str, Any] = {"id": 1}
    else:
        read = _reader(d, field)
        try:
            value = raw if read is None else read(raw)
        except Exception:  # noqa: BLE001 - the encoder raises there too, before any mask runs
            with pytest.raises(Exception):  # noqa: B017
                fn(raw)
            return
        record = {"id": 1, field: value}
    assert fn(raw) == _mask(compiled, record, ENV, MASK_FAILED, _json)


@pytest.mark.parametrize("source", ["ROUND_TO(cost, 1000)", "ROUND(cost + 1, 2)", "cost * 2", "IF(n > 1, 1, 2)",
                                    'IF($user == "x", 1, 2)'])
def test_other_forms_keep_the_engine(source: str) -> None:
    """Mutation caught: accepting any call as ROUND (ROUND_TO would round to decimals)."""
    compiled = compile_expression(source, APP, "item", purpose="mask")
    assert mask_closure(compiled, lambda f: _reader(DIALECTS["sqlite"], f), _json, MASK_FAILED) is None


@pytest.mark.parametrize("scale", [0, 2, 4])
@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@settings(max_examples=200, deadline=None)
@given(raw=raws)
def test_the_inline_decimal_paths_equal_the_column_conversion(scale: int, dialect: str, raw: Any) -> None:
    """``raw_reader`` and ``decimal_text`` take a Decimal (PostgreSQL's numeric) without
    the column's ``process_result_value``; same value / text as that conversion, for
    Decimals of any exponent. Mutation caught: ROUND_HALF_EVEN in either inline path
    (Decimal('2.675') at scale 2)."""
    from jimu.platform.db import DecimalType
    from jimu.runtime.access.encoder import decimal_text, raw_reader

    col = DecimalType(18, scale)
    d = DIALECTS[dialect]
    slow = read_raw(col, d)
    try:
        want = slow(raw)
    except Exception:  # noqa: BLE001 - not a number: both paths raise
        with pytest.raises(Exception):  # noqa: B017
            raw_reader(col, d)(raw)
        return
    assert raw_reader(col, d)(raw) == want and str(raw_reader(col, d)(raw)) == str(want)
    assert decimal_text(col, d, _json)(raw) == (None if want is None else format(want, "f"))

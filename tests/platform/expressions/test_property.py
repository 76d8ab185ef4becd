"""Property: on random records (NULLs, negative and large decimals, boundary dates, unicode
text) and random well-typed expressions, the evaluator and SQL agree, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jimu.platform.expressions import Env, compile_expression

from .conftest import NOW
from .helpers import same

# Decimals: money(18,2) and decimal(18,4) kept within 15 significant digits, the most
# SQLite's NUMERIC affinity stores exactly.
money = st.decimals(min_value=Decimal("-9999999999999.99"), max_value=Decimal("9999999999999.99"), places=2,
                    allow_nan=False, allow_infinity=False)
dec = st.decimals(min_value=Decimal("-99999999999.9999"), max_value=Decimal("99999999999.9999"), places=4,
                  allow_nan=False, allow_infinity=False)
ints = st.integers(min_value=-100_000, max_value=100_000)
BOUNDARY_DATES = [date(1970, 1, 1), date(2000, 2, 29), date(1999, 12, 31), date(2026, 1, 31), date(2024, 2, 29),
                  date(2100, 12, 31), date(1900, 1, 1), date(2026, 3, 15)]
dates = st.one_of(st.sampled_from(BOUNDARY_DATES), st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)))
datetimes = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC))
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


def nullable(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


records = st.fixed_dictionaries({
    "name": nullable(texts), "cost_price": nullable(money), "price": nullable(dec), "qty": nullable(ints),
    "active": nullable(st.booleans()), "expiry": nullable(dates), "checked_at": nullable(datetimes),
    "state": nullable(st.sampled_from(["draft", "done", ""])), "owner": nullable(st.sampled_from(["alice", "bob"])),
})

# A grammar of well-typed expressions, by result type.
num_leaf = st.sampled_from(["qty", "cost_price", "price", "1.5", "-3", "0", "1000", "0.01"])
int_leaf = st.sampled_from(["qty", "2", "-7", "0", "LEN(name)"])
text_leaf = st.sampled_from(["name", "state", "owner", '"abc"', '"甲乙"', '""', "$user"])
date_leaf = st.sampled_from(["expiry", "$today", 'DATE("2000-02-29")'])
dt_leaf = st.sampled_from(["checked_at", "$now"])


def numbers() -> st.SearchStrategy[str]:
    return st.recursive(num_leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda x: f"-{x}"),
        inner.map(lambda x: f"ABS({x})"),
        st.tuples(inner, st.integers(0, 4)).map(lambda t: f"ROUND({t[0]}, {t[1]})"),
        inner.map(lambda x: f"ROUND_TO({x}, 1000)"),
        st.tuples(inner, inner).map(lambda t: f"COALESCE({t[0]}, {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"MIN({t[0]}, {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"SUM({t[0]}, {t[1]})"),
        st.tuples(booleans_leaf(), inner, inner).map(lambda t: f"IF({t[0]}, {t[1]}, {t[2]})"),
    ), max_leaves=5)


def integers_() -> st.SearchStrategy[str]:
    return st.one_of(
        int_leaf,
        st.tuples(int_leaf, st.sampled_from(["+", "-", "*", "%"]), int_leaf).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.sampled_from(["CEILING(price)", "FLOOR(cost_price)", "DAYS_BETWEEN(expiry, $today)",
                         "DAYS_BETWEEN(checked_at, expiry)", "HOURS_SINCE(checked_at)", "LEN(name)", "qty ** 2"]),
    )


def texts_() -> st.SearchStrategy[str]:
    return st.one_of(
        text_leaf,
        st.tuples(text_leaf, text_leaf).map(lambda t: f"CONCAT({t[0]}, {t[1]})"),
        st.tuples(text_leaf, text_leaf).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(text_leaf, st.integers(-1, 5)).map(lambda t: f"LEFT({t[0]}, {t[1]})"),
        st.tuples(text_leaf, st.integers(-1, 5)).map(lambda t: f"RIGHT({t[0]}, {t[1]})"),
    )


def booleans_leaf() -> st.SearchStrategy[str]:
    return st.sampled_from(["active", "qty > 0", "state == \"draft\"", "ISBLANK(name)", "price == null"])


def comparisons() -> st.SearchStrategy[str]:
    op = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    return st.one_of(
        st.tuples(numbers(), op, numbers()).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(integers_(), op, integers_()).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(texts_(), op, texts_()).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(date_leaf, op, date_leaf).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(date_leaf, st.integers(-400, 400)).map(lambda t: f"DATEADD({t[0]}, {t[1]}) > $today"),
        st.tuples(dt_leaf, st.integers(-500, 500)).map(lambda t: f'DATEADD({t[0]}, {t[1]}, "hour") <= $now'),
        st.tuples(texts_(), texts_()).map(lambda t: f"CONTAINS({t[0]}, {t[1]})"),
        st.tuples(text_leaf, text_leaf).map(lambda t: f"{t[0]} in [{t[1]}, \"draft\", null]"),
        booleans_leaf(),
    )


def booleans() -> st.SearchStrategy[str]:
    return st.recursive(comparisons(), lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda x: f"not ({x})"),
    ), max_leaves=4)


expressions = st.one_of(numbers(), integers_(), texts_(), booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_evaluator_equals_sql(data: st.DataObject, app, db, tables, backend) -> None:
    env = Env(user="alice", roles=("sales",), now=NOW + timedelta(seconds=0))
    t = tables("item")
    with db.write() as conn:
        conn.execute(sa.delete(t))
    rows = data.draw(st.lists(records, min_size=1, max_size=3))
    ids = []
    with db.write() as conn:
        for rec in rows:
            res = conn.execute(sa.insert(t).values(created_at=NOW, updated_at=NOW, **rec))
            ids.append(int(res.inserted_primary_key[0]))  # type: ignore[index]
    source = data.draw(expressions)
    ce = compile_expression(source, app, "item")
    compiled = ce.to_sql(tables, env)
    with db.read() as conn:
        got = dict(conn.execute(sa.select(t.c.id, compiled.label("v")).where(t.c.id.in_(ids))).all())
    for rid, rec in zip(ids, rows, strict=True):
        py = ce.evaluate(rec, env)
        assert same(py, got[rid], sqlite=backend == "sqlite"), (source, rec, py, got[rid])


def _one_row(source: str, rec: dict[str, Any], app: Any, db: Any, tables: Any) -> tuple[Any, Any]:
    """(the evaluator's value of ``source`` on ``rec``, the SQL value on ``rec`` stored as
    the only row of ``item``)."""
    env = Env(user="alice", roles=("sales",), now=NOW)
    t = tables("item")
    with db.write() as conn:
        conn.execute(sa.delete(t))
        rid = int(conn.execute(sa.insert(t).values(created_at=NOW, updated_at=NOW, **rec))
                  .inserted_primary_key[0])  # type: ignore[index]
    ce = compile_expression(source, app, "item")
    with db.read() as conn:
        got = conn.execute(sa.select(ce.to_sql(tables, env)).where(t.c.id == rid)).scalar_one()
    return ce.evaluate(rec, env), got


@pytest.mark.parametrize("source", ["COALESCE(cost_price, price)", "IF(active, cost_price, price)",
                                    "MIN(price, cost_price)", "MAX(cost_price, price)"])
def test_mixed_scale_branches_stay_exact(source: str, app, db, tables, backend) -> None:
    """A branch of a wider scale is read back exactly: money(18,2) ``cost_price`` first,
    decimal(18,4) ``price`` second (found by the property above on PostgreSQL: ``0.0001``
    came back ``0.00``). Mutation caught: ``_widest`` in sqlfuncs returning ``out`` unchanged."""
    rec = {"cost_price": None if "COALESCE" in source else Decimal("5.00"), "price": Decimal("0.0001"),
           "active": False}
    py, got = _one_row(source, rec, app, db, tables)
    expected = Decimal("5.00") if source.startswith("MAX") else Decimal("0.0001")
    assert py == expected
    assert got == expected, (source, got)


@pytest.mark.parametrize("source", ["cost_price * cost_price", "cost_price * price", "(cost_price + price) * 1",
                                    "cost_price - price"])
def test_arithmetic_keeps_every_digit(source: str, app, db, tables, backend) -> None:
    """Arithmetic over a money(18,2) column is read back with all its digits, as the
    evaluator computes it (found by the property above on SQLite: ``cost_price *
    cost_price`` at 0.01 came back 0.00, SQLAlchemy typing the product as the money
    column). Mutation caught: ``c_bin`` returning the product without ``ExactDecimal``."""
    py, got = _one_row(source, {"cost_price": Decimal("0.01"), "price": Decimal("0.0001")}, app, db, tables)
    assert py == {"cost_price * cost_price": Decimal("0.0001"), "cost_price * price": Decimal("0.000001"),
                  "(cost_price + price) * 1": Decimal("0.0101"), "cost_price - price": Decimal("0.0099")}[source]
    assert same(py, got, sqlite=backend == "sqlite"), (source, got)  # SQLite: a float's last digit

"""Every operator and function: the SQL back end gives the evaluator's value, on SQLite and
(when JIMU_TEST_PG_URL is set) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.core.errors import ExpressionError
from jimu.platform.expressions import Env, compile_expression

from .conftest import NOW, insert
from .helpers import same

ROW: dict[str, Any] = {
    "name": "Widget 甲", "cost_price": Decimal("12345.67"), "price": Decimal("20000.5"), "qty": 7,
    "rate": None, "active": True, "expiry": date(2026, 1, 31), "checked_at": datetime(2026, 3, 13, 9, 0, tzinfo=UTC),
    "state": "draft", "owner": "alice",
}
LINES = [{"sku": "a", "amount": Decimal("10.50"), "qty": 2}, {"sku": "b", "amount": Decimal("4.25"), "qty": None}]

EXPRESSIONS = [
    ("[成本价] * 1.1", Decimal("13580.237")), ("qty / 2", Decimal("3.5")),
    # SQLite hands back a float: read without SQLAlchemy's 10-place rounding (found by hypothesis)
    ("0.01 / 1.5", Decimal("0.01") / Decimal("1.5")), ("qty / 3", Decimal(7) / Decimal(3)), ("qty / 0", None), ("qty % 3", 1),
    ("-qty % 3", -1), ("-qty ** 2", -49), ("qty ** 0", 1), ("ROUND(cost_price * 1.1, 2)", Decimal("13580.24")),
    ("ROUND(price)", Decimal("20001")), ("ROUND_TO(cost_price, 1000)", Decimal("12000")), ("ROUND_TO(qty, 5)", 5),
    ("CEILING(price)", 20001), ("FLOOR(-price)", -20001), ("ABS(-qty)", 7),
    ('warehouse.confirm_code == "abc"', True), ("warehouse.parent.code", "W0"), ("warehouse.region in $user.regions", True),
    ('"admin" in $user.roles', False), ('"sales" in $user.roles', True), ("owner == $user", True),
    ("$user.level >= 3", True), ("LEN(name)", 8), ("LEFT(name, 3)", "Wid"), ("LEFT(name, -1)", ""),
    ("RIGHT(name, 2)", " 甲"), ("RIGHT(name, 20)", "Widget 甲"), ("RIGHT(name, 0)", ""),
    ('CONTAINS(name, "甲")', True), ('"get" in name', True), ('"zz" not in name', True),
    ('CONCAT(name, "-", qty, state)', "Widget 甲-7draft"), ("CONCAT(name, rate_text)", "Widget 甲"), ('name + "!"', "Widget 甲!"), ("name + rate_text", None),
    ("DATEADD(expiry, 30)", date(2026, 3, 2)), ('DATEADD(expiry, -2, "week")', date(2026, 1, 17)),
    ('DATEADD(checked_at, 5, "hour")', datetime(2026, 3, 13, 14, 0, tzinfo=UTC)),
    ("DAYS_BETWEEN(expiry, $today)", 43), ("DAYS_BETWEEN(checked_at, expiry)", -41), ("HOURS_SINCE(checked_at)", 49),
    ("MONTH_START(expiry)", date(2026, 1, 1)), ("MONTH_START(checked_at)", date(2026, 3, 1)),
    ("MONTH_START(expiry) == MONTH_START(TODAY())", False), ("MONTH_START(DATEADD(expiry, 1)) > expiry", True),
    ("COALESCE(rate, 0)", Decimal(0)), ("COALESCE(rate, price)", Decimal("20000.5")), ("ISBLANK(rate)", True),
    ('ISBLANK(name)', False), ("ISBLANK(lines)", False), ("SUM(lines.amount)", Decimal("14.75")), ("COUNT(lines)", 2),
    ("COUNT(lines.qty)", 1), ("AVG(lines.amount)", Decimal("7.375")), ("MIN(lines.amount)", Decimal("4.25")),
    ("MAX(lines.qty)", 2), ("MAX(qty, 3)", 7), ("MIN(qty, rate)", None), ("SUM(qty, rate, 2)", Decimal(9)),
    ('IF(qty > 5, "big", "small")', "big"), ('IF(rate > 1, "a", "b")', "b"), ('"x" if rate > 1 else "y"', "y"),
    ("rate > 1 or active", True), ("rate > 1 and active", None), ("rate > 1 and not active", False),
    ("not (rate > 1)", None), ("AND(active, qty > 1)", True), ("OR(rate > 1, not active)", None),
    ('state in ["draft", "x"]', True), ('state not in ["draft"]', False), ("qty in [1, rate]", None),
    ('name < "Z"', True), ("expiry < $today", True), ("checked_at < $now", True), ("rate == null", True),
    ("rate != null", False), ("rate == 1", None), ("expiry == DATE(\"2026-01-31\")", True), ("TODAY() > expiry", True),
    ("NOW() > checked_at", True), ("1 < qty < 10", True), ("qty + 2 * 3 - 1", 12),
    ('warehouse_confirm_code == warehouse.confirm_code', True),
]


@pytest.mark.parametrize(("source", "expected"), EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_sql_agrees_with_evaluator(source: str, expected: Any, app, db, tables, sql_value, backend) -> None:
    w0 = insert(db, tables, "warehouse", code="W0", confirm_code="zzz", region="south")
    w1 = insert(db, tables, "warehouse", code="W1", confirm_code="abc", region="north", parent=w0)
    rid = insert(db, tables, "item", warehouse=w1, **ROW)
    for line in LINES:
        insert(db, tables, "item_line", _parent_id=rid, **line)
    warehouses = {w0: {"code": "W0", "confirm_code": "zzz", "region": "south", "parent": None},
                  w1: {"code": "W1", "confirm_code": "abc", "region": "north", "parent": w0}}
    extras = {"warehouse_confirm_code": "text", "rate_text": "text"}
    env = Env(user="alice", roles=("sales",), user_attrs={"regions": ["north", "east"], "level": 3}, now=NOW,
              lookup=lambda entity, key: warehouses.get(key), extra={"warehouse_confirm_code": "abc"})
    ce = compile_expression(source, app, "item", extra_names=extras)
    py = ce.evaluate({**ROW, "warehouse": w1, "lines": LINES}, env)
    assert same(py, expected, sqlite=False), (py, expected)
    assert same(py, sql_value(ce, rid, env), sqlite=backend == "sqlite")


def test_row_filter_selects_rows(app, db, tables, env) -> None:
    for i in range(10):
        insert(db, tables, "item", name=f"n{i}", qty=i, cost_price=Decimal(i) * 1000, owner="alice" if i % 2 else "bob")
    ce = compile_expression("owner == $user and cost_price >= 3000", app, "item", purpose="row_filter")
    t = tables("item")
    with db.read() as conn:
        got = [r.qty for r in conn.execute(sa.select(t.c.qty).where(ce.to_sql(tables, env)).order_by(t.c.qty))]
    assert got == [3, 5, 7, 9]


def test_python_only_expression_refuses_sql(app, tables, env) -> None:
    ce = compile_expression('LOOKUP(lines, "sku", "a", "amount")', app, "item")
    assert not ce.sql_capable
    assert ce.evaluate({"lines": LINES}, env) == Decimal("10.50")
    with pytest.raises(ExpressionError) as info:
        ce.to_sql(tables, env)
    assert info.value.code == "expression.not_sql"


def test_explain_uses_index(app, db, tables, env, backend) -> None:
    ce = compile_expression("cost_price > 5000", app, "item", purpose="row_filter")
    t = tables("item")
    stmt = sa.select(t.c.id).where(ce.to_sql(tables, env))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    # A transaction of its own (reads are autocommit on PostgreSQL: SET LOCAL needs one).
    with db.engine.begin() as conn:
        if backend == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "INDEX" in plan and "cost_price" in plan
        else:
            # A tiny table is always scanned; forbid that to see the index is usable at all.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + sql))
            assert "Index" in plan and "cost_price" in plan

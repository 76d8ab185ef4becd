"""SQL implementations of the built-in functions (SQLite and PostgreSQL forms).

Each takes the :class:`~jimu.platform.expressions.sqlcompiler.SqlCompiler` and the call
node and returns a column expression with the same NULL behaviour as the Python side in
:mod:`jimu.platform.expressions.runtime`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jimu.platform.db import DecimalType, ExactDecimal
from jimu.platform.expressions.nodes import Node
from jimu.platform.expressions.runtime import UNITS
from jimu.platform.expressions.types import TEXTUAL as _TEXTUAL
from jimu.platform.store.tables import TZDateTime

if TYPE_CHECKING:
    from jimu.platform.expressions.sqlcompiler import Col, SqlCompiler

__all__ = [
    "s_if", "s_and", "s_or", "s_sum", "s_round", "s_round_to", "s_ceiling", "s_floor", "s_abs", "s_min",
    "s_max", "s_len", "s_left", "s_right", "s_contains", "s_concat", "s_today", "s_now", "s_dateadd",
    "s_days_between", "s_month_start", "s_hours_since", "s_coalesce", "s_isblank", "s_count", "s_avg",
]

_SQLITE_DT = "%Y-%m-%d %H:%M:%f"


def _args(c: SqlCompiler, n: Node) -> list[Col]:
    return [c.compile(a) for a in n.args]


def _widest(args: list[Col], out: Col) -> Col:
    """``out`` typed to keep every branch's decimals exact when the branches are decimals of
    different scales: SQL's COALESCE/CASE/LEAST take the first branch's type, whose result
    processing would round a wider branch's value (``COALESCE(cost_price, price)`` read
    ``0.0001`` back as ``0.00``)."""
    scales = {getattr(a.type, "scale", None) for a in args if isinstance(a.type, DecimalType)}
    if len(scales) > 1:
        return sa.type_coerce(out, ExactDecimal())
    return out


def _is_list(n: Node) -> bool:
    return len(n.args) == 1 and n.args[0].kind == "childcol"


def s_if(c: SqlCompiler, n: Node) -> Col:
    cond, a, b = _args(c, n)
    return _widest([a, b], sa.case((cond, a), else_=b))


def s_and(c: SqlCompiler, n: Node) -> Col:
    return sa.and_(*_args(c, n))


def s_or(c: SqlCompiler, n: Node) -> Col:
    return sa.or_(*_args(c, n))


def s_sum(c: SqlCompiler, n: Node) -> Col:
    if _is_list(n):
        return sa.func.coalesce(c.child_agg(n.args[0], sa.func.sum), 0)
    parts = [sa.func.coalesce(a, 0) for a in _args(c, n)]
    out: Col = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def _numeric(c: SqlCompiler, x: Col) -> Col:
    return c.switch(x, sa.cast(x, ExactDecimal()), ExactDecimal())


def s_round(c: SqlCompiler, n: Node) -> Col:
    x = c.compile(n.args[0])
    if n.args[0].type.name in ("integer", "duration"):
        return x
    digits = int(n.args[1].value) if len(n.args) > 1 else 0
    return sa.func.round(_numeric(c, x), digits)


def s_round_to(c: SqlCompiler, n: Node) -> Col:
    x = c.compile(n.args[0])
    m = c.literal(n.args[1].value)
    rounded = c.switch(sa.func.round(x * sa.literal_column("1.0") / m) * m,
                       sa.func.round(sa.cast(x, ExactDecimal()) / m) * m, ExactDecimal())
    if n.type.name == "integer":
        return sa.cast(rounded, sa.BigInteger())
    return rounded


def _trunc_adjust(c: SqlCompiler, n: Node, up: bool) -> Col:
    # SQLite: CAST(x AS INTEGER) truncates; adjust by one where x lies beyond it (no
    # dependence on SQLite's optional math functions).
    x = c.compile(n.args[0])
    t = sa.cast(x, sa.BigInteger())
    sqlite = sa.case((x > t, t + 1), else_=t) if up else sa.case((x < t, t - 1), else_=t)
    pg = sa.cast(sa.func.ceil(x) if up else sa.func.floor(x), sa.BigInteger())
    return c.switch(sqlite, pg, sa.BigInteger())


def s_ceiling(c: SqlCompiler, n: Node) -> Col:
    return _trunc_adjust(c, n, up=True)


def s_floor(c: SqlCompiler, n: Node) -> Col:
    return _trunc_adjust(c, n, up=False)


def s_abs(c: SqlCompiler, n: Node) -> Col:
    return sa.func.abs(c.compile(n.args[0]))


def _minmax(c: SqlCompiler, n: Node, agg: Any, sqlite_fn: Any, pg_fn: Any) -> Col:
    if _is_list(n):
        return c.child_agg(n.args[0], agg)
    args = _args(c, n)
    if len(args) == 1:
        return args[0]
    any_null = sa.or_(*[a.is_(None) for a in args])
    return _widest(args, c.switch(sqlite_fn(*args), sa.case((any_null, sa.null()), else_=pg_fn(*args))))


def s_min(c: SqlCompiler, n: Node) -> Col:
    return _minmax(c, n, sa.func.min, sa.func.min, sa.func.least)


def s_max(c: SqlCompiler, n: Node) -> Col:
    return _minmax(c, n, sa.func.max, sa.func.max, sa.func.greatest)


def s_len(c: SqlCompiler, n: Node) -> Col:
    x = c.compile(n.args[0])
    return c.switch(sa.func.length(x), sa.func.char_length(x), sa.BigInteger())


def s_left(c: SqlCompiler, n: Node) -> Col:
    s, k = _args(c, n)
    safe = sa.case((k < 0, 0), else_=k)
    return c.switch(sa.func.substr(s, 1, safe), sa.func.left(s, sa.cast(safe, sa.Integer())), sa.String())


def s_right(c: SqlCompiler, n: Node) -> Col:
    s, k = _args(c, n)
    sqlite = sa.case((k <= 0, ""), (k >= sa.func.length(s), s),
                     else_=sa.func.substr(s, sa.func.length(s) - k + 1))
    pg = sa.case((k <= 0, ""), else_=sa.func.right(s, sa.cast(k, sa.Integer())))
    return c.switch(sa.case((s.is_(None), sa.null()), (k.is_(None), sa.null()), else_=sqlite),
                    sa.case((s.is_(None), sa.null()), (k.is_(None), sa.null()), else_=pg), sa.String())


def s_contains(c: SqlCompiler, n: Node) -> Col:
    s, sub = _args(c, n)
    return c.switch(sa.func.instr(s, sub) > 0, sa.func.strpos(s, sub) > 0, sa.Boolean())


def s_concat(c: SqlCompiler, n: Node) -> Col:
    parts = [sa.func.coalesce(sa.cast(a, sa.String()) if t.type.name == "integer" else a, "")
             for a, t in zip(_args(c, n), n.args, strict=True)]
    out: Col = sa.type_coerce(parts[0], sa.String())
    for p in parts[1:]:
        out = out.concat(p)
    return out


def s_today(c: SqlCompiler, n: Node) -> Col:
    return c.literal(c.env.resolved_today())


def s_now(c: SqlCompiler, n: Node) -> Col:
    return c.literal(c.now)


def s_dateadd(c: SqlCompiler, n: Node) -> Col:
    d, k = c.compile(n.args[0]), c.compile(n.args[1])
    secs = UNITS[str(n.args[2].value)] if len(n.args) > 2 else 86400
    if n.type.name == "date":
        days = k * (secs // 86400)
        sqlite_date: Col = sa.func.date(d, sa.cast(days, sa.String()).concat(" days"))
        return c.switch(sqlite_date, sa.cast(d + sa.cast(days, sa.Integer()), sa.Date()), sa.Date())
    amount = k * secs
    sqlite = sa.func.strftime(_SQLITE_DT, d, sa.cast(amount, sa.String()).concat(" seconds")).concat("000")
    pg = d + amount * sa.literal_column("INTERVAL '1 second'")
    return sa.type_coerce(c.switch(sqlite, pg, TZDateTime()), TZDateTime())


def _utc_date(c: SqlCompiler, x: Col, tname: str) -> Col:
    if tname == "datetime":
        return c.switch(sa.func.date(x), sa.cast(sa.func.timezone("UTC", x), sa.Date()), sa.Date())
    return c.switch(sa.func.date(x), x, sa.Date())


def s_month_start(c: SqlCompiler, n: Node) -> Col:
    d = _utc_date(c, c.compile(n.args[0]), n.args[0].type.name)
    return c.switch(sa.func.date(d, "start of month"), sa.cast(sa.func.date_trunc("month", d), sa.Date()), sa.Date())


def s_days_between(c: SqlCompiler, n: Node) -> Col:
    a = _utc_date(c, c.compile(n.args[0]), n.args[0].type.name)
    b = _utc_date(c, c.compile(n.args[1]), n.args[1].type.name)
    sqlite = sa.cast(sa.func.julianday(b) - sa.func.julianday(a), sa.Integer())
    return c.switch(sqlite, b - a, sa.BigInteger())


def s_hours_since(c: SqlCompiler, n: Node) -> Col:
    dt = c.compile(n.args[0])
    now = c.literal(c.now)
    secs = sa.cast(sa.func.strftime("%s", now), sa.Integer()) - sa.cast(sa.func.strftime("%s", dt), sa.Integer())
    pg = sa.cast(sa.func.trunc(sa.extract("epoch", now - dt) / 3600), sa.BigInteger())
    return c.switch(sa.cast(secs / 3600, sa.Integer()), pg, sa.BigInteger())


def s_coalesce(c: SqlCompiler, n: Node) -> Col:
    args = _args(c, n)
    return args[0] if len(args) == 1 else _widest(args, sa.func.coalesce(*args))


def s_isblank(c: SqlCompiler, n: Node) -> Col:
    a = n.args[0]
    if a.kind == "childcol":
        return c.child_agg(a, sa.func.count, count_rows=True) == 0
    x = c.compile(a)
    if a.type.name in ("text",) or a.type.name in _TEXTUAL:
        return sa.or_(x.is_(None), x == "")
    return x.is_(None)


def s_count(c: SqlCompiler, n: Node) -> Col:
    return c.child_agg(n.args[0], sa.func.count, count_rows=True)


def s_avg(c: SqlCompiler, n: Node) -> Col:
    return c.child_agg(n.args[0], sa.func.avg)


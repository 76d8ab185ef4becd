"""The function registry: every UPPERCASE function with its docs, type rule, Python
implementation and SQL implementation (or an explicit python-only flag).

Plugins add functions through the ``jimu_expression_functions`` hook by returning
:class:`FunctionDef` objects; the built-ins below are registered through the same hook by
``jimu.platform.expressions.plugin``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from jimu.platform.expressions import runtime as rt
from jimu.platform.expressions import sqlfuncs as sq
from jimu.platform.expressions import types as ty
from jimu.platform.expressions.nodes import Node
from jimu.platform.expressions.types import T

if TYPE_CHECKING:
    from jimu.platform.expressions.checker import Checker

__all__ = ["FunctionDef", "BUILTINS", "registry"]

log = logging.getLogger("jimu.expressions")

CheckRule = Callable[["Checker", Node], T]


@dataclass(frozen=True)
class FunctionDef:
    """One expression function. ``py`` receives evaluated arguments (NULL as None);
    ``sql`` receives the SQL compiler and the call node; ``python_only`` functions make an
    expression unusable where SQL is required (row filters, view filters, stored formulas)."""

    name: str
    min_args: int
    max_args: int | None
    signature: str
    doc: str
    check: CheckRule
    py: Callable[..., Any]
    sql: Callable[..., Any] | None = None
    python_only: bool = False
    needs_now: bool = False


# type rules --------------------------------------------------------------------------
def _numbers(c: Checker, n: Node, args: list[Node] | None = None) -> None:
    for a in n.args if args is None else args:
        c.need(a, ty.is_numeric(a.type), f"a number for {n.value}()")


def _literal(c: Checker, a: Node, kinds: tuple[type, ...], what: str) -> Any:
    if a.kind != "lit" or not isinstance(a.value, kinds) or isinstance(a.value, bool):
        raise c.fail(f"{what} must be written as a constant", a)
    return a.value


def _list_or_numbers(c: Checker, n: Node, allow_dates: bool = False) -> T:
    if len(n.args) == 1 and n.args[0].type.name == "list":
        elem = T(n.args[0].type.elem or "any")
        ok = ty.is_numeric(elem) or (allow_dates and elem.name in ("date", "datetime"))
        c.need(n.args[0], ok and n.args[0].kind == "childcol" and n.args[0].value[1] is not None,
               "a child table column (lines.amount)")
        return elem
    for a in n.args:
        ok = ty.is_numeric(a.type) or (allow_dates and a.type.name in ("date", "datetime", "null", "any"))
        c.need(a, ok, f"a number for {n.value}()")
    t = ty.unify([a.type for a in n.args])
    if t is None:
        raise c.fail(f"{n.value}() arguments have different types", n)
    return t


def ck_if(c: Checker, n: Node) -> T:
    c.need(n.args[0], n.args[0].type.name in ("boolean", "null", "any"), "a true/false condition")
    return c.unify_args(n, n.args[1:])


def ck_bools(c: Checker, n: Node) -> T:
    for a in n.args:
        c.need(a, a.type.name in ("boolean", "null", "any"), "true/false")
    return ty.BOOLEAN


def ck_sum(c: Checker, n: Node) -> T:
    return _list_or_numbers(c, n)


def ck_minmax(c: Checker, n: Node) -> T:
    return _list_or_numbers(c, n, allow_dates=True)


def ck_count(c: Checker, n: Node) -> T:
    c.need(n.args[0], n.args[0].kind == "childcol", "a child table (lines) or column (lines.qty)")
    return ty.INTEGER


def ck_avg(c: Checker, n: Node) -> T:
    t = _list_or_numbers(c, n)
    c.need(n.args[0], n.args[0].type.name == "list", "a child table column (lines.qty)")
    return ty.MONEY if t.name == "money" else ty.DECIMAL


def ck_round(c: Checker, n: Node) -> T:
    _numbers(c, n, n.args[:1])
    if len(n.args) > 1:
        digits = _literal(c, n.args[1], (int,), "the number of decimals")
        if not 0 <= digits <= 10:
            raise c.fail("ROUND() keeps 0 to 10 decimals", n.args[1], hint="use ROUND_TO(x, 1000) for multiples")
    t = n.args[0].type
    return t if t.name in ty.NUMERIC else ty.DECIMAL


def ck_round_to(c: Checker, n: Node) -> T:
    _numbers(c, n, n.args[:1])
    m = _literal(c, n.args[1], (int, Decimal), "the multiple")
    if m <= 0:
        raise c.fail("the multiple must be positive", n.args[1])
    t = n.args[0].type
    if t.name in ("integer", "duration") and isinstance(m, int):
        return ty.INTEGER
    return t if t.name in ("decimal", "money", "percent") else ty.DECIMAL


def ck_to_int(c: Checker, n: Node) -> T:
    _numbers(c, n)
    return ty.INTEGER


def ck_abs(c: Checker, n: Node) -> T:
    _numbers(c, n)
    t = n.args[0].type
    return t if t.name in ty.NUMERIC else ty.DECIMAL


def ck_len(c: Checker, n: Node) -> T:
    c.need(n.args[0], ty.is_text(n.args[0].type), "text")
    return ty.INTEGER


def ck_leftright(c: Checker, n: Node) -> T:
    c.need(n.args[0], ty.is_text(n.args[0].type), "text")
    c.need(n.args[1], n.args[1].type.name in ("integer", "null", "any"), "a whole number")
    return ty.TEXT


def ck_contains(c: Checker, n: Node) -> T:
    for a in n.args:
        c.need(a, ty.is_text(a.type), "text")
    return ty.BOOLEAN


def ck_concat(c: Checker, n: Node) -> T:
    for a in n.args:
        c.need(a, ty.is_text(a.type) or a.type.name == "integer", "text or a whole number")
    return ty.TEXT


def ck_today(c: Checker, n: Node) -> T:
    return ty.DATE


def ck_now(c: Checker, n: Node) -> T:
    return ty.DATETIME


def ck_dateadd(c: Checker, n: Node) -> T:
    d = n.args[0].type
    c.need(n.args[0], d.name in ("date", "datetime", "null", "any"), "a date or datetime")
    c.need(n.args[1], n.args[1].type.name in ("integer", "null", "any"), "a whole number")
    if len(n.args) > 2:
        unit = _literal(c, n.args[2], (str,), "the unit")
        allowed = ("day", "days", "week", "weeks") if d.name == "date" else tuple(rt.UNITS)
        if unit not in allowed:
            raise c.fail(f"unknown unit '{unit}'", n.args[2], hint="use one of: " + ", ".join(allowed))
    return d if d.name in ("date", "datetime") else ty.DATE


def ck_days_between(c: Checker, n: Node) -> T:
    for a in n.args:
        c.need(a, a.type.name in ("date", "datetime", "null", "any"), "a date or datetime")
    return ty.INTEGER


def ck_month_start(c: Checker, n: Node) -> T:
    c.need(n.args[0], n.args[0].type.name in ("date", "datetime", "null", "any"), "a date or datetime")
    return ty.DATE


def ck_hours_since(c: Checker, n: Node) -> T:
    c.need(n.args[0], n.args[0].type.name in ("datetime", "null", "any"), "a datetime")
    return ty.INTEGER


def ck_coalesce(c: Checker, n: Node) -> T:
    return c.unify_args(n, n.args)


def ck_isblank(c: Checker, n: Node) -> T:
    return ty.BOOLEAN


def ck_lookup(c: Checker, n: Node) -> T:
    rows = n.args[0]
    c.need(rows, rows.kind == "childcol" and rows.value[1] is None, "a child table (lines)")
    key = _literal(c, n.args[1], (str,), "the key field")
    result = _literal(c, n.args[3], (str,), "the result field")
    child = c.app.entity(rows.type.entity or "")
    kf = c.lookup_field(key, child, n.args[1])
    rf = c.lookup_field(result, child, n.args[3])
    n.args[1].value, n.args[3].value = kf.name, rf.name
    c.paths.update({f"{rows.value[0]}.{kf.name}", f"{rows.value[0]}.{rf.name}"})
    return ty.field_value_type(rf.value_type, rf.target)


def ck_parse_date(c: Checker, n: Node) -> T:
    c.need(n.args[0], ty.is_text(n.args[0].type), "text")
    return ty.DATE if n.value == "DATE" else ty.DATETIME


def _f(name: str, lo: int, hi: int | None, sig: str, doc: str, check: CheckRule, py: Callable[..., Any],
       sql: Callable[..., Any] | None, **kw: Any) -> FunctionDef:
    return FunctionDef(name, lo, hi, sig, doc, check, py, sql, python_only=sql is None, **kw)


_DEFS = [
    _f("IF", 3, 3, "IF(condition, then, else)", "then when condition is true, else otherwise (NULL counts as false).",
       ck_if, rt.f_if, sq.s_if),
    _f("AND", 1, None, "AND(a, b, ...)", "true when all are true; SQL three-valued logic with NULL.",
       ck_bools, rt.and3, sq.s_and),
    _f("OR", 1, None, "OR(a, b, ...)", "true when any is true; SQL three-valued logic with NULL.",
       ck_bools, rt.or3, sq.s_or),
    _f("SUM", 1, None, "SUM(lines.amount) | SUM(a, b, ...)",
       "Sum of a child table column, or of the arguments; NULLs are skipped, an empty sum is 0.",
       ck_sum, rt.f_sum, sq.s_sum),
    _f("ROUND", 1, 2, "ROUND(x, decimals=0)", "Round half away from zero to 0..10 decimals.",
       ck_round, rt.f_round, sq.s_round),
    _f("ROUND_TO", 2, 2, "ROUND_TO(x, multiple)", "Round to the nearest multiple (half away from zero), "
       "e.g. ROUND_TO(cost_price, 1000) for masks.", ck_round_to, rt.f_round_to, sq.s_round_to),
    _f("CEILING", 1, 1, "CEILING(x)", "The smallest whole number not below x.", ck_to_int, rt.f_ceiling,
       sq.s_ceiling),
    _f("FLOOR", 1, 1, "FLOOR(x)", "The largest whole number not above x.", ck_to_int, rt.f_floor, sq.s_floor),
    _f("ABS", 1, 1, "ABS(x)", "The absolute value.", ck_abs, rt.f_abs, sq.s_abs),
    _f("MIN", 1, None, "MIN(lines.qty) | MIN(a, b, ...)", "The smallest value; with arguments NULL if any is "
       "NULL, over a child column NULLs are skipped.", ck_minmax, rt.f_min, sq.s_min),
    _f("MAX", 1, None, "MAX(lines.qty) | MAX(a, b, ...)", "The largest value; with arguments NULL if any is "
       "NULL, over a child column NULLs are skipped.", ck_minmax, rt.f_max, sq.s_max),
    _f("LEN", 1, 1, "LEN(text)", "The number of characters.", ck_len, rt.f_len, sq.s_len),
    _f("LEFT", 2, 2, "LEFT(text, n)", "The first n characters.", ck_leftright, rt.f_left, sq.s_left),
    _f("RIGHT", 2, 2, "RIGHT(text, n)", "The last n characters.", ck_leftright, rt.f_right, sq.s_right),
    _f("CONTAINS", 2, 2, "CONTAINS(text, part)", "Whether text contains part (case-sensitive).",
       ck_contains, rt.f_contains, sq.s_contains),
    _f("CONCAT", 1, None, "CONCAT(a, b, ...)", "The texts joined; NULL counts as empty text.",
       ck_concat, rt.f_concat, sq.s_concat),
    _f("TODAY", 0, 0, "TODAY()", "Today's date (UTC), the same as $today.", ck_today, rt.f_today, sq.s_today, needs_now=True),
    _f("NOW", 0, 0, "NOW()", "The current time, the same as $now.", ck_now, rt.f_now, sq.s_now, needs_now=True),
    _f("DATEADD", 2, 3, 'DATEADD(date, n, "day")', "The date or datetime moved by n units "
       "(day, week; hour, minute, second for datetimes).", ck_dateadd, rt.f_dateadd, sq.s_dateadd),
    _f("DAYS_BETWEEN", 2, 2, "DAYS_BETWEEN(start, end)", "Whole days from start to end (negative when end "
       "is earlier); datetimes count by their UTC date.", ck_days_between, rt.f_days_between, sq.s_days_between),
    _f("MONTH_START", 1, 1, "MONTH_START(date)", "The first day of the date's month (a datetime by its UTC "
       "date), e.g. MONTH_START(order_date) == MONTH_START(TODAY()) for this month.", ck_month_start,
       rt.f_month_start, sq.s_month_start),
    _f("HOURS_SINCE", 1, 1, "HOURS_SINCE(datetime)", "Whole hours (truncated) from the datetime to $now.",
       ck_hours_since, rt.f_hours_since, sq.s_hours_since, needs_now=True),
    _f("COALESCE", 1, None, "COALESCE(a, b, ...)", "The first value that is not NULL.", ck_coalesce,
       rt.f_coalesce, sq.s_coalesce),
    _f("ISBLANK", 1, 1, "ISBLANK(x)", "True when x is NULL, empty text or an empty child table.",
       ck_isblank, rt.f_isblank, sq.s_isblank),
    _f("COUNT", 1, 1, "COUNT(lines) | COUNT(lines.qty)", "The number of child rows, or of non-NULL values "
       "of a child column.", ck_count, rt.f_count, sq.s_count),
    _f("AVG", 1, 1, "AVG(lines.qty)", "The average of the non-NULL values of a child column (NULL when none).",
       ck_avg, rt.f_avg, sq.s_avg),
    _f("LOOKUP", 4, 4, 'LOOKUP(lines, "key_field", key, "result_field")', "The result field of the first "
       "child row whose key field equals key. Python only: not usable in row/view filters or stored formulas.",
       ck_lookup, rt.f_lookup, None),
    _f("DATE", 1, 1, 'DATE("2026-01-31")', "A date from ISO text; with a constant it is a date literal "
       "(usable everywhere), with a computed text it runs in Python only.", ck_parse_date, rt.f_date, None),
    _f("DATETIME", 1, 1, 'DATETIME("2026-01-31T09:30:00+08:00")', "A datetime from ISO text with a timezone; "
       "with a constant it is a literal, computed text runs in Python only.", ck_parse_date, rt.f_datetime, None),
]
BUILTINS: dict[str, FunctionDef] = {f.name: f for f in _DEFS}


def registry() -> dict[str, FunctionDef]:
    """The built-in functions plus those registered by plugins (a plugin cannot replace a
    built-in)."""
    from jimu.platform.hooks import collect

    out = dict(BUILTINS)
    try:
        extra = collect("jimu_expression_functions")
    except Exception:  # a broken plugin is a bug: named in the log, then raised (not silently dropped)
        log.exception("an expression-function plugin failed")
        raise
    for f in extra:
        if isinstance(f, FunctionDef) and f.name not in out:
            out[f.name] = f
    return out

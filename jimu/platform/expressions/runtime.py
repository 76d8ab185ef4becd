"""Run-time helpers of the evaluator: SQL-like NULL logic, exact decimal arithmetic, and
the Python side of every built-in function.

NULL (``None``) follows SQL: arithmetic and comparisons with NULL give NULL, ``and``/``or``
follow the three-valued truth tables, ``x / 0`` and ``x % 0`` give NULL (as they do in the
SQL back end). A filter or guard treats a NULL result as false.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from jimu.core.errors import ExpressionError

__all__ = ["MAX_TEXT", "MAX_LIST", "TIME_BUDGET", "INT_LIMIT", "Budget", "HELPERS"]

MAX_TEXT = 100_000
MAX_LIST = 100_000
MAX_LOOKUPS = 1_000
TIME_BUDGET = 0.25  # seconds of wall clock per evaluation
INT_LIMIT = 2**63
_ONE = Decimal(1)
UNITS = {"day": 86400, "days": 86400, "week": 604800, "weeks": 604800, "hour": 3600, "hours": 3600,
         "minute": 60, "minutes": 60, "second": 1, "seconds": 1}


def _runtime(msg: str, code: str = "expression.runtime") -> ExpressionError:
    return ExpressionError(msg, code=code)


class Budget:
    """Wall-clock budget and lookup count of one evaluation (only for expressions that
    loop over child rows or follow links)."""

    __slots__ = ("deadline", "lookups")

    def __init__(self, seconds: float = TIME_BUDGET) -> None:
        self.deadline = time.monotonic() + seconds
        self.lookups = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _runtime("expression took too long", "expression.timeout")


# operators ---------------------------------------------------------------------------
def int_check(v: Any) -> Any:
    if isinstance(v, int) and not -INT_LIMIT <= v < INT_LIMIT:
        raise _runtime("integer result out of range", "expression.too_large")
    return v


def div(a: Any, b: Any) -> Any:
    if a is None or b is None or b == 0:
        return None
    if isinstance(a, int) and not isinstance(a, Decimal):
        a = Decimal(a)
    return a / b


def mod(a: Any, b: Any) -> Any:
    if a is None or b is None or b == 0:
        return None
    r = abs(a) % abs(b)  # SQL: the sign follows the dividend
    return -r if a < 0 else r


def tcat(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    out = a + b
    if len(out) > MAX_TEXT:
        raise _runtime(f"text result longer than {MAX_TEXT} characters", "expression.too_large")
    return out


def not3(a: Any) -> Any:
    return None if a is None else not a


def and3(*xs: Any) -> Any:
    unknown = False
    for x in xs:
        if x is None:
            unknown = True
        elif not x:
            return False
    return None if unknown else True


def or3(*xs: Any) -> Any:
    unknown = False
    for x in xs:
        if x is None:
            unknown = True
        elif x:
            return True
    return None if unknown else False


def in3(x: Any, items: Any) -> Any:
    """SQL ``x IN (items)``: True if any equal, else NULL if x or an item is NULL."""
    if items is None:
        return None
    if isinstance(items, str):
        return None if x is None else x in items
    if not isinstance(items, list | tuple | set | frozenset):
        items = [items]
    if not items:
        return False
    if x is None:
        return None
    unknown = False
    for item in items:
        if item is None:
            unknown = True
        elif item == x:
            return True
    return None if unknown else False


def notin3(x: Any, items: Any) -> Any:
    return not3(in3(x, items))


def path(record: Mapping[str, Any], env: Any, budget: Budget, steps: Sequence[tuple[str, str]]) -> Any:
    """Follow ``link.field`` steps: (field, entity the field's value points to)."""
    value: Any = record.get(steps[0][0])
    for i in range(1, len(steps)):
        if value is None:
            return None
        entity = steps[i - 1][1]
        if isinstance(value, Mapping):
            rec: Mapping[str, Any] | None = value
        else:
            lookup = getattr(env, "lookup", None)
            if lookup is None:
                return None
            budget.lookups += 1
            if budget.lookups > MAX_LOOKUPS:
                raise _runtime("too many linked records read", "expression.too_large")
            budget.tick()
            rec = lookup(entity, value)
        if rec is None:
            return None
        value = rec.get(steps[i][0])
    return value


def rows(value: Any, budget: Budget) -> list[Mapping[str, Any]]:
    if not value:
        return []
    if len(value) > MAX_LIST:
        raise _runtime(f"more than {MAX_LIST} child rows", "expression.too_large")
    budget.tick()
    return [r for r in value if isinstance(r, Mapping)]


def childcol(value: Any, column: str | None, budget: Budget) -> list[Any]:
    rs = rows(value, budget)
    if column is None:
        return list(rs)
    return [r.get(column) for r in rs]


# functions ---------------------------------------------------------------------------
def f_if(c: Any, a: Any, b: Any) -> Any:
    return a if c is True or (c is not None and c is not False and bool(c)) else b


def _nums(xs: Iterable[Any]) -> list[Any]:
    return [x for x in xs if x is not None]


def f_sum(*xs: Any) -> Any:
    if len(xs) == 1 and isinstance(xs[0], list):
        return sum(_nums(xs[0]), 0)
    return sum(_nums(xs), 0)


def f_count(xs: Any) -> Any:
    if xs is None:
        return 0
    return len(_nums(xs)) if isinstance(xs, list) else 1


def f_avg(xs: Any) -> Any:
    vals = _nums(xs or [])
    if not vals:
        return None
    return Decimal(sum(vals, 0)) / len(vals)


def f_min(*xs: Any) -> Any:
    if len(xs) == 1 and isinstance(xs[0], list):
        vals = _nums(xs[0])
        return min(vals) if vals else None
    return None if any(x is None for x in xs) else min(xs)


def f_max(*xs: Any) -> Any:
    if len(xs) == 1 and isinstance(xs[0], list):
        vals = _nums(xs[0])
        return max(vals) if vals else None
    return None if any(x is None for x in xs) else max(xs)


def f_round(x: Any, n: Any = 0) -> Any:
    if x is None or n is None:
        return None
    if isinstance(x, int):
        return x
    return x.quantize(_ONE.scaleb(-int(n)), rounding=ROUND_HALF_UP)


def f_round_to(x: Any, m: Any) -> Any:
    if x is None or m is None or m == 0:
        return None
    q = (Decimal(x) / Decimal(m)).quantize(_ONE, rounding=ROUND_HALF_UP) * m
    return int(q) if isinstance(x, int) and isinstance(m, int) else q


def f_ceiling(x: Any) -> Any:
    return None if x is None else int(Decimal(x).to_integral_value(rounding=ROUND_CEILING))


def f_floor(x: Any) -> Any:
    return None if x is None else int(Decimal(x).to_integral_value(rounding=ROUND_FLOOR))


def f_abs(x: Any) -> Any:
    return None if x is None else abs(x)


def f_len(s: Any) -> Any:
    return None if s is None else len(s)


def f_left(s: Any, n: Any) -> Any:
    if s is None or n is None:
        return None
    return s[: max(int(n), 0)]


def f_right(s: Any, n: Any) -> Any:
    if s is None or n is None:
        return None
    n = int(n)
    return s[max(len(s) - n, 0):] if n > 0 else ""


def f_contains(s: Any, sub: Any) -> Any:
    if s is None or sub is None:
        return None
    return sub in s


def f_concat(*xs: Any) -> Any:
    out = "".join("" if x is None else str(x) for x in xs)
    if len(out) > MAX_TEXT:
        raise _runtime(f"text result longer than {MAX_TEXT} characters", "expression.too_large")
    return out


def f_dateadd(d: Any, n: Any, unit: Any = "day") -> Any:
    if d is None or n is None:
        return None
    secs = UNITS[str(unit)]
    try:
        if isinstance(d, datetime):
            return d + timedelta(seconds=int(n) * secs)
        return d + timedelta(days=int(n) * secs // 86400)
    except OverflowError:
        raise _runtime("date out of range", "expression.too_large") from None


def _as_date(x: Any) -> date:
    if isinstance(x, datetime):
        return x.astimezone(UTC).date()
    return x  # type: ignore[no-any-return]


def f_days_between(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    return (_as_date(b) - _as_date(a)).days


def f_month_start(d: Any) -> Any:
    return None if d is None else _as_date(d).replace(day=1)


def f_hours_since(dt: Any, now: datetime) -> Any:
    if dt is None:
        return None
    micro = (now - dt) // timedelta(microseconds=1)
    hours = abs(micro) // 3_600_000_000
    return -hours if micro < 0 else hours


def f_today(now: datetime) -> date:
    return now.astimezone(UTC).date()


def f_now(now: datetime) -> datetime:
    return now


def f_coalesce(*xs: Any) -> Any:
    return next((x for x in xs if x is not None), None)


def f_isblank(x: Any) -> Any:
    return x is None or x == "" or (isinstance(x, list) and not x)


def f_lookup(rows_: Any, key_field: Any, key: Any, result_field: Any) -> Any:
    if key is None:
        return None
    for row in rows_ or []:
        if row.get(key_field) == key:
            return row.get(result_field)
    return None


def f_date(s: Any) -> Any:
    if s is None:
        return None
    try:
        return date.fromisoformat(str(s))
    except ValueError:
        return None


def f_datetime(s: Any) -> Any:
    if s is None:
        return None
    try:
        v = datetime.fromisoformat(str(s).replace("Z", "+00:00"))
    except ValueError:
        return None
    return v if v.tzinfo is not None else v.replace(tzinfo=UTC)


HELPERS: dict[str, Callable[..., Any]] = {
    "_ichk": int_check, "_div": div, "_mod": mod, "_tcat": tcat, "_not": not3, "_and": and3,
    "_or": or3, "_in": in3, "_notin": notin3, "_path": path, "_child": childcol, "_if": f_if,
}

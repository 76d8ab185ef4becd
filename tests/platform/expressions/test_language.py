"""Parsing, type checking, NULL logic and the hostile corpus."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from jimu.core.errors import ExpressionError
from jimu.platform.expressions import Env, compile_expression, evaluate_literal_or_expr
from jimu.platform.expressions.parser import parse


def err(app, source: str, entity: str | None = "item", **kw) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, app, entity, **kw)
    return info.value


def test_literals_are_decimal_not_float(app) -> None:
    ce = compile_expression("cost_price * 1.1", app, "item")
    assert ce.evaluate({"cost_price": Decimal("0.1")}) == Decimal("0.11")
    assert ce.result_type == "money"
    assert compile_expression("0.1 + 0.2", app, None).evaluate({}) == Decimal("0.3")


def test_chinese_and_english_labels(app) -> None:
    assert compile_expression("[成本价] * 1.1", app, "item").dependencies == {"cost_price"}
    assert compile_expression("[Cost Price] > 0", app, "item").dependencies == {"cost_price"}
    assert compile_expression("成本价 + 数量", app, "item").dependencies == {"cost_price", "qty"}
    e = err(app, "[成本] * 2")
    assert e.code == "expression.unknown_name" and e.position == 0 and "成本价" in (e.hint or "")


def test_variables_and_positions(app) -> None:
    ce = compile_expression('warehouse.confirm_code == $user and "sales" in $user.roles', app, "item")
    assert ce.dependencies == {"warehouse"} and ce.paths == {"warehouse.confirm_code"}
    e = err(app, "qty > 1 and $usr == owner")
    assert e.position == 12 and "user" in (e.hint or "")
    assert compile_expression("$user.regions", app, "item").result_type == "any"


def test_syntax_error_caret(app) -> None:
    e = err(app, "qty + * 2")
    assert e.code == "expression.syntax" and e.position == 6
    assert e.caret().splitlines()[1] == "      ^"
    assert err(app, "qty +").position == 5


def test_unknown_name_suggests(app) -> None:
    e = err(app, "qty + cost_prise")
    assert e.position == 6 and e.hint == "did you mean cost_price?"
    assert "ROUND" in (err(app, "round(qty)").hint or "")
    assert "ROUND" in (err(app, "ROUDN(qty)").hint or "")


def test_type_errors(app) -> None:
    assert err(app, 'qty > "a"').position == 6
    assert err(app, "name * 3").code == "expression.type"
    assert err(app, "expiry < checked_at").code == "expression.type"
    assert err(app, "ROUND(qty, 1, 2)").code == "expression.arity"
    assert err(app, "IF(qty, 1, 2)").code == "expression.type"
    assert err(app, "qty + 1", purpose="row_filter").code == "expression.type"
    assert err(app, 'IF(active, 1, "a")').code == "expression.type"
    assert err(app, "name.x").code == "expression.type"


def test_not_sql_for_sql_purposes(app) -> None:
    src = 'LOOKUP(lines, "sku", "a", "amount") > 0'
    assert not compile_expression(src, app, "item", purpose="condition").sql_capable
    e = err(app, src, purpose="row_filter")
    assert e.code == "expression.not_sql" and e.position == 0


def test_extra_names(app) -> None:
    ce = compile_expression("code == warehouse.confirm_code", app, "item", purpose="guard",
                            extra_names={"code": "text"})
    env = Env(extra={"code": "x"}, lookup=lambda e, k: {"confirm_code": "x"})
    assert ce.test({"warehouse": 1}, env) is True
    assert err(app, "codes == 1", extra_names={"code": "text"}).hint == "did you mean code?"


def test_null_logic(app) -> None:
    def ev(src: str, **rec):
        return compile_expression(src, app, "item").evaluate(rec)

    assert ev("qty > 1") is None
    assert ev("qty > 1 and active", active=False) is False
    assert ev("qty > 1 or active", active=True) is True
    assert ev("qty > 1 or active", active=False) is None
    assert ev("not (qty > 1)") is None
    assert ev("qty + 1") is None
    assert ev("qty == null") is True
    assert ev("COALESCE(qty, 5)") == 5
    assert ev("ISBLANK(name)", name="") is True
    assert ev("IF(qty > 1, 1, 2)") == 2
    assert compile_expression("qty > 1", app, "item", purpose="guard").test({}) is False


def test_functions_evaluate(app) -> None:
    def ev(src: str, **rec):
        return compile_expression(src, app, "item").evaluate(rec)

    assert ev("ROUND(2.675, 2)") == Decimal("2.68")
    assert ev("ROUND(-2.5)") == Decimal("-3")
    assert ev("ROUND_TO(cost_price, 1000)", cost_price=Decimal("12500")) == Decimal("13000")
    assert ev("CEILING(1.2) + FLOOR(-1.2)") == 0
    assert ev("MAX(1, 2.5, 2)") == Decimal("2.5")
    assert ev("LEFT(\"积木平台\", 2) + RIGHT(\"积木平台\", 1)") == "积木台"
    assert ev("LEN(\"积木\")") == 2
    assert ev("CONCAT(\"a\", null, 3)") == "a3"
    assert ev("SUM(lines.amount)", lines=[{"amount": Decimal("1.5")}, {"amount": None}]) == Decimal("1.5")
    assert ev("SUM(lines.amount)", lines=[]) == Decimal(0)
    assert ev("AVG(lines.qty)", lines=[{"qty": 1}, {"qty": 2}]) == Decimal("1.5")
    assert ev("COUNT(lines)", lines=[{}, {}]) == 2
    assert ev('DATEADD(DATE("2024-02-28"), 1)').isoformat() == "2024-02-29"
    assert ev('DAYS_BETWEEN(DATE("2026-01-01"), DATE("2026-03-01"))') == 59
    assert ev("7 % -3") == 1 and ev("-7 % 3") == -1
    assert ev("qty / 0", qty=1) is None


def test_defaults(app) -> None:
    assert evaluate_literal_or_expr(5, app, "item", Env()) == 5
    assert evaluate_literal_or_expr('"draft"', app, "item", Env()) == "draft"
    assert evaluate_literal_or_expr("DATEADD($today, 7)", app, "item", Env()) is not None


def test_cache_returns_same_object(app) -> None:
    assert compile_expression("qty + 1", app, "item") is compile_expression("qty + 1", app, "item")


HOSTILE = [
    "().__class__.__bases__",
    "qty.__class__",
    "name.__class__.__mro__",
    "'{0.__class__}'.format(qty)",
    "\"abc\".upper()",
    "name.upper()",
    "9**9**9",
    "qty ** 100000",
    "qty ** qty",
    "(" * 10_000 + "1" + ")" * 10_000,
    "-" * 3000 + "1",
    "not " * 900 + "active",
    "+".join(["1"] * 1500),
    "'a'*10**9",
    "'a' * 1000000000",
    "lambda: 1",
    "[x for x in lines]",
    "{x for x in [1]}",
    "(x for x in [1])",
    "__import__('os')",
    "_user",
    "__builtins__",
    "eval('1')",
    "open('/etc/passwd')",
    "getattr(qty, 'real')",
    "lines[0]",
    "f'{qty}'",
    "(a := 1)",
    "{'a': 1}",
    "qty if True else __import__",
    "x" * 5000,
    "CONCAT(" + ",".join(['"' + "a" * 30 + '"'] * 150) + ")",
    "1e999999",
    "99999999999999999999999",
    "$user.__class__",
    "$__class__",
    "DATE(1)",
    "qty @ qty",
    "qty // 2",
    "yield 1",
    "*lines",
]


@pytest.mark.parametrize("source", HOSTILE, ids=[h[:40] for h in HOSTILE])
def test_hostile_refused_fast(app, source: str) -> None:
    start = time.monotonic()
    try:
        ce = compile_expression(source, app, "item")
    except ExpressionError:
        pass
    else:
        # The few that compile (long but legal) must evaluate safely within the budget.
        try:
            ce.evaluate({"qty": 3, "name": "x", "lines": []})
        except ExpressionError:
            pass
        assert source.startswith(("CONCAT(", "-", "not ", "+")) or "+" in source[:3], source
    assert time.monotonic() - start < 1.0


def test_parse_never_raises_other_errors() -> None:
    for source in ["\x00", "'", '"""', "\\", "1 +\n", "a\nb", "$", "[", "[]]", "if", "None()", "1 if"]:
        with pytest.raises(ExpressionError):
            parse(source).root.type  # noqa: B018

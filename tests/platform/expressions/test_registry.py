"""Function registry completeness, the spec-validation plugin and formula cycles."""

from __future__ import annotations

from typing import Any

from jimu.platform.expressions import BUILTINS, check_formula_cycles
from jimu.platform.expressions.plugin import validate_expressions
from jimu.platform.hooks import collect
from jimu.platform.specs import AppSpec

from .conftest import APP_DATA

REQUIRED = {"IF", "AND", "OR", "SUM", "ROUND", "CEILING", "FLOOR", "ABS", "MIN", "MAX", "LEN", "LEFT", "RIGHT",
            "CONTAINS", "CONCAT", "TODAY", "NOW", "DATEADD", "DAYS_BETWEEN", "HOURS_SINCE", "COALESCE", "ISBLANK",
            "LOOKUP", "COUNT", "AVG", "ROUND_TO"}


def test_every_function_has_docs_and_both_back_ends() -> None:
    assert REQUIRED <= set(BUILTINS)
    for f in BUILTINS.values():
        assert f.doc and f.signature.startswith(f.name), f.name
        assert callable(f.py), f.name
        assert (f.sql is not None) != f.python_only, f.name


def test_functions_registered_through_hook() -> None:
    names = {f.name for f in collect("jimu_expression_functions")}
    assert REQUIRED <= names


def _app(**changes: Any) -> AppSpec:
    data = {**APP_DATA, **changes}
    return AppSpec.model_validate(data)


def test_plugin_reports_bad_expressions_with_paths() -> None:
    app = _app(
        roles=[{"name": "sales", "entities": {"item": {"read": True, "row_filter": "owner == $usr",
                                                       "fields": {"cost_price": {"mask": "ROUND_TO(cost_price, 1000)"}}}}}],
        views=[{"name": "cheap", "entity": "item", "filter": 'LOOKUP(lines, "sku", "a", "amount") > 1'}],
        workflows=[{"name": "wf", "entity": "item", "states": [{"name": "draft", "initial": True}, {"name": "done"}],
                    "transitions": [{"name": "ship", "from": ["draft"], "to": "done",
                                     "guard": "code == warehouse.confirm_code",
                                     "inputs": [{"name": "code", "type": "text"}],
                                     "set": {"qty": "qty +"}}]}],
    )
    findings = {f.path: f for f in validate_expressions(app)}
    assert findings["roles.sales.entities.item.row_filter"].id == "EXPR-E002"
    assert "did you mean user" in findings["roles.sales.entities.item.row_filter"].hint
    assert findings["views.cheap.filter"].id == "EXPR-E005"
    assert findings["workflows.wf.transitions.ship.set.qty"].id == "EXPR-E001"
    assert "position 5" in findings["workflows.wf.transitions.ship.set.qty"].message
    assert "workflows.wf.transitions.ship.guard" not in findings
    assert "roles.sales.entities.item.fields.cost_price.mask" not in findings
    assert all(f.severity == "error" for f in findings.values())


def test_plugin_is_a_spec_validator() -> None:
    validators = collect("jimu_spec_validators")
    assert validate_expressions in validators


def test_formula_cycle_named() -> None:
    data = {**APP_DATA}
    entities = [dict(e) for e in data["entities"]]
    entities[2] = {"name": "item_line", "fields": [
        {"name": "a", "type": "formula", "options": {"expression": "b + 1", "result_type": "decimal"}},
        {"name": "b", "type": "formula", "options": {"expression": "c * 2", "result_type": "decimal"}},
        {"name": "c", "type": "formula", "options": {"expression": "a - 1", "result_type": "decimal"}},
        {"name": "d", "type": "formula", "options": {"expression": "a", "result_type": "decimal"}},
    ]}
    app = AppSpec.model_validate({**data, "entities": entities})
    findings = check_formula_cycles(app)
    assert len(findings) == 1
    assert findings[0].id == "EXPR-E010"
    assert "a -> b -> c -> a" in findings[0].message
    assert check_formula_cycles(AppSpec.model_validate(APP_DATA)) == []

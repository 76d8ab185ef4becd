"""Built-in plugin: type-checks every expression of an app spec (spec validation) and
registers the built-in expression functions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from jimu.core.errors import ExpressionError
from jimu.platform.expressions.compiled import compile_expression
from jimu.platform.expressions.deps import check_formula_cycles
from jimu.platform.expressions.functions import BUILTINS, FunctionDef
from jimu.platform.findings import Finding
from jimu.platform.hooks import hookimpl
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.roles import FieldMask

__all__ = ["validate_expressions", "expressions_of", "FINDING_IDS", "jimu_spec_validators",
           "jimu_expression_functions"]

# error code -> stable finding id
FINDING_IDS: dict[str, str] = {
    "expression.syntax": "EXPR-E001",
    "expression.unknown_name": "EXPR-E002",
    "expression.type": "EXPR-E003",
    "expression.arity": "EXPR-E004",
    "expression.not_sql": "EXPR-E005",
    "expression.too_large": "EXPR-E006",
    "expression.too_complex": "EXPR-E006",
    "expression.forbidden": "EXPR-E007",
    "expression.invalid": "EXPR-E008",
}

# (path, source, entity, purpose, extra names)
Item = tuple[str, str, str | None, str, dict[str, str] | None]


def expressions_of(app: AppSpec) -> Iterator[Item]:
    """Every expression of ``app`` with where it lives and how it is used."""
    for e in app.entities:
        for f in e.active_fields:
            base = f"entities.{e.name}.fields.{f.name}"
            if f.type == "formula" and f.expression:
                purpose = "stored_formula" if f.options.get("stored") else "formula"
                yield f"{base}.options.expression", f.expression, e.name, purpose, None
            if isinstance(f.default, str):
                yield f"{base}.default", f.default, e.name, "default", None
            if f.validation is not None:
                yield f"{base}.validation.expression", f.validation.expression, e.name, "validation", None
    for wf in app.workflows:
        for t in wf.transitions:
            base = f"workflows.{wf.name}.transitions.{t.name}"
            extras = {i.name: i.value_type for i in t.inputs}
            if t.guard:
                yield f"{base}.guard", t.guard, wf.entity, "guard", extras
            for field, expr in t.set.items():
                yield f"{base}.set.{field}", expr, wf.entity, "formula", extras
            if t.approval is not None:
                for step in t.approval.steps:
                    if step.condition:
                        yield f"{base}.approval.{step.name}.condition", step.condition, wf.entity, "condition", extras
    for role in app.roles:
        for ename, rights in role.entities.items():
            base = f"roles.{role.name}.entities.{ename}"
            if rights.row_filter:
                yield f"{base}.row_filter", rights.row_filter, ename, "row_filter", None
            for fname, access in rights.fields.items():
                if isinstance(access, FieldMask):
                    yield f"{base}.fields.{fname}.mask", access.mask, ename, "mask", None
    for view in app.views:
        if view.filter:
            yield f"views.{view.name}.filter", view.filter, view.entity, "view_filter", None
    for form in app.forms:
        for section in form.sections:
            if section.visible_if:
                yield f"forms.{form.name}.sections.{section.name}.visible_if", section.visible_if, form.entity, \
                    "visibility", None
    for auto in app.automations:
        if auto.condition:
            yield f"automations.{auto.name}.condition", auto.condition, auto.entity, "condition", None


def validate_expressions(app: AppSpec) -> list[Finding]:
    """Type-check every expression of ``app``; one finding per bad expression, plus
    formula cycles (EXPR-E010)."""
    findings: list[Finding] = []
    for path, source, entity, purpose, extras in expressions_of(app):
        if entity is not None and app.entity(entity) is None:
            continue  # the spec validator reports unknown entities
        try:
            compile_expression(source, app, entity, purpose=purpose, extra_names=extras)
        except ExpressionError as exc:
            where = f" at position {exc.position}" if exc.position is not None else ""
            findings.append(Finding(FINDING_IDS.get(exc.code, "EXPR-E008"), "error", path,
                                    f"{exc.plain_message}{where}: {source}", exc.hint or ""))
    findings.extend(check_formula_cycles(app))
    return findings


@hookimpl
def jimu_spec_validators() -> list[Callable[[AppSpec], list[Finding]]]:
    return [validate_expressions]


@hookimpl
def jimu_expression_functions() -> list[Any]:
    out: list[FunctionDef] = list(BUILTINS.values())
    return out

"""Transition inputs, guards and ``set`` expressions.

How a guard names its field: inputs are FieldSpecs, so an input may carry its own
``validation`` (expression + message) — it is evaluated with the record's fields and the
inputs in scope and a false result is a 422 naming that input. The transition ``guard``
follows one rule: when it is false and it *mentions an input* (``warehouse_confirm_code ==
warehouse.confirm_code``), the failure is about what the user typed, so it is a 422 with one
error per mentioned input and the ``guard_message``; a guard about the record alone
(``amount > 0``) is a 409 GuardFailed with the ``guard_message``.

Inside guards, input validations and ``set`` expressions, an input is visible under its
own name; an input that is also a field of the entity (``logistics_no``) overlays the
record's value, and it is stored on the record when the transition commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from jimu.core.errors import FieldError, GuardFailed, ValidationError
from jimu.core.money import quantize
from jimu.platform.expressions import Env, compile_expression
from jimu.platform.specs import AppSpec, EntitySpec
from jimu.platform.specs.workflow import TransitionSpec
from jimu.platform.values import coerce, is_blank
from jimu.runtime.records.validate import check_input
from jimu.runtime.workflow.approvals import env_with

__all__ = ["check_inputs", "check_guard", "set_values", "input_types", "stored_inputs", "mentions"]


def input_types(t: TransitionSpec) -> dict[str, str]:
    """Input name -> value type, for compiling expressions that mention inputs."""
    return {f.name: f.value_type for f in t.inputs}


def mentions(source: str, name: str) -> bool:
    """Whether ``source`` refers to ``name`` as a bare name (not ``x.name``, not in quotes)."""
    stripped = re.sub(r"'[^']*'|\"[^\"]*\"", "''", source)
    return re.search(rf"(?<![\w.$]){re.escape(name)}(?!\w)", stripped) is not None


def check_inputs(app: AppSpec, entity: EntitySpec, t: TransitionSpec, raw: Mapping[str, Any] | None,
                 record: Mapping[str, Any], env: Env) -> dict[str, Any]:
    """The coerced inputs; 422 with one error per bad input (unknown, wrong type,
    required and blank, failing its validation)."""
    if raw is not None and not isinstance(raw, Mapping):
        raise ValidationError("inputs must be an object", errors=[FieldError("inputs", "type", "expected an object")])
    data = dict(raw or {})
    shell = EntitySpec(name=f"{entity.name}.{t.name}", fields=list(t.inputs))
    values, _children, errors = check_input(shell, data, creating=True)
    bad = {e.field for e in errors}
    for f in t.inputs:
        if f.required and f.name not in bad and is_blank(values.get(f.name)):
            errors.append(FieldError(f.name, "required", f"{f.label.zh or f.name} is required / 必填"))
    if errors:
        raise ValidationError(f"transition '{t.name}' has invalid inputs", errors=errors)
    for f in t.inputs:
        values.setdefault(f.name, None)
    scope = {**record, **values}
    ienv = env_with(env, values)
    for f in t.inputs:
        if f.validation is None or values.get(f.name) is None:
            continue
        rule = compile_expression(f.validation.expression, app, entity.name, purpose="validation",
                                  extra_names=input_types(t))
        if not rule.test(scope, ienv):
            msg = f.validation.message.text() or f"{f.name} is not valid"
            errors.append(FieldError(f.name, "validation", msg))
    if errors:
        raise ValidationError(f"transition '{t.name}' has invalid inputs", errors=errors)
    return values


def check_guard(app: AppSpec, entity: EntitySpec, t: TransitionSpec, record: Mapping[str, Any],
                inputs: Mapping[str, Any], env: Env) -> None:
    """Raise when the guard is not true (see the module docstring for 422 vs 409)."""
    if not t.guard:
        return
    guard = compile_expression(t.guard, app, entity.name, purpose="guard", extra_names=input_types(t))
    if guard.test({**record, **inputs}, env_with(env, inputs)):
        return
    message = t.guard_message.text() if t.guard_message else ""
    message = message or f"the condition of '{t.name}' is not met: {t.guard}"
    named = [f.name for f in t.inputs if mentions(t.guard, f.name)]
    if named:
        raise ValidationError(message, code="workflow.input_rejected",
                              errors=[FieldError(n, "workflow.guard", message) for n in named])
    raise GuardFailed(message, extra={"transition": t.name, "guard": t.guard})


def set_values(app: AppSpec, entity: EntitySpec, t: TransitionSpec, record: Mapping[str, Any],
               inputs: Mapping[str, Any], env: Env) -> dict[str, Any]:
    """The field updates of ``set`` (each expression evaluated on the record before the
    transition, with the inputs in scope), coerced to the field types."""
    out: dict[str, Any] = {}
    scope = {**record, **inputs}
    ienv = env_with(env, inputs)
    for name, source in t.set.items():
        f = entity.field(name)
        if f is None:
            raise ValidationError(f"transition '{t.name}' sets unknown field '{name}'",
                                  errors=[FieldError(name, "field.unknown", "not a field of " + entity.name)])
        value = compile_expression(source, app, entity.name, purpose="formula",
                                   extra_names=input_types(t)).evaluate(scope, ienv)
        if isinstance(value, Decimal) and f.value_type in ("decimal", "money", "percent"):
            value = quantize(value, f.scale)
        out[name] = coerce(f, value)
    return out


def stored_inputs(entity: EntitySpec, inputs: Mapping[str, Any], state_field: str) -> dict[str, Any]:
    """Inputs that are also (writable, stored) fields of the entity."""
    out = {}
    for name, value in inputs.items():
        f = entity.field(name)
        if f is not None and f.stored and not f.archived and name != state_field \
                and f.type not in ("formula", "auto_number") and value is not None:
            out[name] = value
    return out

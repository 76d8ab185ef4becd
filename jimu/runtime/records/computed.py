"""Computed parts of a record: defaults, stored formulas (in dependency order), validation
rules — all through the one expression language."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from jimu.core.errors import ExpressionError, FieldError, NotFound
from jimu.platform.actor import Actor
from jimu.platform.schema.evolve import literal_default
from jimu.platform.specs import EntitySpec, FieldSpec
from jimu.platform.values import coerce, is_blank

if TYPE_CHECKING:
    from jimu.platform.expressions import Env
    from jimu.runtime.apps import AppRuntime
    from jimu.runtime.records.service import RecordService

__all__ = ["LazyEnv", "expression_env", "apply_defaults", "compute_formulas", "run_validations", "formula_order"]


class LazyEnv:
    """Builds the expression environment on first use, so records of entities without
    any expression never touch the expression language."""

    def __init__(self, service: RecordService, conn: Connection, rt: AppRuntime, actor: Actor) -> None:
        self._args = (service, conn, rt, actor)
        self._env: Env | None = None

    @property
    def user(self) -> Any:
        """``$user``: the acting user's name, as the environment holds it (without building
        the environment)."""
        return self._args[3].username

    def get(self) -> Env:
        if self._env is None:
            from jimu.platform.expressions import Env

            service, conn, rt, actor = self._args

            def lookup(entity: str, rid: Any) -> dict[str, Any] | None:
                try:
                    return service.get(rt.name, entity, rid, conn=conn, with_children=True)
                except NotFound:  # a dangling link (its record was deleted) reads as NULL
                    return None

            self._env = Env(user=actor.username, roles=tuple(actor.roles), user_attrs=dict(actor.attrs),
                            lookup=lookup)
        return self._env


def expression_env(service: RecordService, conn: Connection, rt: AppRuntime, actor: Actor) -> LazyEnv:
    """An evaluation environment whose link traversal reads through ``conn``."""
    return LazyEnv(service, conn, rt, actor)


def _default_plan(rt: AppRuntime, ent: EntitySpec) -> list[tuple[FieldSpec, bool, Any]]:
    """(field, is a literal, the literal or the default's compiled expression, or
    ``_USER`` for exactly ``$user``) for each field a new record may take a default for,
    worked out once per published entity (a default's literal was parsed, with
    ``compile()``, and its expression compiled, on every create)."""
    def build() -> list[tuple[FieldSpec, bool, Any]]:
        from jimu.platform.expressions import compile_expression

        plan: list[tuple[FieldSpec, bool, Any]] = []
        for f in ent.active_fields:
            if f.default is None or not f.stored or f.type in ("formula", "auto_number"):
                continue
            is_literal, lit = literal_default(f)
            if is_literal:
                plan.append((f, True, _fixed(f, lit)))
            elif str(f.default).strip() == "$user":
                plan.append((f, False, _USER))  # the acting user's name, no evaluation
            else:
                try:
                    compiled: Any = compile_expression(str(f.default), rt.spec, ent.name, purpose="default")
                except ExpressionError:
                    compiled = str(f.default)  # compiled (and refused) when a record needs it, as before
                plan.append((f, False, compiled))
        return plan

    plan: list[tuple[FieldSpec, bool, Any]] = rt.statement(("default_plan", ent.name), build)
    return plan


class _Fixed:
    """A literal default already coerced to its field's type (an immutable value, so every
    new record can share it)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


_IMMUTABLE = (type(None), bool, int, float, str, Decimal, date, datetime)


def _fixed(f: FieldSpec, lit: Any) -> Any:
    """``lit`` coerced once when that gives an immutable value; else ``lit`` itself, coerced
    per record as before (a list or dict default is copied that way; a literal the field's
    type refuses keeps raising its error on each create)."""
    try:
        value = coerce(f, lit)
    except Exception:  # noqa: BLE001 - answered by the create that uses it, as before
        return lit
    return _Fixed(value) if type(value) in _IMMUTABLE else lit


def apply_defaults(rt: AppRuntime, ent: EntitySpec, values: dict[str, Any], env: LazyEnv) -> None:
    """Fill fields missing from ``values`` with their default (literal or expression)."""
    for f, is_literal, lit in _default_plan(rt, ent):
        if f.name in values:
            continue
        if is_literal:
            values[f.name] = lit.value if type(lit) is _Fixed else coerce(f, lit)
        elif lit is _USER:
            values[f.name] = coerce(f, env.user)
        else:
            if isinstance(lit, str):
                from jimu.platform.expressions import compile_expression

                lit = compile_expression(lit, rt.spec, ent.name, purpose="default")
            values[f.name] = coerce(f, _plain(lit.evaluate(values, env.get()), f))


_USER = object()  # a default of exactly ``$user`` in the plan


def _plain(value: Any, f: FieldSpec) -> Any:
    from decimal import Decimal

    from jimu.core.money import quantize

    if isinstance(value, Decimal) and f.value_type in ("decimal", "money", "percent"):
        return quantize(value, int(f.options.get("scale", 4 if f.value_type == "decimal" else 2)))
    if isinstance(value, Decimal) and f.value_type == "integer":
        return int(value)
    return value


def formula_order(ent: EntitySpec, rt: AppRuntime) -> list[FieldSpec]:
    """Stored formula fields, each after the formulas it reads."""
    from jimu.platform.expressions import compile_expression

    formulas = {f.name: f for f in ent.active_fields if f.type == "formula" and f.expression}
    deps = {n: set(compile_expression(str(f.expression), rt.spec, ent.name, purpose="formula").dependencies)
            & set(formulas) for n, f in formulas.items()}
    order: list[FieldSpec] = []
    done: set[str] = set()
    while len(done) < len(formulas):
        ready = [n for n in formulas if n not in done and deps[n] <= done]
        if not ready:  # a cycle: publish refuses these, but never loop forever
            ready = [n for n in formulas if n not in done]
        for n in ready:
            done.add(n)
            order.append(formulas[n])
    return order


def _formula_plan(rt: AppRuntime, ent: EntitySpec) -> list[tuple[FieldSpec, Any]]:
    """(field, compiled expression) of the stored formulas in dependency order, worked out
    once per published entity (the order was derived and every expression looked up
    again for each record: twice per line of a 5,000-line count)."""
    def build() -> list[tuple[FieldSpec, Any]]:
        from jimu.platform.expressions import compile_expression

        return [(f, compile_expression(str(f.expression), rt.spec, ent.name, purpose="formula"))
                for f in formula_order(ent, rt)]

    plan: list[tuple[FieldSpec, Any]] = rt.statement(("formula_plan", ent.name), build)
    return plan


def compute_formulas(rt: AppRuntime, ent: EntitySpec, record: dict[str, Any], env: LazyEnv) -> None:
    """Compute every stored formula field of ``record`` in place."""
    if not any(f.type == "formula" for f in ent.active_fields):
        return
    for f, compiled in _formula_plan(rt, ent):
        try:
            value = compiled.evaluate(record, env.get())
        except ExpressionError:
            value = None
        try:
            record[f.name] = coerce_formula(f, value)
        except (ValueError, TypeError):
            record[f.name] = None


def coerce_formula(f: FieldSpec, value: Any) -> Any:
    """A formula result in its declared type, rounded to its scale (half-up)."""
    if value is None:
        return None
    plain = _plain(value, f)
    if f.value_type in ("decimal", "money", "percent"):
        return plain
    if f.value_type in ("text", "long_text") and not isinstance(plain, str):
        plain = str(plain)
    return coerce(f.model_copy(update={"type": f.value_type}), plain)


def run_validations(rt: AppRuntime, ent: EntitySpec, record: dict[str, Any], env: LazyEnv, prefix: str) -> list[FieldError]:
    """Field validation rules that evaluate to false (NULL counts as passing when the
    field is blank and not required)."""
    errors: list[FieldError] = []
    rules = [f for f in ent.active_fields if f.validation is not None]
    if not rules:
        return errors
    from jimu.platform.expressions import compile_expression

    for f in rules:
        assert f.validation is not None
        if is_blank(record.get(f.name)) and not f.required:
            continue
        compiled = compile_expression(f.validation.expression, rt.spec, ent.name, purpose="validation")
        ok = compiled.evaluate(record, env.get())
        if ok is not True:
            msg = f.validation.message.text("zh") or f"{f.label.zh or f.name} is invalid"
            if f.validation.message.en and f.validation.message.zh:
                msg = f"{f.validation.message.zh} / {f.validation.message.en}"
            errors.append(FieldError(prefix + f.name, "validation", msg))
    return errors

"""The public face of the expression language: compile once (cached), then evaluate in
Python or compile to SQL."""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core import clock
from jimu.core.errors import ExpressionError
from jimu.platform.expressions.checker import Checker
from jimu.platform.expressions.evaluator import build_function
from jimu.platform.expressions.nodes import Node, walk
from jimu.platform.expressions.parser import parse
from jimu.platform.expressions.runtime import Budget
from jimu.platform.expressions.sqlcompiler import SqlCompiler
from jimu.platform.expressions.types import T
from jimu.platform.specs.app import AppSpec

__all__ = ["Env", "CompiledExpression", "compile_expression", "evaluate_literal_or_expr", "clear_cache"]

CACHE_SIZE = 4096
_DECIMAL_TYPES = frozenset({"decimal", "money", "percent"})


@dataclass
class Env:
    """What an expression may know besides the record: the user, the time, a way to read
    linked records (``lookup(entity, id)``) and values for extra names."""

    user: str | None = None
    roles: tuple[str, ...] = ()
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    now: datetime | None = None
    lookup: Callable[[str, Any], Mapping[str, Any] | None] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def resolved_now(self) -> datetime:
        """``now`` or the clock's current time (timezone-aware)."""
        value = self.now or clock.now()
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def resolved_today(self) -> date:
        """The UTC date of :meth:`resolved_now` (what ``$today`` means)."""
        return self.resolved_now().astimezone(UTC).date()


class CompiledExpression:
    """A parsed, type-checked expression with its two back ends."""

    def __init__(self, source: str, app: AppSpec, entity: str | None, purpose: str, root: Node,
                 checker: Checker) -> None:
        self.source = source
        self.app = app
        self.entity = entity
        self.purpose = purpose
        self.root = root
        self.type: T = root.type
        self.result_type: str = root.type.name
        self.dependencies: frozenset[str] = frozenset(checker.dependencies)
        self.paths: frozenset[str] = frozenset(checker.paths)
        self.sql_capable: bool = not checker.python_only
        kinds = {n.kind for n in walk(root)}
        self._needs_budget = bool(kinds & {"path", "childcol"})
        #: Reads only the record's own fields (no link path, no child column), so
        #: :meth:`evaluate` on a stored row decides exactly what :meth:`to_sql` would.
        self.local: bool = not self._needs_budget
        self._needs_now = "var" in kinds or any(
            n.kind == "call" and n.value in ("TODAY", "NOW", "HOURS_SINCE") for n in walk(root))
        links: dict[str, dict[str, str | None]] = {
            e.name: {f.name: f.target for f in e.fields if f.type == "link"} for e in app.entities}
        base = app.entity(entity) if entity else None
        links[""] = links.get(base.name, {}) if base else {}
        self._fn = build_function(root, links)
        self._decimal = self.result_type in _DECIMAL_TYPES

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r}: {self.type})"

    def evaluate(self, record: Mapping[str, Any], env: Env | None = None) -> Any:
        """The value for ``record`` (field name -> value); NULL is None. Raises only
        ExpressionError."""
        env = env or _DEFAULT_ENV
        try:
            budget = Budget() if self._needs_budget else None
            now = env.resolved_now() if self._needs_now else None
            value = self._fn(record, env, budget, now)
        except ExpressionError as exc:
            if exc.source is None:
                exc.source = self.source
            raise
        except Exception as exc:  # never leak a raw Python error
            raise ExpressionError(f"cannot evaluate: {type(exc).__name__}: {exc}"[:300], code="expression.runtime",
                                  source=self.source) from None
        if self._decimal and type(value) is int:
            return Decimal(value)
        return value

    def test(self, record: Mapping[str, Any], env: Env | None = None) -> bool:
        """For filters, guards and conditions: the result is true (NULL counts as false)."""
        return self.evaluate(record, env) is True

    def to_sql(self, tables: Callable[[str], sa.Table], env: Env | None = None) -> Any:
        """A SQLAlchemy column expression over ``tables(entity)``; SQL NULL logic matches
        :meth:`evaluate`. Raises ExpressionError when the expression is not SQL-capable."""
        if not self.sql_capable:
            raise ExpressionError("this expression cannot run in SQL", code="expression.not_sql",
                                  source=self.source)
        try:
            return SqlCompiler(self.app, self.entity, tables, env or _DEFAULT_ENV).compile(self.root)
        except ExpressionError as exc:
            if exc.source is None:
                exc.source = self.source
            raise
        except Exception as exc:
            raise ExpressionError(f"cannot compile to SQL: {type(exc).__name__}: {exc}"[:300],
                                  code="expression.sql", source=self.source) from None


_DEFAULT_ENV = Env()
_lock = threading.Lock()
_cache: OrderedDict[tuple[Any, ...], CompiledExpression] = OrderedDict()
_fingerprints: dict[int, tuple[weakref.ref[AppSpec], str]] = {}


def _fingerprint(app: AppSpec) -> str:
    """A hash of the app spec, computed once per AppSpec object (specs are not mutated
    after they are loaded; a changed spec is a new object)."""
    key = id(app)
    hit = _fingerprints.get(key)
    if hit is not None and hit[0]() is app:
        return hit[1]
    digest = hashlib.sha1(app.model_dump_json().encode("utf-8")).hexdigest()
    with _lock:
        if len(_fingerprints) > 256:
            for k in [k for k, (ref, _) in _fingerprints.items() if ref() is None]:
                del _fingerprints[k]
        _fingerprints[key] = (weakref.ref(app), digest)
    return digest


def compile_expression(source: str, app: AppSpec, entity: str | None, *, purpose: str = "formula",
                       extra_names: dict[str, str] | None = None) -> CompiledExpression:
    """Parse and type-check ``source`` against ``entity`` of ``app`` for ``purpose``
    (cached). ``extra_names`` maps extra variable names to field value types. Raises
    ExpressionError with a position and hint; never another exception."""
    try:
        extras = tuple(sorted((extra_names or {}).items()))
        key = (source, app.name, _fingerprint(app), entity, purpose, extras)
    except Exception as exc:
        raise ExpressionError(f"cannot compile expression: {type(exc).__name__}", source=str(source)) from None
    hit = _cache.get(key)
    if hit is not None:
        return hit
    try:
        parsed = parse(source)
        checker = Checker(source, app, entity, purpose, dict(extras))
        root = checker.check(parsed.root)
        compiled = CompiledExpression(source, app, entity, purpose, root, checker)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError("expression nested too deeply", code="expression.too_complex", source=source) from None
    except Exception as exc:
        raise ExpressionError(f"cannot compile expression: {type(exc).__name__}: {exc}"[:300],
                              source=source) from None
    with _lock:
        _cache[key] = compiled
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


def clear_cache() -> None:
    """Forget every compiled expression (tests, hot reload of plugins)."""
    with _lock:
        _cache.clear()
        _fingerprints.clear()


def evaluate_literal_or_expr(default_value: Any, app: AppSpec, entity: str | None, env: Env | None = None,
                             record: Mapping[str, Any] | None = None) -> Any:
    """A field default: JSON values other than text are literals; text is an expression
    (so a text default is written quoted: ``'"draft"'``), evaluated against ``record``
    (empty by default)."""
    if not isinstance(default_value, str):
        return default_value
    ce = compile_expression(default_value, app, entity, purpose="default")
    return ce.evaluate(record or {}, env or Env())

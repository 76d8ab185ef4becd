"""The SQL back end: a typed tree -> a SQLAlchemy Core column expression.

The expression refers to the base entity's table as given by ``tables(entity)``;
``link.field`` becomes a correlated scalar subquery on an alias of the target table,
aggregates over child tables correlated subqueries on ``_parent_id``. Where SQLite and
PostgreSQL differ, :class:`DialectSwitch` carries both forms and renders the one for the
connection's dialect, so one compiled expression runs on both.

Limits: on SQLite decimal arithmetic is floating point (15 significant digits); compare
results after rounding to the field's scale. On PostgreSQL arithmetic is exact NUMERIC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from jimu.core.errors import ExpressionError
from jimu.platform.db import ExactDecimal, TZDateTime
from jimu.platform.expressions.nodes import Node
from jimu.platform.expressions.types import NUMERIC, TEXTUAL
from jimu.platform.schema.columns import column_name
from jimu.platform.specs.app import AppSpec

__all__ = ["SqlCompiler", "DialectSwitch", "Col"]

Col = ColumnElement[Any]


class DialectSwitch(ColumnElement[Any]):
    """One expression with a SQLite and a PostgreSQL form."""

    __visit_name__ = "jimu_dialect_switch"
    inherit_cache = True
    _traverse_internals = [
        ("sqlite_expr", InternalTraversal.dp_clauseelement),
        ("pg_expr", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, sqlite_expr: Col, pg_expr: Col, type_: Any = None) -> None:
        self.sqlite_expr = sqlite_expr
        self.pg_expr = pg_expr
        self.type = sa.types.to_instance(type_) if type_ is not None else pg_expr.type

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.pg_expr._from_objects)


@compiles(DialectSwitch)
def _render_switch(element: DialectSwitch, compiler: Any, **kw: Any) -> str:
    chosen = element.sqlite_expr if compiler.dialect.name == "sqlite" else element.pg_expr
    return str(compiler.process(chosen, **kw))


def sql_type_of(tname: str) -> Any:
    if tname in TEXTUAL:
        return sa.String()
    if tname in ("integer", "duration", "link"):
        return sa.BigInteger()
    if tname in NUMERIC:
        return ExactDecimal()
    return {"boolean": sa.Boolean(), "date": sa.Date(), "datetime": TZDateTime()}.get(tname, sa.types.NULLTYPE)


class SqlCompiler:
    """Compiles one checked tree for ``entity`` against ``tables`` with ``env``'s values."""

    def __init__(self, app: AppSpec, entity: str | None, tables: Callable[[str], sa.Table], env: Any) -> None:
        self.app, self.tables, self.env = app, tables, env
        self.entity = app.entity(entity) if entity else None
        self.base = tables(entity) if entity else None
        self.now: datetime = env.resolved_now()

    # helpers -----------------------------------------------------------------------
    def switch(self, sqlite_expr: Col, pg_expr: Col, type_: Any = None) -> Col:
        return DialectSwitch(sqlite_expr, pg_expr, type_)

    def literal(self, value: Any, tname: str | None = None) -> Col:
        if value is None:
            return sa.null()
        if isinstance(value, bool):
            return sa.true() if value else sa.false()
        if isinstance(value, Decimal):
            return sa.literal_column(format(value, "f"), ExactDecimal())
        if isinstance(value, int):
            return sa.literal(value, sa.BigInteger())
        if isinstance(value, datetime):
            return sa.literal(value, TZDateTime())
        if isinstance(value, date):
            return sa.literal(value, sa.Date())
        if isinstance(value, str):
            return sa.literal(value, sa.String())
        if tname is not None:
            return sa.literal(value, sql_type_of(tname))
        return sa.literal(value)

    def column(self, entity_name: str, table: Any, fname: str) -> Col:
        entity = self.app.entity(entity_name)
        f = entity.field(fname) if entity else None
        if f is None or table is None:
            raise ExpressionError(f"no column for {entity_name}.{fname}", code="expression.sql")
        col: Col = table.c[column_name(f)]
        return col

    def child(self, n: Node) -> tuple[Any, Any, str | None]:
        """(child table alias, child entity name, column field) for a childcol node."""
        assert self.entity is not None and self.base is not None
        field_name, col = n.value
        f = self.entity.field(field_name)
        target = f.target if f else None
        if not target:
            raise ExpressionError(f"'{field_name}' is not a child table", code="expression.sql")
        return self.tables(target).alias(), target, col

    def child_agg(self, n: Node, agg: Callable[[Col], Col], count_rows: bool = False) -> Col:
        """A correlated scalar subquery aggregating a child table (column)."""
        assert self.base is not None
        alias, target, col = self.child(n)
        value = sa.func.count() if count_rows or col is None else agg(self.column(target, alias, col))
        if col is not None and count_rows:
            value = sa.func.count(self.column(target, alias, col))
        sub = sa.select(value).where(alias.c._parent_id == self.base.c.id)
        return sub.scalar_subquery()

    # entry -------------------------------------------------------------------------
    def compile(self, n: Node) -> Col:
        handler = getattr(self, "c_" + n.kind)
        result: Col = handler(n)
        return result

    def c_lit(self, n: Node) -> Col:
        return self.literal(n.value)

    def c_field(self, n: Node) -> Col:
        assert self.entity is not None
        return self.column(self.entity.name, self.base, str(n.value))

    def c_path(self, n: Node) -> Col:
        assert self.entity is not None
        names: tuple[str, ...] = n.value
        entity = self.entity
        value = self.column(entity.name, self.base, names[0])
        for prev_name, name in zip(names, names[1:], strict=False):
            f = entity.field(prev_name)  # the link field
            assert f is not None and f.target
            target = self.app.entity(f.target)
            assert target is not None
            alias = self.tables(target.name).alias()
            inner = self.column(target.name, alias, name)
            value = sa.select(inner).where(alias.c.id == value).scalar_subquery()
            entity = target
        return value

    def c_childcol(self, n: Node) -> Col:
        raise ExpressionError("a child table can only be used inside SUM, COUNT, AVG, MIN, MAX or ISBLANK",
                              code="expression.type", position=n.pos)

    def c_var(self, n: Node) -> Col:
        if n.value == "user":
            return self.literal(self.env.user, "text")
        if n.value == "now":
            return self.literal(self.now)
        if n.value == "today":
            return self.literal(self.env.resolved_today())
        raise ExpressionError("$user.roles can only be used with 'in'", code="expression.sql", position=n.pos)

    def c_userattr(self, n: Node) -> Col:
        value = self.env.user_attrs.get(n.value)
        if isinstance(value, list | tuple):
            raise ExpressionError(f"$user.{n.value} is a list: use it with 'in'", code="expression.sql",
                                  position=n.pos)
        return self.literal(value)

    def c_extra(self, n: Node) -> Col:
        return self.literal(self.env.extra.get(n.value), n.type.name)

    def c_unary(self, n: Node) -> Col:
        a = self.compile(n.args[0])
        if n.op == "not":
            return sa.not_(a)
        return -a if n.op == "-" else a

    def c_bin(self, n: Node) -> Col:
        a, b = self.compile(n.args[0]), self.compile(n.args[1])
        if n.op == "+" and n.type.name == "text":
            return sa.type_coerce(a, sa.String()).concat(sa.type_coerce(b, sa.String()))
        if n.op == "/":
            den = sa.func.nullif(b, 0)
            return self.switch(a * sa.literal_column("1.0") / den,
                               sa.cast(a, ExactDecimal()) / den, ExactDecimal())
        if n.op == "%":
            return a.op("%")(sa.func.nullif(b, 0))
        result: Col
        if n.op == "**":
            exp = int(n.args[1].value)
            result = a * 0 + 1 if exp == 0 else a
            for _ in range(exp - 1):
                result = result * a
        else:
            ops = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}
            result = ops[n.op](a, b)
        if n.type.name in ("decimal", "money", "percent"):
            # SQLAlchemy types ``a * b`` as ``a``'s column type: a money column's scale
            # would round the product (0.01 * 0.01 read back as 0.00); the evaluator keeps
            # every digit, so the SQL value is read back exactly as well.
            return sa.type_coerce(result, ExactDecimal())
        return result

    def c_cmp(self, n: Node) -> Col:
        left, right = n.args
        if n.op in ("==", "!=") and (left.kind == "lit" and left.value is None or right.kind == "lit"
                                     and right.value is None):
            other = self.compile(right if left.kind == "lit" and left.value is None else left)
            return other.is_(None) if n.op == "==" else other.is_not(None)
        a, b = self.compile(left), self.compile(right)
        if n.op not in ("==", "!=") and (left.type.name in TEXTUAL or right.type.name in TEXTUAL):
            a = self.switch(a, a.collate("C"), sa.String())
        ops: dict[str, Callable[[Col, Col], Col]] = {
            "==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
            "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}
        return ops[n.op](a, b)

    def c_in(self, n: Node) -> Col:
        left, right = n.args
        a = self.compile(left)
        if right.type.name in TEXTUAL or right.type.name == "text":
            b = self.compile(right)
            result = self.switch(sa.func.instr(b, a) > 0, sa.func.strpos(b, a) > 0, sa.Boolean())
        elif right.kind == "list":
            result = a.in_([self.compile(x) for x in right.args])
        else:
            if right.kind == "var" and right.value == "roles":
                values: Any = list(self.env.roles)
            elif right.kind == "userattr":
                values = self.env.user_attrs.get(right.value)
            elif right.kind == "extra":
                values = self.env.extra.get(right.value)
            else:
                raise ExpressionError("'in' on this value cannot run in SQL", code="expression.not_sql",
                                      position=n.pos)
            if values is None:
                result = sa.null()
            else:
                items = list(values) if isinstance(values, list | tuple | set | frozenset) else [values]
                result = a.in_([self.literal(v) for v in items]) if items else sa.false()
        return sa.not_(result) if n.op == "not in" else result

    def c_bool(self, n: Node) -> Col:
        parts = [self.compile(a) for a in n.args]
        return sa.and_(*parts) if n.op == "and" else sa.or_(*parts)

    def c_if(self, n: Node) -> Col:
        c, a, b = (self.compile(x) for x in n.args)
        return sa.case((c, a), else_=b)

    def c_list(self, n: Node) -> Col:
        raise ExpressionError("a list can only be used after 'in'", code="expression.type", position=n.pos)

    def c_call(self, n: Node) -> Col:
        from jimu.platform.expressions.functions import BUILTINS, registry

        fn = BUILTINS.get(str(n.value)) or registry()[str(n.value)]
        if fn.sql is None:
            raise ExpressionError(f"{n.value}() cannot run in SQL", code="expression.not_sql", position=n.pos)
        result: Col = fn.sql(self, n)
        return result

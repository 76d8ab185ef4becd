"""A SELECT kept whole (its bound values included) run on the driver's cursor: the rows as
the driver's tuples, each column through the result processor SQLAlchemy would apply.

Why: a list page's first page is the same statement request after request (the record
query keeps it per entity, sort, limit and caller profile). Through ``Connection.execute``
each run paid the compiled-cache lookup, an execution context, parameter processing and a
``Row`` per row, about as much client CPU as the driver's own round trip and fetch. Here
the statement is compiled once per dialect, its parameters processed once (each bind's own
processor), and a run is ``cursor.execute`` + ``fetchall`` (on PostgreSQL straight through
libpq where :mod:`jimu.platform.pgdirect` applies: no cursor at all).

What stays as SQLAlchemy does it: the values (a column's result processor, chosen from the
driver's type code as SQLAlchemy chooses it, runs on every value when the column has one),
errors (a failed run is repeated through ``Connection.execute``, which raises SQLAlchemy's
wrapped exception), and statement hooks: while a ``before_cursor_execute`` or
``after_cursor_execute`` listener is registered the statement goes through
``Connection.execute`` so the listener sees it. A statement whose SQL depends on its values
at run time (expanding ``IN``, literal-rendered binds) always does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Dialect

from jimu.platform.pgdirect import NOT_DIRECT, statements_listened
from jimu.platform.pgtail import direct

__all__ = ["DriverSelect"]

_Procs = tuple[Callable[[Any], Any] | None, ...]


class _Plan:
    __slots__ = ("sql", "params", "procs")

    def __init__(self, sql: str, params: Any) -> None:
        self.sql = sql
        self.params = params
        self.procs: _Procs | None = None  # per column, from the first run's description


class DriverSelect:
    """``stmt`` (a SELECT with every bound value fixed) run through the driver: see the
    module docstring. :meth:`rows` answers what ``conn.execute(stmt).all()`` would, as
    tuples."""

    __slots__ = ("stmt", "_plans")

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self._plans: dict[Dialect, _Plan | None] = {}

    def _plan(self, dialect: Dialect) -> _Plan | None:
        compiled: Any = self.stmt.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            return None  # its SQL is finished per run: left to SQLAlchemy
        values = compiled.construct_params()
        procs = compiled._bind_processors  # the processors SQLAlchemy's execution applies
        escaped = compiled.escaped_bind_names or {}

        def bound(name: str) -> Any:
            value = values[name]
            proc = procs.get(name)
            return value if proc is None else proc(value)

        if compiled.positiontup is not None:
            return _Plan(compiled.string, tuple(bound(name) for name in compiled.positiontup))
        return _Plan(compiled.string, {escaped.get(name, name): bound(name) for name in values})

    def rows(self, conn: Connection) -> list[Any]:
        dialect = conn.dialect
        try:
            plan = self._plans[dialect]
        except KeyError:
            plan = self._plans[dialect] = self._plan(dialect)
        if plan is None or statements_listened(conn):
            return list(conn.execute(self.stmt).all())
        try:
            got = direct(conn, plan.sql, plan.params, "all")  # what waits on the connection goes first (pgtail)
        except dialect.loaded_dbapi.Error:
            return list(conn.execute(self.stmt).all())  # raises SQLAlchemy's error (or reads after a blip)
        if got is not NOT_DIRECT:
            description, rows = got
        else:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            try:
                cur.execute(plan.sql, plan.params)
                rows = cur.fetchall()
                description = cur.description
            except dialect.loaded_dbapi.Error:
                cur.close()
                return list(conn.execute(self.stmt).all())  # raises SQLAlchemy's error (or reads after a blip)
            cur.close()
        procs = plan.procs
        if procs is None:
            procs = plan.procs = self._result_procs(dialect, description)
        if not any(procs):
            return list(rows)
        return [tuple(v if p is None else p(v) for p, v in zip(procs, r, strict=True)) for r in rows]

    def _result_procs(self, dialect: Dialect, description: Any) -> _Procs:
        """Each selected column's result processor for the driver's type code of it (what
        SQLAlchemy picks when it reads the row)."""
        columns = list(self.stmt.selected_columns)
        return tuple(col.type.dialect_impl(dialect).result_processor(dialect, description[i][1])
                     for i, col in enumerate(columns))

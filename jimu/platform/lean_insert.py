"""One row into a system table (an audit row, an outbox event) without SQLAlchemy's
per-statement execution machinery, and JSON text built once for it.

Why: every record write adds an audit row and an event row. Through ``Connection.execute``
each cost ~3x the driver's own work (the compiled-cache lookup, an execution context,
parameter processing, a result proxy for a statement that returns nothing). A
:class:`LeanInsert` compiles its INSERT once per dialect, applies each column's own bind
processor (the one SQLAlchemy would call: the stored text of a timestamp is identical) and
runs it with ``exec_driver_sql``, so the engine's events (statement hooks, the commit's
wake-ups) still see it. JSON columns named ``encoded`` take text already encoded by
:func:`json_text` (one encoding shared by the audit and the event rows of a write)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

__all__ = ["LeanInsert", "json_text"]


def _odd(value: Any) -> bool:
    """Whether ``value`` holds a float orjson writes differently from ``json.dumps`` (NaN
    or infinite: ``null`` against ``NaN``). What orjson refuses (integers beyond 64 bits,
    non-string keys) raises and goes through ``json.dumps`` too."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_odd(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_odd(v) for v in value)
    return False


def json_text(value: Any) -> str:
    """The JSON text of a JSON-ready ``value`` (see ``jimu.platform.values.to_json``), as
    a JSON column stores it. orjson's compact UTF-8 form; what it would write differently
    from the standard library (NaN, huge integers) goes through ``json.dumps`` as before."""
    if _odd(value):
        return json.dumps(value)
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # huge integers, non-string keys, a caller's own object: as before
        return json.dumps(value)


_Plan = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...], bool]


class LeanInsert:
    """``INSERT INTO table (keys) VALUES (...)`` run through the driver; ``encoded``: JSON
    columns given as :func:`json_text` text. ``returning``: :meth:`row` answers the row as
    stored (``RETURNING`` every column, each through its type's result processor, as
    SQLAlchemy reads it); ``or_nothing``: ``ON CONFLICT DO NOTHING`` (SQLite, PostgreSQL),
    :meth:`row` is then None when a unique value was taken."""

    def __init__(self, table: sa.Table, keys: Sequence[str], encoded: Collection[str] = (), *,
                 returning: bool = False, or_nothing: bool = False) -> None:
        self.table = table
        self.keys = tuple(keys)
        self.encoded = frozenset(encoded)
        self.returning = returning
        self.or_nothing = or_nothing
        self._plans: dict[Dialect, _Plan] = {}
        self._results: dict[Dialect, tuple[Callable[[Any], Any] | None, ...]] = {}

    def _statement(self, dialect: Dialect) -> Any:
        values = {k: sa.bindparam(k, type_=self.table.c[k].type) for k in self.keys}
        if self.or_nothing:
            if dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt: Any = pg_insert(self.table).values(values).on_conflict_do_nothing()
            else:
                from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                stmt = sqlite_insert(self.table).values(values).on_conflict_do_nothing()
        else:
            stmt = self.table.insert().values(values)
        # ``inline()``: no RETURNING of the new key (PostgreSQL) for a row nobody reads back.
        return stmt.returning(*self.table.c) if self.returning else stmt.inline()

    def _plan(self, dialect: Dialect) -> _Plan:
        compiled = self._statement(dialect).compile(dialect=dialect)
        positional = bool(compiled.positiontup)
        names = tuple(compiled.positiontup or ()) if positional else self.keys
        # An encoded JSON value is already the column's text (on PostgreSQL the statement's
        # own ``::JSON`` cast reads it): no processor for it.
        procs = tuple(None if k in self.encoded else self.table.c[k].type.dialect_impl(dialect).bind_processor(dialect)
                      for k in names)
        return compiled.string, names, procs, positional

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        plan = self._plans.get(conn.dialect)
        if plan is None:
            plan = self._plans[conn.dialect] = self._plan(conn.dialect)
        sql, names, procs, positional = plan
        out = [params[k] if p is None else p(params[k]) for k, p in zip(names, procs, strict=True)]
        if positional:
            return conn.exec_driver_sql(sql, tuple(out))
        return conn.exec_driver_sql(sql, dict(zip(names, out, strict=True)))

    def __call__(self, conn: Connection, params: Mapping[str, Any]) -> None:
        self._run(conn, params)

    def row(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Insert and return the stored row by column name (None: nothing inserted)."""
        assert self.returning
        result = self._run(conn, params)
        dialect = conn.dialect
        procs = self._results.get(dialect)
        if procs is None:
            # As SQLAlchemy reads a RETURNING row: each column's result processor for the
            # driver's type code of it (PostgreSQL's oid; None on SQLite).
            desc = result.cursor.description
            procs = self._results[dialect] = tuple(
                col.type.dialect_impl(dialect).result_processor(dialect, desc[i][1])
                for i, col in enumerate(self.table.c))
        raw = result.fetchone()
        result.close()
        if raw is None:
            return None
        return {col.name: raw[i] if p is None else p(raw[i])
                for i, (col, p) in enumerate(zip(self.table.c, procs, strict=True))}

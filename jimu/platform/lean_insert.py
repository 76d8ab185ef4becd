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
    """Whether ``value`` holds what orjson writes differently from ``json.dumps`` (NaN or
    infinite floats: ``null`` against ``NaN``) or refuses (integers beyond 64 bits,
    non-string keys)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2 ** 63) <= value < 2 ** 64
    if isinstance(value, dict):
        return any(not isinstance(k, str) or _odd(v) for k, v in value.items())
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
    except TypeError:  # not JSON-ready (a caller's own object): the column's serializer
        return json.dumps(value)


_Plan = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...], bool]


class LeanInsert:
    """``INSERT INTO table (keys) VALUES (...)`` run through the driver; ``encoded``: JSON
    columns given as :func:`json_text` text."""

    def __init__(self, table: sa.Table, keys: Sequence[str], encoded: Collection[str] = ()) -> None:
        self.table = table
        self.keys = tuple(keys)
        self.encoded = frozenset(encoded)
        self._plans: dict[Dialect, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        # ``inline()``: no RETURNING of the new key (PostgreSQL) for a row nobody reads back.
        stmt = self.table.insert().values({k: sa.bindparam(k, type_=self.table.c[k].type) for k in self.keys}).inline()
        compiled = stmt.compile(dialect=dialect)
        positional = bool(compiled.positiontup)
        names = tuple(compiled.positiontup or ()) if positional else self.keys
        # An encoded JSON value is already the column's text (on PostgreSQL the statement's
        # own ``::JSON`` cast reads it): no processor for it.
        procs = tuple(None if k in self.encoded else self.table.c[k].type.dialect_impl(dialect).bind_processor(dialect)
                      for k in names)
        return compiled.string, names, procs, positional

    def __call__(self, conn: Connection, params: Mapping[str, Any]) -> None:
        plan = self._plans.get(conn.dialect)
        if plan is None:
            plan = self._plans[conn.dialect] = self._plan(conn.dialect)
        sql, names, procs, positional = plan
        out = [params[k] if p is None else p(params[k]) for k, p in zip(names, procs, strict=True)]
        if positional:
            conn.exec_driver_sql(sql, tuple(out))
        else:
            conn.exec_driver_sql(sql, dict(zip(names, out, strict=True)))

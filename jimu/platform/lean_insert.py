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
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from jimu.platform.pgdirect import NOT_DIRECT, statements_listened
from jimu.platform.pgtail import defer, direct
from jimu.platform.values import to_json

__all__ = ["LeanInsert", "Row", "insert_together", "json_text", "json_text_of"]


# Values that hold no float and no container: passed over by type, without a call each.
_LEAF = frozenset({str, int, bool, type(None), Decimal, datetime, date})


def _odd(value: Any) -> bool:
    """Whether ``value`` holds a float orjson writes differently from ``json.dumps`` (NaN
    or infinite: ``null`` against ``NaN``). What orjson refuses (integers beyond 64 bits,
    non-string keys) raises and goes through ``json.dumps`` too. Leaf values of the usual
    kinds (text, numbers, None, Decimals, dates: nearly every value of a record) are
    passed over by their type."""
    kind = type(value)
    if kind is dict:
        values: Any = value.values()
    elif kind is list or kind is tuple:
        values = value
    elif kind in _LEAF:
        return False
    elif isinstance(value, float):
        return not math.isfinite(value)
    elif isinstance(value, dict):
        values = value.values()
    elif isinstance(value, list | tuple):
        values = value
    else:
        return False
    leaf = _LEAF
    for v in values:
        kind = type(v)
        if kind in leaf:
            continue
        if kind is float:
            if not math.isfinite(v):
                return True
        elif _odd(v):
            return True
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


def _ready(value: Any) -> Any:
    """orjson's ``default``: what :func:`jimu.platform.values.to_json` makes of a value
    orjson leaves to it (Decimal, datetime, date); anything else is refused, as orjson
    refuses it."""
    out = to_json(value)
    if out is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return out


_PASS_DATES = orjson.OPT_PASSTHROUGH_DATETIME  # datetimes too go through to_json (its exact isoformat text)


def json_text_of(value: Any) -> str:
    """``json_text(to_json(value))`` for a stored value (a record snapshot: Decimals,
    datetimes, dates among plain JSON) in one pass of orjson, which calls back only for
    the values ``to_json`` converts; the same text to the byte (what would differ, NaN
    and the like, takes that very path)."""
    if _odd(value):
        return json.dumps(to_json(value))
    try:
        return orjson.dumps(value, default=_ready, option=_PASS_DATES).decode()
    except TypeError:
        return json_text(to_json(value))


_Plan = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...], bool]


def _driver(conn: Connection) -> Any:
    """The driver's connection when a statement may run on it directly, else None (then it
    goes through ``exec_driver_sql``): the transaction must be open (its BEGIN is
    SQLAlchemy's) and nobody may listen to statements (``before_cursor_execute`` or
    ``after_cursor_execute``: tests counting statements, tracing), so what SQLAlchemy
    would do around the driver's ``execute`` is nothing but building the execution
    context and result this insert does not need."""
    if not conn.in_transaction() or statements_listened(conn):
        return None
    return conn.connection.dbapi_connection


def _execute(conn: Connection, sql: str, args: Any, fetch: bool, describe: bool = True) -> tuple[Any, Any] | None:
    """Run ``sql`` on ``conn``; with ``fetch``, (the cursor's description, or None without
    ``describe``: psycopg builds it anew on each read, its first row).
    A driver error comes out as SQLAlchemy raises it (``IntegrityError``...), with the
    connection invalidated on a disconnect, as ``exec_driver_sql`` would."""
    raw = _driver(conn)
    if raw is None:
        result = conn.exec_driver_sql(sql, args)  # a deferred statement goes first (pgtail)
        if not fetch:
            return None
        desc = result.cursor.description if describe else None
        first = result.fetchone()
        result.close()
        return desc, first
    try:
        got = direct(conn, sql, args, fetch)  # what waits on the connection goes first (pgtail)
    except conn.dialect.loaded_dbapi.Error as err:
        conn._handle_dbapi_exception(err, sql, args, None, None)
    if got is not NOT_DIRECT:
        return got  # type: ignore[no-any-return]
    cursor = raw.cursor()
    try:
        cursor.execute(sql, args)
        return (cursor.description if describe else None, cursor.fetchone()) if fetch else None
    except Exception as err:  # noqa: BLE001 - wrapped and raised as SQLAlchemy does
        conn._handle_dbapi_exception(err, sql, args, cursor, None)
    finally:
        cursor.close()


def _arguments(plan: _Plan, params: Mapping[str, Any]) -> Any:
    _sql, names, procs, positional = plan
    out = [params[k] if p is None else p(params[k]) for k, p in zip(names, procs, strict=True)]
    return tuple(out) if positional else dict(zip(names, out, strict=True))


class LeanInsert:
    """``INSERT INTO table (keys) VALUES (...)`` run through the driver; ``encoded``: JSON
    columns given as :func:`json_text` text. ``returning``: :meth:`row` answers the row as
    stored (``RETURNING`` every column, each through its type's result processor, as
    SQLAlchemy reads it); ``or_nothing``: ``ON CONFLICT DO NOTHING`` (SQLite, PostgreSQL),
    :meth:`row` is then None when a unique value was taken; ``computed``: columns whose
    value is an SQL expression of the row's parameters (``fn(param)``, ``param(key)``
    being the bind parameter of one of ``keys``)."""

    def __init__(self, table: sa.Table, keys: Sequence[str], encoded: Collection[str] = (), *,
                 returning: bool = False, or_nothing: bool = False,
                 computed: Mapping[str, Callable[[Callable[[str], Any]], Any]] | None = None) -> None:
        self.table = table
        self.keys = tuple(keys)
        self.encoded = frozenset(encoded)
        self.returning = returning
        self.or_nothing = or_nothing
        # column -> fn(param) building its SQL value from the row's own parameters
        # (``param(key)``: the bind parameter of ``key``, one of ``keys``).
        self.computed = dict(computed or {})
        self._names = tuple(c.name for c in table.c)  # RETURNING's columns, in order
        self._plans: dict[Dialect, _Plan] = {}
        self._results: dict[Dialect, tuple[Callable[[Any], Any] | None, ...]] = {}

    def statement(self, dialect: Dialect, prefix: str = "") -> Any:
        """The INSERT statement, its parameters named ``prefix + key``."""
        def param(k: str) -> Any:
            return sa.bindparam(prefix + k, type_=self.table.c[k].type)

        values = {k: param(k) for k in self.keys}
        values.update({col: build(param) for col, build in self.computed.items()})
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

    def processor(self, key: str, dialect: Dialect) -> Callable[[Any], Any] | None:
        """What a value of ``key`` goes through before the driver (None: as given). An
        encoded JSON value is already the column's text (on PostgreSQL the statement's own
        ``::JSON`` cast reads it)."""
        if key in self.encoded:
            return None
        return self.table.c[key].type.dialect_impl(dialect).bind_processor(dialect)

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect)
        if plan is None:
            plan = self._plans[dialect] = _compile(self.statement(dialect), dialect, {k: (self, k) for k in self.keys})
        return plan

    def __call__(self, conn: Connection, params: Mapping[str, Any]) -> None:
        plan = self._plan(conn.dialect)
        _execute(conn, plan[0], _arguments(plan, params), False)

    def row(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Insert and return the stored row by column name (None: nothing inserted)."""
        assert self.returning
        dialect = conn.dialect
        plan = self._plan(dialect)
        procs = self._results.get(dialect)
        got = _execute(conn, plan[0], _arguments(plan, params), True, describe=procs is None)
        assert got is not None
        desc, raw = got
        if procs is None:
            # As SQLAlchemy reads a RETURNING row: each column's result processor for the
            # driver's type code of it (PostgreSQL's oid; None on SQLite), found once.
            procs = self._results[dialect] = tuple(
                col.type.dialect_impl(dialect).result_processor(dialect, desc[i][1])
                for i, col in enumerate(self.table.c))
        if raw is None:
            return None
        return {name: v if p is None else p(v) for name, p, v in zip(self._names, procs, raw, strict=True)}


def _compile(stmt: Any, dialect: Dialect, sources: Mapping[str, tuple[LeanInsert, str] | None]) -> _Plan:
    """The SQL text of ``stmt`` and, per parameter in the driver's order, its processor:
    ``sources`` maps a parameter name to the (insert, key) it is a value of (None: as given)."""
    compiled = stmt.compile(dialect=dialect)
    positional = bool(compiled.positiontup)
    names = tuple(compiled.positiontup or ()) if positional else tuple(sources)
    procs = tuple(None if sources[n] is None else sources[n][0].processor(sources[n][1], dialect)  # type: ignore[index]
                  for n in names)
    return compiled.string, names, procs, positional


Row = tuple[LeanInsert, Mapping[str, Any]]
_batches: dict[tuple[Dialect, tuple[LeanInsert, ...], bool], _Plan] = {}


def insert_together(conn: Connection, rows: Sequence[Row], notify: str | None = None, *,
                    deferrable: bool = False) -> None:
    """Insert each ``(insert, params)`` of ``rows`` (inserts without ``returning``), in
    order, in ``conn``'s transaction. On PostgreSQL they are one statement, one round trip
    (data-modifying ``WITH`` clauses, each run to completion whether read or not), ending
    in ``SELECT pg_notify(notify, '')`` when ``notify`` (a channel) is given; elsewhere one
    statement per row (``notify`` is then an error: there is no NOTIFY).

    ``deferrable``: nobody waits for the rows before the commit, nor for this statement's
    error (the outbox's event rows): on PostgreSQL the statement may then go with the
    ``COMMIT`` (:mod:`jimu.platform.pgtail`), or with whatever statement comes first."""
    if conn.dialect.name != "postgresql":
        if notify is not None:
            raise ValueError("NOTIFY is PostgreSQL's")
        for lean, params in rows:
            lean(conn, params)
        return
    if len(rows) == 1 and notify is None:
        plan = rows[0][0]._plan(conn.dialect)
        sql, args = plan[0], _arguments(plan, rows[0][1])
    else:
        leans = tuple(lean for lean, _params in rows)
        key = (conn.dialect, leans, notify is not None)
        batch = _batches.get(key)
        if batch is None:
            if len(_batches) >= 256:  # inserts made on the fly: keep the cache bounded
                _batches.clear()
            batch = _batches[key] = _batch_plan(conn.dialect, leans, notify is not None)
        plan = batch
        values: dict[str, Any] = {f"_w{i}_{k}": v for i, (_lean, one) in enumerate(rows) for k, v in one.items()}
        if notify is not None:
            values["_w_channel"] = notify
        sql, args = plan[0], _arguments(plan, values)
    if deferrable and defer(conn, sql, args, lambda c: _execute(c, sql, args, False)):
        return
    _execute(conn, sql, args, False)


def _batch_plan(dialect: Dialect, leans: tuple[LeanInsert, ...], notify: bool) -> _Plan:
    assert not any(lean.returning for lean in leans)
    sources: dict[str, tuple[LeanInsert, str] | None] = {
        f"_w{i}_{k}": (lean, k) for i, lean in enumerate(leans) for k in lean.keys}
    inserts = [lean.statement(dialect, f"_w{i}_") for i, lean in enumerate(leans)]
    if notify:
        sources["_w_channel"] = None
        main: Any = sa.select(sa.func.pg_notify(sa.bindparam("_w_channel", type_=sa.String()), sa.literal_column("''")))
        ctes = inserts
    else:
        main, ctes = inserts[-1], inserts[:-1]
    stmt = main.add_cte(*(ins.cte(f"_jimu_w{i}") for i, ins in enumerate(ctes)))
    return _compile(stmt, dialect, sources)

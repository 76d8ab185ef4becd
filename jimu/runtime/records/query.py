"""Listing records: filters, sort and cursor (keyset) pagination."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError, ValidationError
from jimu.platform.actor import Actor
from jimu.platform.db import RAW, DecimalType, TZDateTime, read_raw
from jimu.platform.driver_select import DriverSelect
from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec
from jimu.runtime.records.codec import SYSTEM_FIELDS
from jimu.runtime.records.cursor import decode_cursor, encode_cursor, sort_kind

if TYPE_CHECKING:
    from jimu.runtime.apps import AppRuntime

__all__ = ["ListResult", "list_records", "MAX_LIMIT", "filter_clause", "list_columns", "first_page_statement"]

MAX_LIMIT = 500
Encode = Callable[[Sequence[Any], Any], list[dict[str, Any]]]


@dataclass
class ListResult:
    data: list[dict[str, Any]]
    next_cursor: str | None


def filter_clause(rt: AppRuntime, ent: EntitySpec, source: str, actor: Actor, purpose: str = "view_filter") -> Any:
    """An expression compiled to an SQL clause for ``ent``'s table (422 on a bad filter)."""
    from jimu.platform.expressions import Env, compile_expression

    compiled = compile_expression(source, rt.spec, ent.name, purpose=purpose)
    env = Env(user=actor.username, roles=tuple(actor.roles), user_attrs=dict(actor.attrs))
    return compiled.to_sql(rt.tables, env)


def _sort_column(table: sa.Table, ent: EntitySpec, sort: str) -> tuple[Any, str, bool]:
    """(column, record key, descending) for a ``sort`` parameter such as ``-qty``."""
    desc = sort.startswith("-")
    name = sort.lstrip("-+")
    if name in SYSTEM_FIELDS:
        return table.c[name], name, desc
    f = ent.field(name)
    if f is None or not f.stored or f.archived or f.type in ("json", "multi_choice", "geo"):
        raise ValidationError(f"cannot sort by '{name}'", errors=[FieldError("sort", "sort.invalid",
                                                                             f"'{name}' is not a sortable field")])
    return table.c[column_name(f)], name, desc


def _projection(rt: AppRuntime, ent: EntitySpec, table: sa.Table, raw: bool = False,
                decimal_text: bool = False) -> tuple[Any, tuple[str, ...]]:
    """The SELECT of the columns a listed record holds, and the record key of each column
    in order, so a row becomes a record with one ``dict(zip(keys, row))`` (the same record
    :func:`row_to_record` builds). Built once per published entity. ``raw``: decimal and
    timestamp columns come as the driver hands them over (``RAW``: no per-value result
    processing), for an encoder that converts them itself; with ``decimal_text``
    (PostgreSQL) decimal columns are selected as their text (``CAST(col AS TEXT)``: a
    ``NUMERIC(p, s)`` prints exactly ``s`` decimals, the JSON text the encoder writes, so
    no Decimal is built, quantized and formatted back per value)."""
    def build() -> tuple[Any, tuple[str, ...]]:
        keys = [*SYSTEM_FIELDS, *(f.name for f in ent.fields if f.stored and not f.archived)]
        cols: list[Any] = [table.c[k] for k in SYSTEM_FIELDS]
        cols += [table.c[column_name(f)] for f in ent.fields if f.stored and not f.archived]
        for extra in ("_parent_id", "_idx"):
            if extra in table.c:
                keys.append(extra)
                cols.append(table.c[extra])
        if raw:
            cols = [c if not isinstance(c.type, DecimalType | TZDateTime)
                    else sa.type_coerce(sa.cast(c, sa.Text) if decimal_text and isinstance(c.type, DecimalType) else c,
                                        RAW).label(c.name)
                    for c in cols]
        return sa.select(*cols), tuple(keys)

    projection: tuple[Any, tuple[str, ...]] = rt.statement(("list_projection", ent.name, raw, decimal_text), build)
    return projection


def first_page_statement(stmt: Any, table: sa.Table, col: Any, desc: bool, n: int) -> Any:
    """The one statement of a first page when one query reads it (sorted by id, or by a
    NOT NULL column such as created_at); None when the NULL block may need a second."""
    id_order = table.c.id.desc() if desc else table.c.id.asc()
    if col is table.c.id:
        return stmt.order_by(id_order).limit(n)
    if col.nullable:
        return None
    return stmt.order_by(col.desc() if desc else col.asc(), id_order).limit(n)


def _first_pages(rt: AppRuntime) -> dict[Any, Any]:
    """The runtime's cache of first-page statements (see :func:`list_records`)."""
    cache: dict[Any, Any] = rt.__dict__.setdefault("_jimu_first_pages", {})
    if len(cache) > 4096:
        cache.clear()
    return cache


def list_columns(rt: AppRuntime, ent: EntitySpec) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """(record keys, columns) of the list projection of ``ent``, in the order of its rows."""
    def build() -> tuple[tuple[str, ...], tuple[Any, ...]]:
        stmt, keys = _projection(rt, ent, rt.tables(ent.name))
        return keys, tuple(stmt.selected_columns)

    cols: tuple[tuple[str, ...], tuple[Any, ...]] = rt.statement(("list_columns", ent.name), build)
    return cols


def _sorted_rows(c: Connection, stmt: Any, table: sa.Table, col: Any, desc: bool, after: list[Any] | None,
                 n: int) -> list[Any]:
    """Up to ``n`` rows of ``stmt`` in sort order (``col``, then id; NULLs last in both
    directions) after the cursor values ``after`` ([last value, last id]).

    The non-NULL rows and the NULL block are read by two plain ``ORDER BY col, id``
    queries (the second only when the first runs out), not one ``ORDER BY col IS NULL,
    col, id``: an index on ``col`` serves the plain order (a page of a million rows in
    milliseconds) but not the ``IS NULL`` term (a full sort every page)."""
    id_after = (lambda last: table.c.id < last) if desc else (lambda last: table.c.id > last)
    id_order = table.c.id.desc() if desc else table.c.id.asc()
    if col is table.c.id:
        if after is not None:
            stmt = stmt.where(id_after(after[1]))
        return list(c.execute(stmt.order_by(id_order).limit(n)).all())
    if after is None:
        single = first_page_statement(stmt, table, col, desc, n)
        if single is not None:
            return list(c.execute(single).all())
    rows: list[Any] = []
    if after is None or after[0] is not None:
        # created_at, updated_at are NOT NULL: no NULL block, and the system index
        # ``(column, id)`` serves ORDER BY column, id as it is.
        q = stmt.where(col.is_not(None)) if col.nullable else stmt
        if after is not None:
            value, last = after
            # the range term (col <= v / col >= v) lets the index seek to the cursor
            q = q.where(col <= value if desc else col >= value,
                        sa.or_(col < value if desc else col > value, id_after(last)))
        rows = list(c.execute(q.order_by(col.desc() if desc else col.asc(), id_order).limit(n)).all())
    if len(rows) < n and col.nullable:
        q = stmt.where(col.is_(None))
        if after is not None and after[0] is None:
            q = q.where(id_after(after[1]))
        rows += c.execute(q.order_by(id_order).limit(n - len(rows))).all()
    return rows


def list_records(c: Connection, rt: AppRuntime, ent: EntitySpec, *, where: Any, filter: str | None,
                 sort: str | None, limit: int, cursor: str | None, actor: Actor, encode: Encode | None = None,
                 env: Any = None) -> ListResult:
    """A page of ``ent``'s records inside ``where``, by ``filter``, ``sort`` and ``cursor``.

    A first page without a filter (the common request) that one query reads reuses its
    whole statement, kept on the runtime per entity, sort, limit and ``where`` clause
    object (the access policy keeps one clause per caller profile), compiled once and run
    on the driver's cursor (:class:`~jimu.platform.driver_select.DriverSelect`). ``encode(rows, env)`` turns the rows straight
    into the page's JSON objects (:mod:`jimu.runtime.access.encoder`) instead of records;
    its rows hold decimal and timestamp columns raw (see :func:`_projection`), which the
    encoder converts (``read_raw``) without SQLAlchemy's per-value processing."""
    table = rt.tables(ent.name)
    if not isinstance(limit, int) or limit < 1:
        raise ValidationError("limit must be a positive integer", errors=[FieldError("limit", "limit.invalid", "1..500")])
    limit = min(limit, MAX_LIMIT)
    col, key, desc = _sort_column(table, ent, sort or ent.default_sort or "-id")
    raw = encode is not None
    stmt, keys = _projection(rt, ent, table, raw, raw and c.dialect.name == "postgresql")
    # The cursor's value as a record holds it (a raw decimal or timestamp converted).
    read = read_raw(col.type, c.dialect) if raw else None
    page_key = None if filter or cursor else (ent.name, key, desc, limit, raw)
    if page_key is not None:
        hit = _first_pages(rt).get(page_key)
        if hit is not None and hit[0] is where:
            return _page(hit[1].rows(c), keys, key, limit, encode, env, read)
    if where is not None:
        stmt = stmt.where(where)
    if filter:
        stmt = stmt.where(filter_clause(rt, ent, filter, actor))
    if page_key is not None:
        single = first_page_statement(stmt, table, col, desc, limit + 1)
        if single is not None:
            first = DriverSelect(single)
            _first_pages(rt)[page_key] = (where, first)  # ``where`` kept alive: its identity is the key
            return _page(first.rows(c), keys, key, limit, encode, env, read)
    after: list[Any] | None = None
    if cursor:
        value, last_id = decode_cursor(cursor, sort_kind(ent, key), nullable=bool(col.nullable))
        # a bound literal of the column's type: SQLAlchemy refuses ``col < True``
        after = [None if value is None else sa.literal(value, type_=col.type), last_id]
    rows = _sorted_rows(c, stmt, table, col, desc, after, limit + 1)
    return _page(rows, keys, key, limit, encode, env, read)


def _page(rows: Sequence[Any], keys: tuple[str, ...], key: str, limit: int, encode: Encode | None,
          env: Any, read: Callable[[Any], Any] | None = None) -> ListResult:
    if encode is None:
        data = [dict(zip(keys, r, strict=True)) for r in rows[:limit]]
    else:
        data = encode(rows[:limit], env)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        value = last[keys.index(key)]
        next_cursor = encode_cursor(value if read is None else read(value), last[0])  # keys start with id
    return ListResult(data, next_cursor)

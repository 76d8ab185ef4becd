"""PostgreSQL: one statement straight through libpq, without psycopg's cursor.

A lean statement (the record's ``INSERT ... RETURNING``, an audit or event row:
:mod:`jimu.platform.lean_insert`) run through a psycopg cursor pays for the cursor, its
query conversion and parameter dumping per call, its result set-up and description:
~25-35 µs of the client's CPU per statement here, on top of the round trip. :func:`execute`
sends the statement with libpq's ``PQsendQueryParams`` (the SQL converted to ``$n`` once
per connection and text, parameters dumped as text by psycopg's own adapters) and loads
the first row with psycopg's own loaders, which is what the cursor would have answered.

It applies only where nothing would differ from psycopg's own way: a psycopg connection
whose transaction is open on the server (psycopg would otherwise send its ``BEGIN``
first) or an idle one in autocommit (the read pool's), not in pipeline mode, parameters
named (pyformat). A list page's SELECT goes so too (:mod:`jimu.platform.driver_select`). The statement
goes unnamed: psycopg deallocates every statement prepared on a connection after a
``ROLLBACK`` or a DDL statement, a name of Jimu's among them. Otherwise :func:`execute`
answers :data:`NOT_DIRECT` and the caller uses the cursor."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NOT_DIRECT", "execute", "open_on_server", "statement_text", "transformer"]

NOT_DIRECT: Any = object()  # execute() did not apply: run the statement the usual way
_TEXTS = "jimu_direct_texts"  # connection info: sql -> ($n text, parameter order)
_TX = "jimu_direct_tx"  # connection info: psycopg's Transformer of the connection
_PARAM = re.compile(r"%\((\w+)\)s|%%")


def open_on_server(raw: Any) -> bool:
    """Whether psycopg connection ``raw`` has a transaction open on the server and is in
    neither autocommit nor psycopg's pipeline mode."""
    from psycopg import pq

    # psycopg's own pipeline is a private attribute, looked up: without it, nothing applies.
    return bool(raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS
                and getattr(raw, "_pipeline", True) is None and not raw.autocommit)


def _applies(raw: Any) -> bool:
    """Whether a statement may go straight to libpq on ``raw``: inside a transaction open
    on the server (see :func:`open_on_server`), or on an idle connection in autocommit
    (a read of the read pool), where psycopg too would send the statement alone."""
    if open_on_server(raw):
        return True
    from psycopg import pq

    return bool(raw.autocommit and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
                and getattr(raw, "_pipeline", True) is None)


def _dollar(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """``sql`` with pyformat parameters as PostgreSQL's ``$n``, and the names in their order."""
    order: dict[str, int] = {}

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return "%"
        if name not in order:
            order[name] = len(order) + 1
        return f"${order[name]}"

    return _PARAM.sub(sub, sql).encode(), tuple(order)


def statement_text(info: dict[str, Any], sql: str) -> tuple[bytes, tuple[str, ...]]:
    """(``sql`` as libpq's text with ``$n`` parameters, the parameter names in order),
    kept in the connection's ``info`` (at most 64 statements)."""
    texts: dict[str, tuple[bytes, tuple[str, ...]]] = info.setdefault(_TEXTS, {})
    known = texts.get(sql)
    if known is None:
        if len(texts) >= 64:
            texts.clear()
        known = texts[sql] = _dollar(sql)
    return known


def transformer(info: dict[str, Any], raw: Any) -> Any:
    """psycopg's ``Transformer`` of connection ``raw`` (its adapters and encoding), made
    once per connection: it dumps parameters and loads rows as a cursor of it would."""
    tx = info.get(_TX)
    if tx is None:
        from psycopg.adapt import Transformer

        tx = info[_TX] = Transformer(raw)
    return tx


def dump(info: dict[str, Any], raw: Any, values: list[Any]) -> Sequence[Any]:
    """``values`` as libpq's text parameters (None for NULL)."""
    if not values:
        return []
    from psycopg.adapt import PyFormat

    return transformer(info, raw).dump_sequence(values, [PyFormat.TEXT] * len(values))  # type: ignore[no-any-return]


def execute(fairy: Any, sql: str, args: Any, fetch: bool | str) -> Any:
    """Run ``sql`` with ``args`` (a mapping of pyformat parameters) on the pooled psycopg
    connection ``fairy``; with ``fetch``, (a description of (None, type oid) per column,
    the first row or None), with ``fetch="all"`` (that description, every row). None
    without ``fetch``; :data:`NOT_DIRECT` when this does not apply (see the module doc). A
    failing statement raises the driver's error, as its cursor would."""
    raw = fairy.dbapi_connection
    if not isinstance(args, Mapping) or raw is None or not hasattr(raw, "pgconn") or not _applies(raw):
        return NOT_DIRECT
    from psycopg import errors, generators, pq

    info = fairy.info
    text, names = statement_text(info, sql)
    params = dump(info, raw, [args[n] for n in names])
    pgconn = raw.pgconn
    with raw.lock:
        pgconn.send_query_params(text, params)
        results = raw.wait(generators.execute(pgconn))
    result = results[-1]
    if result.status == pq.ExecStatus.FATAL_ERROR:
        raise errors.error_from_result(result, encoding=getattr(pgconn, "_encoding", "utf-8"))
    if not fetch:
        return None
    desc = [(None, result.ftype(i)) for i in range(result.nfields)]
    count = result.ntuples
    tx = transformer(info, raw)
    if fetch == "all":
        if not count:
            return desc, []
        tx.set_pgresult(result)
        return desc, tx.load_rows(0, count, tuple)
    if not count:
        return desc, None
    tx.set_pgresult(result)
    return desc, tx.load_row(0, tuple)

"""PostgreSQL: statements straight through libpq, without psycopg's cursor, and a
request's first check sent with its first statement.

A lean statement (the record's ``INSERT ... RETURNING``, an audit or event row:
:mod:`jimu.platform.lean_insert`; a list page's SELECT: :mod:`jimu.platform.driver_select`)
run through a psycopg cursor pays for the cursor, its query conversion and parameter
dumping per call, its result set-up and description: ~25-35 µs of the client's CPU per
statement here, on top of the round trip. :func:`execute` sends the statement with
libpq's ``PQsendQueryParams`` (the SQL converted to ``$n`` once per connection and text,
parameters dumped as text by psycopg's own adapters) and loads the rows with psycopg's
own loaders: what the cursor would have answered. It applies only where nothing would
differ from psycopg's own way: a psycopg connection whose transaction is open on the
server (psycopg would otherwise send its ``BEGIN`` first) or an idle one in autocommit
(the read pool's), not in pipeline mode, parameters named (pyformat); otherwise it
answers :data:`NOT_DIRECT` and the caller uses the cursor. Statements go unnamed:
psycopg deallocates every statement prepared on a connection after a ``ROLLBACK`` or a
DDL statement, a name of Jimu's among them.

:func:`defer_check` keeps a transaction's first read (a request's credential check) to
go, through libpq's pipeline mode, in one round trip with the next statement
(:func:`execute`) or, when something else reaches the connection first, alone
(:func:`settle`); its ``verify`` sees the check's row before anything after it is
answered. A verdict that refuses sticks to the connection until its transaction ends:
every later statement and the commit raise it again (``jimu.platform.pgtail``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from jimu.platform import cooperative

__all__ = ["NOT_DIRECT", "PENDING", "REFUSED", "defer_check", "drop", "execute", "failure", "in_psycopg_pipeline",
           "info_of", "open_on_server", "pipeline", "settle", "statement_text", "statements_listened", "transformer"]

NOT_DIRECT: Any = object()  # execute() did not apply: run the statement the usual way
_TEXTS = "jimu_direct_texts"  # connection info: sql -> ($n text, parameter order)
_TX = "jimu_direct_tx"  # connection info: psycopg's Transformer of the connection
PENDING = "jimu_direct_check"  # connection info: a check waiting for the next statement (defer_check)
REFUSED = "jimu_direct_refused"  # connection info: the verdict of a check that did not hold
_PARAM = re.compile(r"%\((\w+)\)s|%%")


def statements_listened(conn: Connection) -> bool:
    """Whether statement hooks (``before_cursor_execute``, ``after_cursor_execute``: tests
    counting statements, tracing) are registered on ``conn``: they must see every
    statement, so nothing goes around SQLAlchemy's execution then."""
    dispatch = conn.dispatch
    return bool(dispatch.before_cursor_execute) or bool(dispatch.after_cursor_execute)


def in_psycopg_pipeline(raw: Any) -> bool:
    """Whether psycopg connection ``raw`` is in psycopg's own pipeline mode (a private
    attribute, looked up: a psycopg without it counts as in one, and nothing applies)."""
    return getattr(raw, "_pipeline", True) is not None


def failure(result: Any, raw: Any) -> Exception | None:
    """The driver's error for a failed libpq ``result`` of connection ``raw``, else None."""
    from psycopg import errors, pq

    if result.status != pq.ExecStatus.FATAL_ERROR:
        return None
    error: Exception = errors.error_from_result(result, encoding=getattr(raw.pgconn, "_encoding", "utf-8"))
    return error


def open_on_server(raw: Any) -> bool:
    """Whether psycopg connection ``raw`` has a transaction open on the server and is in
    neither autocommit nor psycopg's pipeline mode."""
    from psycopg import pq

    return bool(raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS
                and not in_psycopg_pipeline(raw) and not raw.autocommit)


def _applies(raw: Any) -> bool:
    """Whether a statement may go straight to libpq on ``raw``: inside a transaction open
    on the server (see :func:`open_on_server`), or on an idle connection in autocommit
    (a read of the read pool), where psycopg too would send the statement alone."""
    if open_on_server(raw):
        return True
    from psycopg import pq

    return bool(raw.autocommit and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
                and not in_psycopg_pipeline(raw))


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
    failing statement raises the driver's error, as its cursor would. A check waiting on
    the connection (:func:`defer_check`) goes first, in the same round trip, and is
    verified before anything of the statement is answered."""
    raw = fairy.dbapi_connection
    if not isinstance(args, Mapping) or raw is None or not hasattr(raw, "pgconn"):
        return NOT_DIRECT
    info = fairy.info
    if REFUSED in info:
        raise info[REFUSED]
    if PENDING not in info and not _applies(raw):
        return NOT_DIRECT
    text, names = statement_text(info, sql)
    params = dump(info, raw, [args[n] for n in names])
    if PENDING in info:
        parts, verify = _pending(info, raw)
        results = pipeline(raw, [*parts, (text, params)])
        _verified(info, raw, results[:-1], verify)
        result = results[-1]
    else:
        result = _alone(raw, text, params)
    error = failure(result, raw)
    if error is not None:
        raise error
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


def pipeline(raw: Any, parts: Sequence[tuple[bytes, Sequence[Any] | None]], *, ending: bool = False) -> list[Any]:
    """Send each (statement text, text parameters) of ``parts`` through libpq's pipeline
    mode in one message and answer each one's result (the last of its results:
    ``PIPELINE_ABORTED`` for one after a failure). An error between sending and reading
    the answers closes the connection (no statement can follow on it mid-pipeline).

    ``ending``: the last part is the ``COMMIT`` that ends the transaction. Once it is
    sent the server ends the transaction and releases its locks without the client (a
    statement failing aborts it there and then: PostgreSQL releases an aborted
    transaction's locks at the error, not at the client's ``ROLLBACK``), so the wait for
    the answers may give way on the event loop (:func:`jimu.platform.cooperative.readable`)."""
    from psycopg import generators, pq

    pgconn = raw.pgconn
    sync = pq.ExecStatus.PIPELINE_SYNC
    out: list[Any] = []
    with raw.lock:
        pgconn.enter_pipeline_mode()
        try:
            for text, params in parts:
                pgconn.send_query_params(text, params or None)
            pgconn.pipeline_sync()
            cooperative.readable(raw, ending=ending)
            raw.wait(generators.send(pgconn))
            while True:
                got = raw.wait(generators.fetch_many(pgconn))
                if not got:
                    continue
                if got[0].status == sync:
                    break
                out.append(got[-1])
        finally:
            if pgconn.pipeline_status != pq.PipelineStatus.OFF:
                try:
                    pgconn.exit_pipeline_mode()
                except Exception:  # noqa: BLE001 - left mid-pipeline (an error on the way): unusable
                    raw.close()  # the pool's reset then finds it closed and discards it
    return out


def defer_check(conn: Connection, sql: str, args: Mapping[str, Any],
                verify: Callable[[tuple[Any, ...] | None], None]) -> bool:
    """Keep the read ``sql`` (a transaction's first statement: the request's credential
    check) to go, in one round trip, with the next statement on ``conn``'s connection
    (:func:`execute`), or alone before anything else reaches it (:func:`settle`); the
    transaction's ``BEGIN`` goes with it when SQLAlchemy has begun one the server has not.
    ``verify(row)`` gets its first row before anything after it is answered and may raise
    (the caller then answers nothing it built on what it assumed). False when this does
    not apply (not psycopg, statements listened to, the server's transaction already
    open, another check waiting): the caller runs ``sql`` itself."""
    if conn.dialect.driver != "psycopg" or statements_listened(conn):
        return False
    fairy = conn.connection
    info = fairy.info
    raw = fairy.dbapi_connection
    if PENDING in info or raw is None or not hasattr(raw, "pgconn") or in_psycopg_pipeline(raw):
        return False
    from psycopg import pq

    if raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    if raw.autocommit:
        begin = b""
    elif conn.in_transaction() and hasattr(raw, "_get_tx_start_command"):
        begin = raw._get_tx_start_command()
    else:
        return False
    info[PENDING] = (sql, dict(args), verify, begin)
    return True


def settle(fairy: Any) -> None:
    """Send the check waiting on the pooled connection ``fairy``, if any, now (with its
    ``BEGIN``), and verify it. A check that did not hold raises its verdict again here,
    and before every statement, until the transaction ends (a caller that swallowed it
    cannot go on as if it held: nothing commits, nothing is answered)."""
    info = info_of(fairy)
    if info is None:
        return
    if REFUSED in info:
        raise info[REFUSED]
    if PENDING not in info:
        return
    raw = fairy.dbapi_connection
    parts, verify = _pending(info, raw)
    _verified(info, raw, pipeline(raw, parts) if len(parts) > 1 else [_alone(raw, *parts[0])], verify)


def drop(info: dict[str, Any]) -> None:
    """Forget a check waiting on a connection (its ``info``) and a verdict against one:
    its transaction ended (a check unsent read nothing)."""
    info.pop(PENDING, None)
    info.pop(REFUSED, None)


def _alone(raw: Any, text: bytes, params: Sequence[Any] | None) -> Any:
    """Send one statement and answer its (last) result."""
    from psycopg import generators

    with raw.lock:
        raw.pgconn.send_query_params(text, params or None)
        cooperative.readable(raw)
        return raw.wait(generators.execute(raw.pgconn))[-1]


def info_of(fairy: Any) -> dict[str, Any] | None:
    """The pool entry's info of a DBAPI connection as SQLAlchemy hands it; None for the
    bare connection of a dialect's first connect, which has none."""
    try:
        info: dict[str, Any] = fairy.info
    except (AttributeError, NotImplementedError):
        return None
    return info


class Unverified(Exception):
    """A check sent but not verified (its statement or the round trip failed): what it
    guarded may not go on."""


def _pending(info: dict[str, Any], raw: Any) -> tuple[list[tuple[bytes, Sequence[Any] | None]], Any]:
    """The parts of the check waiting in ``info`` (its BEGIN, the check) and its verify;
    from here until it is verified, the connection refuses to go on (:data:`REFUSED`)."""
    sql, args, verify, begin = info.pop(PENDING)
    info[REFUSED] = Unverified("the request's check was sent but not verified")
    text, names = statement_text(info, sql)
    parts: list[tuple[bytes, Sequence[Any] | None]] = [(begin, None)] if begin else []
    parts.append((text, dump(info, raw, [args[n] for n in names])))
    return parts, verify


def _verified(info: dict[str, Any], raw: Any, results: list[Any], verify: Any) -> None:
    """Raise the error of the check's part (its BEGIN, the check itself), else hand its
    first row to ``verify``. Only a ``verify`` that returns lifts :data:`REFUSED`; a
    failure, or its verdict, stays there until the transaction ends."""
    for result in results:
        error = failure(result, raw)
        if error is not None:
            info[REFUSED] = error
            raise error
    check = results[-1]
    row = None
    if check.ntuples:
        tx = transformer(info, raw)
        tx.set_pgresult(check)
        row = tx.load_row(0, tuple)
    try:
        verify(row)
    except Exception as verdict:
        info[REFUSED] = verdict
        raise
    del info[REFUSED]

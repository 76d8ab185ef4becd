"""PostgreSQL: a write transaction's last statement sent in one message with its COMMIT.

A record write ends with a statement nobody reads an answer of (the audit and event rows
and the ``NOTIFY``, :func:`jimu.platform.lean_insert.insert_together`), then ``COMMIT``:
two round trips, each a wait in ``poll`` and a wake-up on a cache gone cold, the larger
part of what a round trip costs the client (~65 µs of CPU each here in a create). Such a
statement may be *deferred* (:func:`defer`): kept on the connection and sent, through
libpq's pipeline mode, together with the ``COMMIT`` (one round trip for both) when the
transaction commits. Anything else that reaches the connection first sends it before
itself (:func:`flush`): every statement SQLAlchemy executes (the dialect's ``do_execute``
and its kin, which savepoints go through too) and each of Jimu's paths straight to the
driver call it, so the statements run in the order they were written and a later
statement sees the deferred rows. A rollback drops it, as the server would have.

It applies only where nothing else would differ: psycopg, a write connection
(``jimu_write``) whose transaction is open on the server, nobody listening to statements
(``before_cursor_execute``: tests counting statements, tracing), nothing else deferred on
it. The deferred statement goes unnamed, its parameters as text, as
:mod:`jimu.platform.pgdirect` sends a statement. A failure of the statement or of
the ``COMMIT`` raises the driver's error from the commit (SQLAlchemy wraps it as it wraps
any commit's), the transaction then rolled back by the connection's reset. An error
between sending the pipeline and reading its answers closes the connection (no statement
can follow on it); whether the server committed is then unknown, as for any ``COMMIT``
whose answer is lost."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from jimu.platform.pgdirect import (
    NOT_DIRECT,
    PENDING,
    REFUSED,
    drop,
    dump,
    execute,
    failure,
    info_of,
    open_on_server,
    pipeline,
    settle,
    statement_text,
    statements_listened,
)

__all__ = ["install", "defer", "direct", "flush", "DEFERRED"]

DEFERRED = "jimu_tail"  # connection info: the deferred (sql, args, runner)


def defer(conn: Connection, sql: str, args: Any, runner: Callable[[Connection], object]) -> bool:
    """Keep ``sql`` with ``args`` (pyformat, a mapping) to send with the COMMIT; False when
    this does not apply (see the module doc): the caller runs it now. ``runner(conn)``
    runs it the usual way, when something else reaches the connection first."""
    if conn.dialect.driver != "psycopg" or statements_listened(conn):
        return False
    if not isinstance(args, Mapping) or not conn.get_execution_options().get("jimu_write"):
        return False
    fairy = conn.connection
    if DEFERRED in fairy.info:
        return False
    raw = fairy.dbapi_connection
    if raw is None or not hasattr(raw, "pgconn") or not open_on_server(raw):
        return False
    fairy.info[DEFERRED] = (sql, args, runner)
    return True


def flush(conn: Connection) -> None:
    """Before anything else reaches ``conn``'s connection: the check waiting for the
    transaction's first statement (:func:`jimu.platform.pgdirect.defer_check`), then the
    statement deferred to the commit, if any."""
    fairy = conn.connection
    info = fairy.info
    if PENDING in info or REFUSED in info:
        settle(fairy)
    if DEFERRED in info:
        _sql, _args, runner = info.pop(DEFERRED)
        runner(conn)


def direct(conn: Connection, sql: str, args: Any, fetch: bool | str) -> Any:
    """:func:`jimu.platform.pgdirect.execute` of ``sql`` on ``conn`` (PostgreSQL with
    psycopg), after a statement deferred to the commit and with a check waiting, if any;
    :data:`~jimu.platform.pgdirect.NOT_DIRECT` when it does not apply, with both sent
    already so that the caller's cursor comes after them. A statement error is the
    driver's, for the caller to raise as it raises its cursor's."""
    if conn.dialect.driver != "psycopg":
        return NOT_DIRECT  # nothing is ever deferred on another driver's connection
    fairy = conn.connection
    if DEFERRED in fairy.info:
        flush(conn)
    got = execute(fairy, sql, args, fetch)
    if got is NOT_DIRECT:
        flush(conn)  # a check waiting goes alone first
    return got


def _commit_with(fairy: Any, sql: str, args: Mapping[str, Any]) -> None:
    """Send ``sql`` and ``COMMIT`` in one pipeline; raise the first error either answered."""
    info = fairy.info
    raw = fairy.dbapi_connection
    text, names = statement_text(info, sql)
    parts = [(text, dump(info, raw, [args[n] for n in names])), (b"COMMIT", None)]
    for result in pipeline(raw, parts, ending=True):
        error = failure(result, raw)
        if error is not None:
            raise error


def _forget(info: dict[str, Any]) -> None:
    """Nothing waits on a connection past its transaction: no deferred statement, no check."""
    info.pop(DEFERRED, None)
    drop(info)


def install(engine: Engine) -> None:
    """Defer-and-pipeline on ``engine`` (PostgreSQL with psycopg): the dialect's
    executions send a deferred statement first; its commit sends it with the ``COMMIT``,
    its rollback drops it."""
    dialect = engine.dialect
    if dialect.driver != "psycopg":
        return
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def flushing(execute: Callable[..., None]) -> Callable[..., None]:
        def run(cursor: Any, statement: Any, *rest: Any) -> None:
            context = rest[-1] if rest else None
            conn = getattr(context, "root_connection", None)
            if conn is not None:
                info = info_of(conn.connection) or ()
                if DEFERRED in info or PENDING in info or REFUSED in info:
                    flush(conn)
            execute(cursor, statement, *rest)
        return run

    for name in ("do_execute", "do_executemany", "do_execute_no_params"):
        setattr(dialect, name, flushing(getattr(dialect, name)))

    def commit(dbapi_connection: Any) -> None:
        settle(dbapi_connection)  # a check nothing sent yet: before the commit, alone
        info = info_of(dbapi_connection)
        tail = None if info is None else info.pop(DEFERRED, None)
        if tail is None:
            do_commit(dbapi_connection)
        else:
            _commit_with(dbapi_connection, tail[0], tail[1])

    def rollback(dbapi_connection: Any) -> None:
        info = info_of(dbapi_connection)
        if info is not None:
            _forget(info)
        do_rollback(dbapi_connection)

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        # Nothing waiting on a connection outlives its checkout (the read pool's
        # autocommit connections end without a rollback when they ran no statement).
        if record is not None:
            _forget(record.info)

    dialect.do_commit = commit  # type: ignore[method-assign]
    dialect.do_rollback = rollback  # type: ignore[method-assign]

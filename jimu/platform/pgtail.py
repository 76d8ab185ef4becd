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

from sqlalchemy.engine import Connection, Engine

from jimu.platform.pgdirect import dump, open_on_server, statement_text

__all__ = ["install", "defer", "flush", "DEFERRED"]

DEFERRED = "jimu_tail"  # connection info: the deferred (sql, args, runner)


def _info(fairy: Any) -> dict[str, Any] | None:
    """The pool entry's info of a DBAPI connection as SQLAlchemy hands it; None for the
    bare connection of a dialect's first connect, which has none."""
    try:
        info: dict[str, Any] = fairy.info
    except (AttributeError, NotImplementedError):
        return None
    return info


def defer(conn: Connection, sql: str, args: Any, runner: Callable[[Connection], object]) -> bool:
    """Keep ``sql`` with ``args`` (pyformat, a mapping) to send with the COMMIT; False when
    this does not apply (see the module doc): the caller runs it now. ``runner(conn)``
    runs it the usual way, when something else reaches the connection first."""
    if not conn.dialect.name == "postgresql" or conn.dialect.driver != "psycopg":
        return False
    if not isinstance(args, Mapping) or not conn.get_execution_options().get("jimu_write"):
        return False
    dispatch = conn.dispatch
    if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
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
    """Run the statement deferred on ``conn``, if any, before anything else does."""
    info = conn.connection.info
    if DEFERRED in info:
        _sql, _args, runner = info.pop(DEFERRED)
        runner(conn)


def _commit_with(fairy: Any, sql: str, args: Mapping[str, Any]) -> None:
    """Send ``sql`` and ``COMMIT`` in one pipeline; raise the first error either answered."""
    from psycopg import errors, generators, pq

    info = fairy.info
    raw = fairy.dbapi_connection
    pgconn = raw.pgconn
    text, names = statement_text(info, sql)
    params = dump(info, raw, [args[n] for n in names])
    results: list[Any] = []
    sync = pq.ExecStatus.PIPELINE_SYNC
    with raw.lock:
        pgconn.enter_pipeline_mode()
        try:
            pgconn.send_query_params(text, params)
            pgconn.send_query_params(b"COMMIT", None)
            pgconn.pipeline_sync()
            raw.wait(generators.send(pgconn))
            while True:
                got = raw.wait(generators.fetch_many(pgconn))
                if got and got[0].status == sync:
                    break
                results.extend(got)
        finally:
            if pgconn.pipeline_status != pq.PipelineStatus.OFF:
                try:
                    pgconn.exit_pipeline_mode()
                except Exception:  # noqa: BLE001 - left mid-pipeline (an error on the way): unusable
                    raw.close()  # the pool's reset then finds it closed and discards it
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise errors.error_from_result(result, encoding=getattr(pgconn, "_encoding", "utf-8"))


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
            if conn is not None and DEFERRED in (_info(conn.connection) or ()):
                flush(conn)
            execute(cursor, statement, *rest)
        return run

    for name in ("do_execute", "do_executemany", "do_execute_no_params"):
        setattr(dialect, name, flushing(getattr(dialect, name)))

    def commit(dbapi_connection: Any) -> None:
        info = _info(dbapi_connection)
        tail = None if info is None else info.pop(DEFERRED, None)
        if tail is None:
            do_commit(dbapi_connection)
        else:
            _commit_with(dbapi_connection, tail[0], tail[1])

    def rollback(dbapi_connection: Any) -> None:
        info = _info(dbapi_connection)
        if info is not None:
            info.pop(DEFERRED, None)
        do_rollback(dbapi_connection)

    dialect.do_commit = commit  # type: ignore[method-assign]
    dialect.do_rollback = rollback  # type: ignore[method-assign]

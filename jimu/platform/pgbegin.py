"""PostgreSQL: a transaction's ``BEGIN`` sent in one message with its first query.

psycopg opens a transaction by sending ``BEGIN`` and waiting for its answer before the
first statement: two round trips where one would do. Each costs the client more than
the bytes: a wait in ``poll`` and a wake-up on a cache gone cold, a good part of a
request's CPU on a busy machine. :func:`begin_with` sends ``BEGIN; <query>`` as one
simple-protocol message (PostgreSQL runs it as two statements, the transaction staying
open after it) and answers the query's rows; psycopg then sees the transaction open and
sends no ``BEGIN`` of its own. The query carries no parameters (literals only, see
:func:`literal`): the simple protocol has none.

It applies only when nothing else would differ from psycopg's own way: the driver is
psycopg, not in autocommit or pipeline mode, SQLAlchemy has begun its transaction and
the server has not (the connection is idle). Otherwise it answers None and the caller
runs its query as usual."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from jimu.platform.pgdirect import failure, in_psycopg_pipeline

__all__ = ["begin_with", "literal"]


def _psycopg(conn: Connection) -> Any:
    """The psycopg connection of ``conn`` when :func:`begin_with` applies, else None."""
    if conn.dialect.driver != "psycopg" or not conn.in_transaction():
        return None
    raw = conn.connection.dbapi_connection
    from psycopg import pq

    # The private parts used below, looked up so that a psycopg without them falls back to
    # its own BEGIN instead of failing every request.
    if raw is None or raw.autocommit or in_psycopg_pipeline(raw) or not hasattr(raw, "_get_tx_start_command"):
        return None
    if raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return None
    return raw


def literal(conn: Connection, value: str) -> str:
    """``value`` as a quoted SQL string literal for ``conn``'s connection (libpq's own
    escaping, for its encoding and settings)."""
    from psycopg import pq

    raw = conn.connection.dbapi_connection
    assert raw is not None
    return bytes(pq.Escaping(raw.pgconn).escape_literal(value.encode())).decode()


def begin_with(conn: Connection, query: str) -> list[tuple[str | None, ...]] | None:
    """Open ``conn``'s transaction on the server with ``query`` (no parameters) in the
    same message; its rows as text (None for NULL). None when this does not apply (see
    the module doc): the caller runs ``query`` itself. A failing ``query`` raises the
    driver's error with the transaction failed, as a failing first statement would."""
    raw = _psycopg(conn)
    if raw is None:
        return None
    from psycopg import generators, pq

    pgconn = raw.pgconn
    with raw.lock:
        pgconn.send_query(raw._get_tx_start_command() + b"; " + query.encode())
        results = raw.wait(generators.execute(pgconn))
    rows: list[tuple[str | None, ...]] = []
    for result in results:
        error = failure(result, raw)
        if error is not None:
            raise error
        if result.status == pq.ExecStatus.TUPLES_OK:
            rows = [tuple(None if (v := result.get_value(r, c)) is None else bytes(v).decode()
                          for c in range(result.nfields)) for r in range(result.ntuples)]
    return rows

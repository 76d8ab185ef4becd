"""PostgreSQL reads on a pool of their own: autocommit connections that refuse writes.

A read through the main pool paid two round trips besides its statements: psycopg opens
a transaction implicitly (``BEGIN``) and ``Database.read`` ended it with ``COMMIT``. At
PostgreSQL's default READ COMMITTED every statement takes its own snapshot anyway, so the
transaction bought a read nothing but a lock held a little longer. The connections of
this pool run in autocommit (a statement is its own transaction: no ``BEGIN``, no
``COMMIT``, and prepared statements are never forgotten by a ROLLBACK) and are opened with
``default_transaction_read_only`` on, so a write attempted inside a read fails loudly
("cannot execute INSERT in a read-only transaction") instead of being committed silently.

Switching the main pool's connections to autocommit per checkout was measured slower than
the transaction it saves (psycopg's ``autocommit`` and ``isolation_level`` setters, and
SQLAlchemy resetting them on checkin); hence connections that stay in one mode for life.

The read engine shares the main engine's dialect, compiled-statement cache and engine
events (a listener on ``Database.engine`` sees the statements of reads too), and its pool
is the main pool recreated: same size, same connection function, same pool events (the
checkout check of :func:`jimu.platform.db._configure_postgresql`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.base import OptionEngine

__all__ = ["read_engine", "READ_ONLY"]

READ_ONLY = "SET default_transaction_read_only = on"


class _ReadEngine(OptionEngine):
    """An option engine of the main one (dialect, compiled cache and events shared) with
    a pool of its own instead of the main engine's."""

    pool = None  # type: ignore[assignment]  # an attribute of its own, not the main pool

    def __init__(self, main: Engine) -> None:
        super().__init__(main, {})
        self.pool = main.pool.recreate()


def read_engine(main: Engine) -> Engine:
    """A read engine for ``main`` (PostgreSQL): autocommit, read-only connections."""
    engine = _ReadEngine(main)

    @event.listens_for(engine.pool, "connect")
    def _autocommit_read_only(dbapi_conn: Any, _record: Any) -> None:
        # After SQLAlchemy's own connect handlers (the dialect's first-connect probe may
        # have left a transaction open: ended here, before autocommit may be switched on).
        if dbapi_conn.info.transaction_status != 0:  # not IDLE
            dbapi_conn.rollback()
        dbapi_conn.autocommit = True
        dbapi_conn.execute(READ_ONLY)

    return engine

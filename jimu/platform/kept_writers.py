"""The write connections a thread keeps checked out between its transactions
(:meth:`jimu.platform.db.Database.write`): what a check-in and a check-out would do is
done on them (the pool's listeners), without a ``Connection`` made anew each time."""

from __future__ import annotations

import contextlib
import threading

from sqlalchemy.engine import Connection, Engine

from jimu.platform import cooperative

__all__ = ["KEPT_PER_THREAD", "MAX_KEPT_WRITERS", "KeptWriter", "ThreadKept", "close_kept"]

#: How many threads at most keep a write connection between transactions
#: (:class:`KeptWriter`): the event loop's and the background loops' fit; a burst of
#: worker threads uses the pool as before.
MAX_KEPT_WRITERS = 6
#: How many write connections one thread keeps at most: a write nested in another, and the
#: creates of the event loop's thread whose commits wait on the loop side by side
#: (:mod:`jimu.platform.cooperative`: each holds its connection until its COMMIT answers).
KEPT_PER_THREAD = cooperative.LIMIT + 1


class KeptWriter:
    """A thread's write connection, kept checked out between its transactions.

    Checking a connection out of the pool and back in, with its SQLAlchemy ``Connection``
    and execution options made anew, cost a SQLite write as much as its ``BEGIN
    IMMEDIATE`` (an empty write 95 -> 35 µs here) and a PostgreSQL one ~58 µs of
    CPU. The pool's events still run: its ``checkin`` listeners after each transaction
    that committed or rolled back cleanly (:meth:`done`: the wake-ups of background work,
    the restored checkpoint threshold, the time a PostgreSQL connection went idle), its
    ``checkout`` listeners before the next (:meth:`reuse`: PostgreSQL's check that the
    server has not closed the connection). After a transaction that failed the
    connection goes back to the pool, whose reset rolls back what the driver may still
    hold open, and the thread's next write keeps a fresh one."""

    __slots__ = ("thread", "conn", "busy")

    def __init__(self, thread: threading.Thread, conn: Connection) -> None:
        self.thread = thread
        self.conn = conn
        self.busy = False

    def done(self, ok: bool) -> None:
        """The transaction has ended (``ok``: committed, or rolled back without an error):
        what a check-in would do, then free for the next; else back to the pool."""
        self.busy = False
        conn = self.conn
        if not ok or conn.invalidated or conn.closed or conn.in_transaction():
            self.close()
            return
        pool = conn.engine.pool
        if pool.dispatch.checkin:
            fairy = conn.connection
            pool.dispatch.checkin(fairy.dbapi_connection, fairy._connection_record)

    def reuse(self) -> bool:
        """Whether the next transaction may begin on it, after the pool's ``checkout``
        listeners have passed it (False: closed, invalidated by a driver error, a
        transaction left open by a statement run on it after its ``write()`` ended, or
        found dead on the server; it is then closed)."""
        conn = self.conn
        if conn.closed or conn.invalidated or conn.in_transaction():
            self.close()
            return False
        pool = conn.engine.pool
        if pool.dispatch.checkout:
            fairy = conn.connection
            try:
                pool.dispatch.checkout(fairy.dbapi_connection, fairy._connection_record, fairy)
            except Exception:  # noqa: BLE001 - dead (InvalidatePoolError) or failing: a new one
                with contextlib.suppress(Exception):
                    conn.invalidate()
                self.close()
                return False
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


class ThreadKept:
    """The write connections one thread keeps (:class:`KeptWriter`), at most
    ``KEPT_PER_THREAD``."""

    __slots__ = ("thread", "kept")

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread
        self.kept: list[KeptWriter] = []

    def take(self, engine: Engine) -> KeptWriter | None:
        """A kept connection not in use, ready for a transaction (made when there are
        fewer than ``KEPT_PER_THREAD``); None when all are in use. One found closed or
        dead is dropped."""
        for kept in list(self.kept):
            if kept.busy:
                continue
            if kept.reuse():
                kept.busy = True
                return kept
            self.kept.remove(kept)
        if len(self.kept) >= KEPT_PER_THREAD:
            return None
        kept = KeptWriter(self.thread, engine.connect().execution_options(jimu_write=True))
        kept.busy = True
        self.kept.append(kept)
        return kept

    def close(self) -> None:
        for kept in self.kept:
            kept.close()
        self.kept.clear()


def close_kept(writers: dict[int, ThreadKept], lock: threading.Lock) -> None:
    """Close the kept write connections (back to the pool): on ``dispose`` and when the
    :class:`Database` is collected."""
    with lock:
        for kept in writers.values():
            kept.close()
        writers.clear()

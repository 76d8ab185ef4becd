"""Wake-ups of background work, so an idle server sleeps instead of polling.

A writer marks its transaction with a *topic* (:func:`notify`): ``events`` when it wrote
outbox rows, ``due`` when it queued or moved something that falls due at a time (a
scheduled job, a reservation that expires). Background loops :func:`subscribe` a
callback (usually ``threading.Event.set``) to the topics they serve, and are woken:

- in this process, after the marked transaction commits (the pool's check-in of its
  connection, which follows the commit; a rollback clears the mark);
- from other processes: on PostgreSQL by ``NOTIFY jimu_<topic>`` (per schema, see
  :func:`channel`), queued by
  :func:`notify` in the writer's transaction (PostgreSQL delivers it only on commit) and
  received by one ``LISTEN`` connection per process and database (which takes a stream
  of them in batches, one wake-up per ``COALESCE`` seconds at most); on a SQLite file by a
  change of its write-ahead log (one ``stat`` a second, no connection);
- by their own slow fallback poll, which covers what neither sees (a lease running out
  after a crash, a dropped LISTEN connection).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import select
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

__all__ = ["TOPICS", "channel", "notify", "notify_channel", "subscribe", "watching", "wait_watching", "FILE_POLL", "MAX_BACKOFF", "COALESCE"]

log = logging.getLogger("jimu.wakeup")

TOPICS = ("events", "due")
FILE_POLL = 1.0  # seconds between two looks at a SQLite file for other processes' writes
MAX_BACKOFF = 30.0
COALESCE = 0.02  # seconds a PostgreSQL watcher lets NOTIFYs gather after a wake-up
_PENDING = "jimu_wake_pending"  # conn.info: topics marked in the open transaction
_NOTIFIED = "jimu_wake_notified"  # conn.info: topics already NOTIFYed in it (PostgreSQL)
_COMMITTED = "jimu_wake_committed"  # pool record info: (engine id, topics) to wake at check-in

Callback = Callable[[], None]
_callbacks: dict[tuple[int, str], list[Callback]] = {}
_watchers: dict[int, _Watcher] = {}
_lock = threading.Lock()


def channel(topic: str, schema: str | None = None) -> str:
    """The PostgreSQL NOTIFY channel of ``topic`` for a database schema. Channels are
    shared by the whole database, so each schema other than ``public`` (another Jimu in
    the same database, a test) gets its own: its commits never wake the others."""
    if schema in (None, "public"):
        return f"jimu_{topic}"
    return f"jimu_{topic}_{hashlib.sha1(str(schema).encode()).hexdigest()[:12]}"


_schemas: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _channel_of(conn: Connection, topic: str) -> str:
    schema = _schemas.get(conn.engine)
    if schema is None:
        schema = _schemas[conn.engine] = str(conn.execute(sa.text("SELECT current_schema()")).scalar())
    return channel(topic, schema)


def notify(conn: Connection, topic: str) -> None:
    """Wake the subscribers of ``topic`` once ``conn``'s transaction commits (here and, on
    PostgreSQL, in every process listening). Cheap to call repeatedly: one NOTIFY per
    topic and transaction."""
    ch = notify_channel(conn, topic)
    if ch is not None:
        conn.execute(sa.text("SELECT pg_notify(:ch, '')"), {"ch": ch})


def notify_channel(conn: Connection, topic: str) -> str | None:
    """:func:`notify`, with the NOTIFY left to the caller: the channel it must notify in
    this transaction (``pg_notify(channel, '')`` in a statement it runs anyway, e.g.
    :func:`jimu.platform.lean_insert.insert_together`), or None when none is needed (not
    PostgreSQL, or this transaction already queued one for ``topic``). The caller must
    run that statement on ``conn`` before the transaction commits."""
    info = conn.info
    pending = info.get(_PENDING)
    if pending is None:
        pending = info[_PENDING] = set()
    pending.add(topic)
    if conn.dialect.name != "postgresql":
        return None
    notified = info.get(_NOTIFIED)
    if notified is None:
        notified = info[_NOTIFIED] = set()
    if topic in notified:
        return None
    notified.add(topic)
    return _channel_of(conn, topic)


def _fire(engine_id: int, topics: Iterable[str]) -> None:
    for topic in topics:
        for fn in list(_callbacks.get((engine_id, topic), ())):
            try:
                fn()
            except Exception:  # noqa: BLE001 - a broken callback must not break the writer
                log.exception("wake-up callback failed")


# Registered once on the classes at import: adding listeners to a live engine while other
# threads run its events races with SQLAlchemy's listener iteration.
def _on_commit(conn: Connection) -> None:
    info = conn.info
    info.pop(_NOTIFIED, None)
    topics = info.pop(_PENDING, None)
    if topics:
        key = id(conn.engine)
        previous = info.get(_COMMITTED)
        info[_COMMITTED] = (key, topics | previous[1]) if previous and previous[0] == key else (key, topics)


def _on_rollback(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)
    conn.info.pop(_NOTIFIED, None)


def _on_rollback_savepoint(conn: Connection, name: Any, context: Any) -> None:
    # A NOTIFY queued inside the savepoint is gone with it: queue it again next time.
    # (The in-process mark stays: at worst a spurious wake-up.)
    conn.info.pop(_NOTIFIED, None)


def _on_checkin(_dbapi: Any, record: Any) -> None:
    committed = record.info.pop(_COMMITTED, None) if record is not None else None
    if committed is not None:
        _fire(*committed)


sa_event.listen(Engine, "commit", _on_commit)
sa_event.listen(Engine, "rollback", _on_rollback)
sa_event.listen(Engine, "rollback_savepoint", _on_rollback_savepoint)
sa_event.listen(Pool, "checkin", _on_checkin)


def subscribe(engine: Engine, topics: Iterable[str], fn: Callback) -> Callable[[], None]:
    """Call ``fn()`` (quick, thread-safe) whenever one of ``topics`` may have new work on
    ``engine``'s database; returns ``unsubscribe()`` (idempotent). The cross-process
    watcher of the database runs while it has subscribers."""
    keys = [(id(engine), t) for t in topics]
    with _lock:
        for key in keys:
            _callbacks.setdefault(key, []).append(fn)
        watcher = _watchers.get(id(engine))
        if watcher is None or watcher.stopped:
            watcher = _Watcher.for_engine(engine)
            if watcher is not None:
                _watchers[id(engine)] = watcher
                watcher.start()
        if watcher is not None:
            watcher.users += 1
    done = [False]

    def unsubscribe() -> None:
        with _lock:
            if done[0]:
                return
            done[0] = True
            for key in keys:
                fns = _callbacks.get(key, [])
                with contextlib.suppress(ValueError):
                    fns.remove(fn)
                if not fns:
                    _callbacks.pop(key, None)
            w = _watchers.get(id(engine))
            if w is not None and w is watcher:
                w.users -= 1
                if w.users <= 0:
                    del _watchers[id(engine)]
                    w.stop()

    return unsubscribe


def watching(engine: Engine) -> bool:
    """Whether a cross-process watcher runs for ``engine`` (tests)."""
    w = _watchers.get(id(engine))
    return w is not None and w.alive


def wait_watching(engine: Engine, timeout: float) -> bool:
    """Whether ``engine``'s watcher runs and, within ``timeout`` seconds, is listening
    (its LISTEN issued, its first look at the SQLite file taken): another process's commit
    after that wakes this one. Before it, a commit is caught only by the fallback polls."""
    w = _watchers.get(id(engine))
    return w is not None and w.alive and w.ready.wait(timeout)


class _Watcher:
    """One thread per process and database that turns other processes' commits into
    wake-ups of this process's subscribers."""

    def __init__(self, engine: Engine) -> None:
        self.engine_id = id(engine)
        self.url = engine.url
        self.users = 0
        self.stopped = False
        self._stop = threading.Event()
        self.ready = threading.Event()  # set once other processes' commits are seen
        self._pipe = os.pipe() if engine.dialect.name == "postgresql" else None
        self._thread = threading.Thread(target=self._run, name="jimu-wakeup", daemon=True)

    @classmethod
    def for_engine(cls, engine: Engine) -> _Watcher | None:
        """A watcher for a PostgreSQL or SQLite-file database; None for an in-memory one
        (no other process can write it)."""
        if engine.dialect.name == "sqlite":
            path = engine.url.database
            if not path or path == ":memory:" or path.startswith("file:"):
                return None
        return cls(engine)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped = True
        self._stop.set()
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.write(self._pipe[1], b"x")
        if self._thread is not threading.current_thread() and self._thread.ident is not None:
            self._thread.join(timeout)
        if self._pipe is not None and not self._thread.is_alive():
            for fd in self._pipe:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._pipe = None

    def _run(self) -> None:
        try:
            if self.url.get_backend_name() == "postgresql":
                self._listen()
            else:
                self._watch_file()
        except Exception:  # noqa: BLE001 - the fallback polls still run
            log.exception("wake-up watcher ended")

    # SQLite ------------------------------------------------------------------------------
    @staticmethod
    def _signature(path: str) -> tuple[Any, ...]:
        """The write-ahead log's identity, size and time: every commit in WAL mode (Jimu's
        mode) appends to it, while a checkpoint only reads it (and writes the main file,
        which is not watched, so checkpoints wake nobody)."""
        try:
            st = os.stat(path + "-wal")
        except OSError:
            return (None, None, None)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _watch_file(self) -> None:
        path = str(self.url.database)
        seen = self._signature(path)
        self.ready.set()
        while not self._stop.wait(FILE_POLL):
            now = self._signature(path)
            if now != seen:
                seen = now
                _fire(self.engine_id, TOPICS)

    # PostgreSQL ----------------------------------------------------------------------------
    def _listen(self) -> None:
        import psycopg

        url = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        failures = 0
        assert self._pipe is not None
        wake_fd = self._pipe[0]
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                    row = conn.execute("SELECT current_schema()").fetchone()
                    names = {channel(t, row[0] if row else None): t for t in TOPICS}
                    for ch in names:
                        conn.execute(f"LISTEN {ch}")
                    self.ready.set()
                    if failures:
                        log.info("LISTEN connection back after %s failed attempts", failures)
                        _fire(self.engine_id, TOPICS)  # what was missed meanwhile
                    failures = 0
                    pg = conn.pgconn
                    while not self._stop.is_set():
                        ready, _, _ = select.select([pg.socket, wake_fd], [], [])
                        if wake_fd in ready:
                            break
                        pg.consume_input()
                        topics: set[str] = set()
                        while (n := pg.notifies()) is not None:
                            topic = names.get(n.relname.decode())
                            if topic:
                                topics.add(topic)
                        if pg.status != psycopg.pq.ConnStatus.OK:
                            raise psycopg.OperationalError("LISTEN connection closed")
                        _fire(self.engine_id, topics)
                        # A stream of commits (every worker's, this one's included) is
                        # taken in batches: what arrives meanwhile waits in the socket and
                        # the next look drains it, one wake-up for many instead of one each.
                        if self._stop.wait(COALESCE):
                            break
            except Exception:  # noqa: BLE001 - reconnect with backoff; the fallback polls cover the gap
                failures += 1
                if self._stop.is_set():
                    break
                if failures == 1:
                    log.warning("LISTEN connection lost; reconnecting with backoff", exc_info=True)
                else:
                    log.debug("LISTEN reconnect failed (%s times in a row)", failures, exc_info=True)
                self._stop.wait(min(MAX_BACKOFF, 0.5 * 2 ** failures))

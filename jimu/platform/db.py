"""Database access: engines for SQLite (embedded default) and PostgreSQL, write
transactions, and the decimal column type.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and foreign keys on; write transactions
start with ``BEGIN IMMEDIATE`` so two writers queue on the database lock instead of failing
late with "database is locked" on upgrade from a read lock. Reads use plain deferred
transactions and never block writers (WAL). A thread's writes run on a connection it keeps
between them (:mod:`jimu.platform.kept_writers`).

PostgreSQL: a pool per engine (last in, first out, so the same few connections stay hot,
with their prepared statements), checked on checkout without a round trip
(:func:`_configure_postgresql`); reads on a second pool of autocommit, read-only
connections (:mod:`jimu.platform.readengine`).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import threading
import time
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from jimu.core.money import to_decimal
from jimu.platform import pgtail
from jimu.platform.checkpoint import AUTOCHECKPOINT_PAGES, Checkpointer
from jimu.platform.checkpoint import enabled as checkpoints_enabled
from jimu.platform.kept_writers import MAX_KEPT_WRITERS, KeptWriter, ThreadKept, close_kept
from jimu.platform.readengine import read_engine

__all__ = ["Database", "make_engine", "defer_checkpoint", "DecimalType", "ExactDecimal", "TZDateTime", "default_url", "system_metadata",
           "RAW", "read_raw"]

system_metadata = sa.MetaData()
BUSY_TIMEOUT_S = 60  # how long a SQLite writer waits for the lock before "database is locked"
PING_IDLE = 30.0  # seconds: a PostgreSQL connection idle in the pool this long is pinged on checkout
#: Sent to every new PostgreSQL connection (see _configure_postgresql): custom plans
#: where autovacuum is off.
CUSTOM_PLANS = ("SELECT set_config('plan_cache_mode', 'force_custom_plan', false) "
                "WHERE current_setting('autovacuum') = 'off'")
_IN_POOL = "jimu_in_pool"  # pool record info: when its connection was last checked in (monotonic)


def default_url() -> str:
    """``JIMU_DATABASE_URL`` or ``./jimu.db``."""
    return os.environ.get("JIMU_DATABASE_URL") or "sqlite:///jimu.db"


class DecimalType(sa.types.TypeDecorator[Decimal]):
    """Exact decimals: NUMERIC(p, s) on PostgreSQL; on SQLite the value is bound as text
    into a NUMERIC-affinity column (SQLite keeps it as an exact integer or a 15-digit
    real) and read back as a Decimal quantized to the declared scale. Never a float in
    Python."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 4) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale) if scale >= 0 else None

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteNumeric())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        d = to_decimal(value)
        if dialect.name == "sqlite":
            # Rounded here, half away from zero, as PostgreSQL's NUMERIC(p, s) rounds.
            return format(d if self._quantum is None else d.quantize(self._quantum, ROUND_HALF_UP), "f")
        return d

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        kind = type(value)
        if kind is int:
            d = Decimal(value)
        elif kind is float:
            d = Decimal(repr(value))
        elif kind is Decimal and value.is_finite():  # psycopg's (to_decimal refuses the rest)
            d = value
        else:
            d = to_decimal(value)
        # rounding given by position: as a keyword it costs the call as much again
        return d if self._quantum is None else d.quantize(self._quantum, ROUND_HALF_UP)


class ExactDecimal(DecimalType):
    """A computed decimal (an expression's result) read back without rounding: on SQLite
    the float SQLite returns becomes the Decimal of its shortest repr (SQLAlchemy's own
    Numeric would round it to 10 places)."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(38, 0)
        self._quantum = None  # kept exactly as computed

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteNumeric())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            return Decimal(repr(value))
        return to_decimal(value)


class _SqliteNumeric(sa.types.UserDefinedType[Any]):
    """A column declared NUMERIC on SQLite with no driver-side float conversion."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "NUMERIC"


class TZDateTime(sa.types.TypeDecorator[object]):
    """Timezone-aware datetimes on both backends (SQLite stores ISO text, read back as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        if dialect.name == "sqlite":
            return _sqlite_utc  # one parse straight to an aware datetime (no replace())
        return super().result_processor(dialect, coltype)

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        if dialect.name == "sqlite":
            return _sqlite_text  # one call to the stored text (not three)
        return super().bind_processor(dialect)


_fromisoformat = datetime.fromisoformat


def _sqlite_text(value: Any) -> str | None:
    """The text SQLite stores for a datetime: :meth:`TZDateTime.process_bind_param` (naive
    taken as UTC, aware converted to UTC) then SQLAlchemy's SQLite ``DATETIME`` format
    (``YYYY-MM-DD HH:MM:SS.ffffff``, microseconds always written), in one step."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")  # type: ignore[no-any-return]


def _sqlite_utc(value: Any) -> datetime | None:
    """SQLite's stored text (naive UTC, as bound above) as an aware UTC datetime."""
    if value is None:
        return None
    if type(value) is str:
        try:
            parsed = _fromisoformat(value + "+00:00")
        except ValueError:
            parsed = _fromisoformat(value)  # text that carries its own offset
    else:
        parsed = value
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _Raw(sa.types.UserDefinedType[Any]):
    """No conversion at all: ``sa.type_coerce(column, RAW)`` selects a column as the
    driver hands it over (a hot path converts it itself; see :func:`read_raw`)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "RAW"


RAW = _Raw()


def read_raw(type_: Any, dialect: sa.Dialect) -> Any:
    """The conversion SQLAlchemy applies to the driver's value of a ``DecimalType`` or
    ``TZDateTime`` column (what a column selected through ``RAW`` skipped); None for
    other types."""
    if isinstance(type_, TZDateTime) and dialect.name == "sqlite":
        return _sqlite_utc
    if isinstance(type_, DecimalType | TZDateTime):
        process = type_.process_result_value

        def read(value: Any) -> Any:
            return process(value, dialect)

        return read
    return None


def json_loads(text: str | bytes) -> Any:
    """A JSON column's text as Python values, as ``json.loads`` reads it: orjson's parser
    (several times faster: the event dispatcher reads three JSON columns of every event),
    and ``json.loads`` for what orjson refuses (``NaN`` and infinities, which
    ``json.dumps`` writes, lone surrogates) or reads otherwise (an integer beyond 64 bits
    becomes a float: any run of 19 digits goes to ``json.loads``)."""
    raw = text.encode() if isinstance(text, str) else bytes(text)
    if _NINETEEN in raw.translate(_DIGITS):  # (a regular expression costs more than json.loads)
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))  # every digit "0", the rest " "
_NINETEEN = b"0" * 19


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` with Jimu's connection settings."""
    url = url or default_url()
    kwargs.setdefault("json_deserializer", json_loads)
    if url.startswith("sqlite"):
        # Last in, first out: the connection a request gets is the one the last request
        # gave back, whose page cache is still good (SQLite drops a connection's whole cache
        # when another connection has committed since it last read). First in, first out
        # hands out the connection idle longest, its cache gone: a create read its pages
        # back from the file, ~20 ``pread`` calls, 60-90 µs of a create's ~600 µs.
        if sa.engine.make_url(url).database not in (None, "", ":memory:") and "poolclass" not in kwargs:
            kwargs.setdefault("pool_use_lifo", True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_use_lifo", True)
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "postgresql":
        pgtail.install(engine)
        if not kwargs.get("pool_pre_ping"):
            _configure_postgresql(engine)
    return engine


def _configure_postgresql(engine: Engine) -> None:
    """Check a pooled connection on checkout, as ``pool_pre_ping`` would, but without its
    ``SELECT 1`` round trip on every checkout (one per transaction): a connection the server
    closed (restart, crash, ``pg_terminate_backend``, an idle timeout) has something to read
    on its socket (the server's FATAL message or the end of the stream) while a healthy idle
    one has nothing, so a zero-timeout ``poll`` of the socket tells them apart. The ping is
    sent only then, or after ``PING_IDLE`` seconds in the pool (a peer that vanished without
    closing); a failed ping invalidates the pool and the checkout gets a new connection.
    Where autovacuum is off, each new connection plans every execution of a prepared
    statement afresh (:data:`CUSTOM_PLANS`, PostgreSQL 12 and later)."""
    dialect = engine.dialect

    @event.listens_for(engine.pool, "connect")
    def _custom_plans(dbapi_conn: Any, _record: Any) -> None:
        # A statement psycopg has prepared gets, after five executions, PostgreSQL's
        # generic plan, kept for the connection's life unless an ANALYZE invalidates it.
        # Without autovacuum (off on this project's machines) none ever comes: a plan made
        # while an app's table was small kept a list-50 sorting the whole table as it
        # grew (405 -> 124 req/s after 5,000 creates). There each execution is planned
        # afresh, with the table's current size; with autovacuum on, whose ANALYZE renews
        # the plans as tables grow, generic plans are kept (planning every list cost it
        # ~25 % of its rate here).
        if getattr(dbapi_conn.info, "server_version", 0) >= 120000:  # PostgreSQL 12+
            dbapi_conn.execute(CUSTOM_PLANS)
            if not dbapi_conn.autocommit:
                dbapi_conn.commit()  # no transaction left open by the statement

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_IN_POOL] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IN_POOL)
        if since is None:  # never checked in: just connected
            return
        if time.monotonic() - since < PING_IDLE and not _needs_ping(dbapi_conn, dialect.loaded_dbapi.Error):
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None) or getattr(dbapi_conn, "closed", False):
                raise sa.exc.InvalidatePoolError() from err
            raise


def _needs_ping(dbapi_conn: Any, errors: Any) -> bool:
    """Whether a pooled psycopg connection may be dead: closed or broken on our side, or
    its socket readable while no query is running (nothing else arrives on an idle,
    non-listening connection)."""
    if dbapi_conn.closed or getattr(dbapi_conn, "broken", False):
        return True
    try:
        poller = select.poll()
        poller.register(dbapi_conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, errors):
        return True


_CHECKPOINT_DEFERRED = "jimu_checkpoint_deferred"


def _fresh_schema_pragmas(engine: Engine) -> None:
    """SQLite answers ``PRAGMA table_info`` and its kin (what SQLAlchemy's inspector and
    ``create_all(checkfirst=True)`` read) from the connection's cached schema, which it
    reloads only when a statement reads a table: after another connection created a table
    or dropped a key, a connection that has read nothing since answers as before (a table
    missing, a foreign key still there). Each table pragma of this engine first reads
    ``sqlite_master``, which reloads a stale schema. Introspection is rare; nothing else pays."""
    dialect = engine.dialect
    table_pragma = getattr(dialect, "_get_table_pragma", None)
    if table_pragma is None:  # another SQLAlchemy: its own way
        return

    def fresh(connection: Any, pragma: str, table_name: str, schema: str | None = None) -> Any:
        connection.exec_driver_sql("SELECT 1 FROM sqlite_master LIMIT 0").close()
        return table_pragma(connection, pragma, table_name, schema=schema)

    dialect._get_table_pragma = fresh  # type: ignore[attr-defined]


def defer_checkpoint(conn: Connection) -> None:
    """SQLite with background checkpoints: the commit of ``conn``'s transaction leaves
    copying the log back to the checkpoint thread instead of doing it itself when the
    log has passed the backstop (a bulk write, such as an MRP run's 400,000 lines,
    would make its own commit wait ~0.7 s for a checkpoint of everything it wrote). The
    connection's threshold is restored when it goes back to the pool. Durability is as
    :mod:`jimu.platform.checkpoint` says: the commit survives a process crash at once."""
    if conn.dialect.name != "sqlite" or not checkpoints_enabled() or conn.engine.url.database in (None, "", ":memory:"):
        return
    raw = conn.connection
    if not raw.info.get(_CHECKPOINT_DEFERRED):
        raw.info[_CHECKPOINT_DEFERRED] = True
        dbapi = raw.driver_connection
        assert dbapi is not None
        dbapi.execute("PRAGMA wal_autocheckpoint=0")


def _configure_sqlite(engine: Engine) -> None:
    memory = engine.url.database in (None, "", ":memory:")
    _fresh_schema_pragmas(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred-only).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            if checkpoints_enabled():  # the background thread checkpoints; this is the backstop
                cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        if record.info.pop(_CHECKPOINT_DEFERRED, False) and dbapi_conn is not None:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight on the driver's connection: exec_driver_sql would build a whole
        # execution context (events, cursor wrapper) for a statement with no result, on
        # every transaction.
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        dbapi.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get("jimu_write") else "BEGIN")


class Database:
    """An engine plus the two ways Jimu talks to it: ``read()`` and ``write()``."""

    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        self.engine = engine or make_engine(url)
        self.url = str(self.engine.url.render_as_string(hide_password=False))
        self._checkpointer: Checkpointer | None = None
        self._checkpointer_lock = threading.Lock()
        # SQLite has one writer at a time. This process's threads (requests, dispatcher,
        # scheduler) queue for it on this lock, handed over the moment the writer commits,
        # instead of in SQLite's busy handler, which sleeps 1, 2, 5, 10... ms between
        # retries (a create waited on the dispatcher's short transactions that way).
        # Reentrant, and given up after the busy timeout: a nested write, or one waiting
        # on a writer that waits on this thread, then behaves exactly as without it.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        self._reader: Engine | None = None  # PostgreSQL's read engine, made on the first read
        # Each thread keeps its write connection between transactions (KeptWriter), by
        # thread id.
        self._writers: dict[int, ThreadKept] = {}
        self._writers_lock = threading.Lock()
        # Not with SQLite's in-memory pools (one connection per thread, or one for all):
        # there the kept connection would be the very one every read uses.
        self._keeps_writers = isinstance(self.engine.pool, sa.pool.QueuePool)
        weakref.finalize(self, close_kept, self._writers, self._writers_lock)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite); commits on success. It runs
        on the thread's kept write connection (:class:`KeptWriter`) when there is one."""
        lock = self._write_lock
        held = False
        if lock is not None:
            if self._checkpointer is None:
                self._start_checkpointer()
            held = lock.acquire(timeout=BUSY_TIMEOUT_S)
        try:
            kept = self._kept_writer()
            if kept is None:
                with self.engine.connect().execution_options(jimu_write=True) as conn:
                    with conn.begin():
                        yield conn
                return
            ok = False
            try:
                with kept.conn.begin():
                    yield kept.conn
                ok = True
            finally:
                kept.done(ok)
        finally:
            if held and lock is not None:
                lock.release()

    def _kept_writer(self) -> KeptWriter | None:
        """A write connection this thread keeps, made on its first write: one not in use
        (a nested write, or a create while others of the thread wait for their COMMIT on
        the event loop, gets another, up to ``KEPT_PER_THREAD``); None when all are in use
        (the write goes to the pool) or when ``MAX_KEPT_WRITERS`` threads already keep
        theirs (the others use the pool)."""
        if not self._keeps_writers:
            return None
        me = threading.current_thread()
        mine = self._writers.get(me.ident or 0)
        if mine is not None and mine.thread is me:
            kept = mine.take(self.engine)
            if kept is not None or mine.kept:
                return kept
        with self._writers_lock:
            for ident, other in list(self._writers.items()):
                # Threads gone since, and this thread's connections if they all broke: closed.
                if other.thread is me or not other.thread.is_alive():
                    other.close()
                    del self._writers[ident]
            if len(self._writers) >= MAX_KEPT_WRITERS:
                return None
            mine = self._writers[me.ident or 0] = ThreadKept(me)
        return mine.take(self.engine)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read: on SQLite a deferred transaction rolled back at the end; on PostgreSQL a
        connection of the read pool (:mod:`jimu.platform.readengine`): autocommit, so no
        ``BEGIN``/``COMMIT`` round trips, and read-only, so a write in it raises. Each
        statement sees the data committed when it starts (PostgreSQL's READ COMMITTED
        gave a transaction's statements no more than that)."""
        reader = self._reader
        if reader is None and self.engine.dialect.driver == "psycopg":
            reader = self._reader = read_engine(self.engine)
        if reader is not None:
            with reader.connect() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            with conn.begin() as tx:
                yield conn
                if self._write_lock is not None:  # SQLite; elsewhere COMMIT keeps prepared statements
                    tx.rollback()

    def _start_checkpointer(self) -> None:
        """Checkpoint a file database's WAL in the background (jimu.platform.checkpoint),
        from its first write until :meth:`dispose` (or garbage collection)."""
        path = self.engine.url.database
        with self._checkpointer_lock:
            if (self._checkpointer is not None or not path or path == ":memory:" or path.startswith("file:")
                    or not checkpoints_enabled()):
                return
            self._checkpointer = Checkpointer(path)
            weakref.finalize(self, self._checkpointer.stop)

    def dispose(self) -> None:
        close_kept(self._writers, self._writers_lock)
        with self._checkpointer_lock:
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None  # a later write starts a new one
        if self._reader is not None:
            self._reader.dispose()
        self.engine.dispose()

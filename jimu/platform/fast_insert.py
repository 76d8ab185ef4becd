"""Many rows into one table through the driver: ``COPY`` on PostgreSQL, one
``executemany`` of plain tuples on SQLite; more rows than one chunk (:data:`COPY_CHUNK`,
:data:`SQLITE_CHUNK`) are written chunk by chunk by a thread of their own while the caller
makes the next (see :func:`_copy` and :func:`_sqlite_streamed`).

Why: SQLAlchemy's executemany builds a parameter dict per row and runs every value
through its type's processor; for hundreds of thousands of system-generated rows (an MRP
run's planned orders) that was most of the write. Here each column's own bind processor
(the same one SQLAlchemy would call, so the stored text of a decimal, date or timestamp is
identical) runs once per distinct value of a column, columns are mapped in C (the rows
transposed, processed column by column, zipped back), and values shared by every row
(``constants``) are processed once. SQLite's decimal columns are the exception: their
processor's text is made inline, value by value (quantities hardly repeat, and hashing a
Decimal to find repeats cost more than formatting it).

On PostgreSQL the COPY is binary for chunks whose values are all exactly of their
columns' Python types (ints in range, Decimals, dates, aware datetimes, text): psycopg's C
dumpers write them without making their text and the server does not parse it; any other
chunk goes in a text COPY (see :data:`_BINARY`).

The rows must already be valid for the table (no defaults, checks or events run); the
caller's connection and transaction are used as they are.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice, repeat
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.db import DecimalType, defer_checkpoint
from jimu.platform.pgtail import flush

__all__ = ["insert_rows", "COPY_CHUNK", "SQLITE_CHUNK"]

#: Rows per chunk of a PostgreSQL COPY (see :func:`_copy`).
COPY_CHUNK = 20_000
#: Rows per statement of a streamed SQLite insert (see :func:`_sqlite_streamed`); fewer
#: rows in all go in one executemany.
SQLITE_CHUNK = 10_000


def _processors(conn: Connection, table: sa.Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    dialect = conn.dialect
    return [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]


#: In :func:`_quanta`'s answer: a decimal column whose processor gives a finite Decimal
#: back unchanged (PostgreSQL: psycopg adapts it), so such values pass as they are.
_AS_IS = Decimal(0)


def _quanta(conn: Connection, table: sa.Table, columns: Sequence[str],
            procs: Sequence[Callable[[Any], Any] | None] = ()) -> list[Decimal | None]:
    """Per column: on SQLite the quantum of a :class:`DecimalType` column (whose bind
    processor is ``format(value.quantize(quantum, ROUND_HALF_UP), "f")``); elsewhere
    :data:`_AS_IS` for a :class:`DecimalType` column whose processor (in ``procs``) gives
    a finite Decimal back as it is; else None."""
    out: list[Decimal | None] = []
    sqlite = conn.dialect.name == "sqlite"
    probe = Decimal("1.5")
    for k, name in enumerate(columns):
        t = table.c[name].type
        if not isinstance(t, DecimalType):
            out.append(None)
        elif sqlite:
            out.append(t._quantum)
        else:
            proc = procs[k] if k < len(procs) else None
            out.append(_AS_IS if proc is not None and proc(probe) is probe else None)
    return out


def _decimal_column(values: Sequence[Any], quantum: Decimal, proc: Callable[[Any], Any]) -> Sequence[Any]:
    """A SQLite decimal column: :meth:`DecimalType.process_bind_param`'s text for finite
    Decimals inline, the processor itself for anything else (None, ints, bad values).
    Not memoised: hashing a fresh Decimal costs more than formatting it."""
    text, exact, half_up = str, Decimal, ROUND_HALF_UP
    # str costs a third of format(..., "f") and gives the same text unless it takes an
    # exponent (a value quantized to 10**-scale can only below 1E-6, at a scale over 6)
    out = [text(v.quantize(quantum, half_up)) if v.__class__ is exact and v.is_finite()
           else (None if v is None else proc(v)) for v in values]
    if quantum.adjusted() < -6:
        out = [format(exact(v), "f") if v is not None and "E" in v else v for v in out]
    return out


def _processed_column(values: Sequence[Any], proc: Callable[[Any], Any]) -> Sequence[Any]:
    """``proc`` over one column, computed once per distinct value (dates and suppliers
    repeat across rows) and mapped in C; unhashable values go one by one."""
    try:
        memo = {v: None if v is None else proc(v) for v in set(values)}
    except TypeError:
        return [None if v is None else proc(v) for v in values]
    return list(map(memo.__getitem__, values))


def _tuples(rows: Iterable[Sequence[Any]], width: int, procs: list[Callable[[Any], Any] | None],
            constants: Sequence[Any], quanta: Sequence[Decimal | None] = ()) -> tuple[int, Iterator[tuple[Any, ...]]]:
    """(how many, the rows as tuples of bound values followed by ``constants``).

    Column by column, not row by row: the rows are transposed (``zip(*rows)``), each
    column with a processor is mapped through its distinct values, and the constants are
    repeated, so no Python code runs per row (a run's 400,000 lines spent seconds in a
    per-row generator)."""
    count, columns = _columns(rows, width, procs, quanta)
    return count, _zipped(columns, constants)


def _zipped(columns: Sequence[Sequence[Any]], constants: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
    return zip(*columns, *(repeat(c) for c in constants), strict=False)  # repeat() is endless


def _chunks(first: list[Any], rest: Iterator[Sequence[Any]], size: int, width: int,
            procs: list[Callable[[Any], Any] | None], quanta: Sequence[Decimal | None]
            ) -> Iterator[tuple[int, list[Any]]]:
    """(how many rows, their columns: :func:`_columns`) of ``first``, then of ``rest``
    taken ``size`` rows at a time, until no row is left."""
    n, columns = _columns(first, width, procs, quanta)
    while n:
        yield n, columns
        n, columns = _columns(list(islice(rest, size)), width, procs, quanta)


def _columns(rows: Iterable[Sequence[Any]], width: int, procs: list[Callable[[Any], Any] | None],
             quanta: Sequence[Decimal | None] = ()) -> tuple[int, list[Any]]:
    """(how many rows, their columns of bound values): see :func:`_tuples`."""
    listed = rows if isinstance(rows, list) else list(rows)
    if not listed:
        return 0, []
    columns: list[Any] = list(zip(*listed, strict=True)) if width else []
    if len(columns) != width:
        raise ValueError(f"rows have {len(columns)} values, {width} columns given")
    for i, proc in enumerate(procs):
        quantum = quanta[i] if i < len(quanta) else None
        if proc is not None and quantum is _AS_IS:
            # not memoised: hashing every Decimal costs more than looking at its type
            exact = Decimal
            columns[i] = [v if v.__class__ is exact and v.is_finite() else (None if v is None else proc(v))
                          for v in columns[i]]
        elif proc is not None and quantum is not None:
            columns[i] = _decimal_column(columns[i], quantum, proc)
        elif proc is not None:
            columns[i] = _processed_column(columns[i], proc)
    return len(listed), columns


#: PostgreSQL column types a binary COPY writes: (the type psycopg dumps, the Python types
#: of the values it takes, the range of an integer). Binary, not text: the client's C
#: dumpers skip making each value's text and the server skips parsing it (a run's 412,719
#: lines: 3.9-5.0 s of client CPU for the COPY in text, 1.9-2.4 s binary; the server's
#: 6.2-6.8 s, 5.6-5.7 s).
_BINARY: dict[str, tuple[str, tuple[type, ...], int | None]] = {
    "INTEGER": ("int4", (int,), 2**31), "BIGINT": ("int8", (int,), 2**63), "SMALLINT": ("int2", (int,), 2**15),
    "NUMERIC": ("numeric", (Decimal, int), None), "VARCHAR": ("varchar", (str,), None), "TEXT": ("text", (str,), None),
    "DATE": ("date", (date,), None), "TIMESTAMP WITH TIME ZONE": ("timestamptz", (datetime,), None),
    "BOOLEAN": ("bool", (bool,), None),
}


def _binary_kinds(conn: Connection, table: sa.Table, names: Sequence[str]) -> list[tuple[str, tuple[type, ...], int | None]] | None:
    """Per column of ``names``, its :data:`_BINARY` entry; None when a column has a type
    the binary COPY does not write (the text COPY is used)."""
    out = []
    for n in names:
        kind = _BINARY.get(table.c[n].type.compile(dialect=conn.dialect).split("(")[0].strip())
        if kind is None:
            return None
        out.append(kind)
    return out


def _fits_binary(columns: Sequence[Sequence[Any]], constants: Sequence[Any],
                 kinds: Sequence[tuple[str, tuple[type, ...], int | None]]) -> bool:
    """Whether every value is None or exactly of a Python type its column's binary dumper
    takes as the text COPY would (an int, not a bool or a str, for an integer column, and
    within its range: psycopg's binary dumper wraps a value too large around; a date, not
    a datetime; an aware datetime), so both COPYs store the same."""
    none = type(None)
    for values, (_name, allowed, bound) in zip([*columns, *([c] for c in constants)], kinds, strict=True):
        found = set(map(type, values))
        nulls = none in found
        found.discard(none)
        if not found.issubset(allowed):
            return False
        if bound is not None and found:
            present = [v for v in values if v is not None] if nulls else values
            if min(present) < -bound or max(present) >= bound:
                return False
        if allowed == (datetime,) and any(v is not None and v.tzinfo is None for v in values):
            return False
    return True


def _copy(raw: Any, sql: str, rows: Iterable[Sequence[Any]], width: int, procs: list[Callable[[Any], Any] | None],
          constants: Sequence[Any], kinds: Sequence[tuple[str, tuple[type, ...], int | None]] | None = None,
          quanta: Sequence[Decimal | None] = ()) -> int:
    """``COPY`` of ``rows`` taken :data:`COPY_CHUNK` at a time; returns how many. A row of
    the wrong width in the first chunk is refused before anything is sent; in a later one
    it raises the same ValueError (the transaction is then the caller's to roll back).

    One chunk is copied here; more go one COPY per chunk in a writer thread while this
    one makes the next (``rows`` may be a generator: a run's lines are planned and
    formatted meanwhile): the thread waits for the server's end of each COPY (its index
    and foreign-key work) without the interpreter lock.

    With ``kinds`` (:func:`_binary_kinds`) a chunk whose values all fit
    (:func:`_fits_binary`) goes in a binary COPY, any other in a text one."""
    it = iter(rows)
    first = list(islice(it, COPY_CHUNK))

    def write(chunk: tuple[bool, list[Any]]) -> None:
        binary, cols = chunk
        with raw.cursor() as cur, cur.copy(sql + " (FORMAT BINARY)" if binary else sql) as copy:
            if binary:
                assert kinds is not None
                copy.set_types([k[0] for k in kinds])
            put = copy.write_row
            for row in _zipped(cols, constants):
                put(row)

    def payload(cols: list[Any]) -> tuple[bool, list[Any]]:
        return kinds is not None and _fits_binary(cols, constants, kinds), cols

    chunks = _chunks(first, it, COPY_CHUNK, width, procs, quanta)
    if len(first) < COPY_CHUNK:  # one chunk at most: copied here
        count = 0
        for n, cols in chunks:
            write(payload(cols))
            count += n
        return count
    return _in_writer_thread(write, ((n, payload(cols)) for n, cols in chunks))


#: Python types whose JSON form SQLite's ``json_extract`` gives back as the very value the
#: driver would have bound (an integer as INTEGER, a string as TEXT, null as NULL).
_JSON_EXACT = frozenset({int, str, type(None)})


def _json_chunk(columns: Sequence[Sequence[Any]]) -> bytes | None:
    """The rows of ``columns`` as one JSON array of arrays, or None when a value is not
    of :data:`_JSON_EXACT` (a float, a bool, bytes: bound by the driver instead), an
    integer is beyond 64 bits or a string holds a NUL or a lone surrogate."""
    for values in columns:
        if not set(map(type, values)) <= _JSON_EXACT:
            return None
    try:
        out = orjson.dumps(list(zip(*columns, strict=True)))
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a lone surrogate
        return None
    return None if b"\\u0000" in out else out


def _json_supported(raw: Any) -> bool:
    try:
        return bool(raw.execute("SELECT json_extract('[7]', '$[0]')").fetchone() == (7,))
    except Exception:  # noqa: BLE001 - a build of SQLite without JSON
        return False


class _Writer(threading.Thread):
    """Calls ``write`` on the chunks it is given, in order; after a failure it drops the
    rest and keeps the error for the caller (who joins it before touching the connection
    again)."""

    def __init__(self, write: Callable[[Any], None]) -> None:
        super().__init__(name="jimu-bulk-insert", daemon=True)
        self.write = write
        self.chunks: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            if self.error is not None:
                continue
            try:
                self.write(chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                self.error = exc


def _in_writer_thread(write: Callable[[Any], None], chunks: Iterator[tuple[int, Any]]) -> int:
    """``write`` of the payload of each of ``chunks`` (how many rows, payload) in a thread
    of its own while this one makes the next (at most two made ahead); returns how many
    rows. The first error of either side is raised here, after the thread has ended."""
    writer = _Writer(write)
    writer.start()
    count = 0
    try:
        for n, chunk in chunks:
            if writer.error is not None:
                break
            writer.chunks.put(chunk)
            count += n
    finally:
        writer.chunks.put(None)
        writer.join()
    if writer.error is not None:
        raise writer.error
    return count


def _sqlite_streamed(raw: Any, name: str, cols: str, width: int, constants: Sequence[Any],
                     first: list[Any], rest: Iterator[Sequence[Any]], procs: list[Callable[[Any], Any] | None],
                     quanta: Sequence[Decimal | None]) -> int:
    """Rows written by a thread of their own, chunk by chunk, while this one makes the
    next chunk (``rest`` may be a generator: an MRP run's lines are planned and formatted
    while the previous ones are being stored); returns how many.

    Each chunk goes as one ``INSERT … SELECT json_extract(value, '$[k]') … FROM
    json_each(?)`` statement, during which SQLite runs without the interpreter lock, so
    storing and making rows use two cores (an ``executemany`` would take the lock back for
    every row and wait on the maker each time). A chunk with a value JSON would not carry
    exactly (:func:`_json_chunk`) goes in an executemany of tuples instead. Constants are
    bound once per statement. Rows keep their order (``ORDER BY key``)."""
    marks = ", ".join("?" for _ in range(width + len(constants)))
    plain = f"INSERT INTO {name} ({cols}) VALUES ({marks})"
    picked = [f"json_extract(value, '$[{k}]')" for k in range(width)] + ["?"] * len(constants)
    from_json = f"INSERT INTO {name} ({cols}) SELECT {', '.join(picked)} FROM json_each(?) ORDER BY key"
    json_ok = _json_supported(raw)
    fixed = tuple(constants)

    def write(chunk: bytes | list[tuple[Any, ...]]) -> None:
        if isinstance(chunk, bytes):
            # one statement for the whole chunk: SQLite inserts it with the interpreter
            # lock released (an executemany takes it back for every row)
            raw.execute(from_json, (*fixed, chunk))
        else:
            raw.executemany(plain, chunk)

    def payload(cols: list[Any]) -> bytes | list[tuple[Any, ...]]:
        as_json = _json_chunk(cols) if json_ok else None
        return as_json if as_json is not None else list(_zipped(cols, constants))

    return _in_writer_thread(write, ((n, payload(cols))
                                     for n, cols in _chunks(first, rest, SQLITE_CHUNK, width, procs, quanta)))


def insert_rows(conn: Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                constants: Mapping[str, Any] | None = None) -> int:
    """Insert ``rows`` (sequences in ``columns`` order) into ``table`` within ``conn``'s
    transaction, each with the same ``constants`` (column -> value: the run, the version,
    the timestamps); returns how many."""
    fixed = dict(constants or {})
    names = [*columns, *fixed]
    procs = _processors(conn, table, names)
    consts = [v if v is None or p is None else p(v) for v, p in zip(fixed.values(), procs[len(columns):], strict=True)]
    prep = conn.dialect.identifier_preparer
    name = prep.format_table(table)
    cols = ", ".join(prep.quote(c) for c in names)
    if conn.dialect.name not in ("postgresql", "sqlite"):  # not used by Jimu: the plain path
        keyed = [{**dict(zip(columns, values, strict=True)), **fixed} for values in rows]
        if keyed:
            conn.execute(table.insert(), keyed)
        return len(keyed)
    flush(conn)  # a statement deferred to the commit goes first (pgtail)
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        return _copy(raw, f"COPY {name} ({cols}) FROM STDIN", rows, len(columns), procs[:len(columns)], consts,
                     _binary_kinds(conn, table, names), _quanta(conn, table, columns, procs))
    it = iter(rows)
    first = list(islice(it, SQLITE_CHUNK))
    quanta = _quanta(conn, table, columns)
    if len(first) == SQLITE_CHUNK:
        defer_checkpoint(conn)  # the commit would otherwise copy all of these back itself
        return _sqlite_streamed(raw, name, cols, len(columns), consts, first, it, procs[:len(columns)], quanta)
    count, values = _tuples(first, len(columns), procs[:len(columns)], consts, quanta)
    if not count:
        return 0
    cur = raw.cursor()
    try:
        cur.executemany(f"INSERT INTO {name} ({cols}) VALUES ({', '.join('?' for _ in names)})", values)
    finally:
        cur.close()
    return count

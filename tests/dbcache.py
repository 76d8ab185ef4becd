"""Built test databases, copied per test instead of rebuilt per test.

A fixture that installs a template (demo users, master data) for every test spends most of
the test's time doing it again. :func:`restore` runs such a build once per worker process
and key, keeps a snapshot of the database it left, and fills each test's own new database
(``db_url``) with a copy of that snapshot (and returns a deep copy of what the build returned):

* SQLite: the built file, checkpointed, is copied to the test's database file;
* PostgreSQL: the built schema is dumped once (``pg_dump --schema``, rows as ``INSERT``s)
  and the dump is replayed into the test's own empty schema.

Each test still owns its database (nothing it writes is seen by another); the build is the
same code the fixture ran before, run under the same conditions (clock, settings), so the
copy holds what the test built itself before. A build must not depend on the test (its
tmp_path, its parameters other than those in ``key``) and must close what it opened.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa

__all__ = ["built", "open_built", "open_for", "restore", "uses"]

PG_URL = os.environ.get("JIMU_TEST_PG_URL")


@dataclass(frozen=True)
class _Snapshot:
    payload: str  # SQLite: the snapshot file; PostgreSQL: the dump (schema name as written)
    schema: str | None  # PostgreSQL: the schema name the dump was taken from
    value: Any


_SNAPSHOTS: dict[tuple[str, str], _Snapshot] = {}
_FOLDER: list[Path] = []


def _folder() -> Path:
    if not _FOLDER:
        shm = Path("/dev/shm")
        base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        _FOLDER.append(Path(tempfile.mkdtemp(prefix="jimu-dbcache-", dir=base)))
        import atexit

        atexit.register(shutil.rmtree, _FOLDER[0], True)
    return _FOLDER[0]


def _libpq(url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (for pg_dump)."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _schema_of(url: str) -> str:
    """The schema of a URL made by ``tests.conftest.pg_schema_url``."""
    found = re.search(r"search_path=(\w+)", unquote(url))
    assert found, f"no search_path in {url}"
    return found.group(1)


def _build_sqlite(build: Callable[[str], Any]) -> _Snapshot:
    path = _folder() / f"snap-{uuid.uuid4().hex[:12]}.db"
    value = build(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # everything in the main file: copying it copies the database
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return _Snapshot(str(path), None, value)


def _build_pg(build: Callable[[str], Any]) -> _Snapshot:
    from tests.conftest import pg_schema_url

    assert PG_URL
    schema = "snap_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            value = build(pg_schema_url(schema))
            dump = subprocess.run(
                ["pg_dump", "--schema", schema, "--no-owner", "--no-privileges", "--inserts",
                 "--rows-per-insert=500", _libpq(PG_URL)],
                capture_output=True, text=True, check=True, timeout=300).stdout
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
    # psql meta-commands (\restrict) and the CREATE SCHEMA go: the test's schema exists already.
    body = "\n".join(line for line in dump.splitlines()
                     if not line.startswith("\\") and line.strip() != f"CREATE SCHEMA {schema};")
    return _Snapshot(body, schema, value)


def _is_new(db_url: str) -> bool:
    """Whether ``db_url`` has no tables yet (a SQLite file not written, an empty schema)."""
    if db_url.startswith("sqlite"):
        target = sa.engine.make_url(db_url).database
        return bool(target) and (not os.path.exists(target) or os.path.getsize(target) == 0)
    engine = sa.create_engine(PG_URL or db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return not conn.execute(sa.text("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                            "WHERE n.nspname = :s LIMIT 1"), {"s": _schema_of(db_url)}).first()
    finally:
        engine.dispose()


def restore(db_url: str, key: str, build: Callable[[str], Any]) -> Any:
    """Fill the new, empty database ``db_url`` (a ``make_db_url`` URL: a SQLite file not
    yet written, or an empty PostgreSQL schema) with what ``build(url)`` leaves in an empty
    database of the same backend; returns a deep copy of what ``build`` returned. ``build``
    runs once per process for each (backend, ``key``); and on ``db_url`` itself, as the
    fixture did before, when ``db_url`` is not new (another fixture of the test opened it)."""
    backend = "sqlite" if db_url.startswith("sqlite") else "pg"
    if not _is_new(db_url):  # another fixture of the test filled it first: build on top, as before
        return build(db_url)
    if backend == "pg" and shutil.which("pg_dump") is None:  # no snapshots without pg_dump: build per test
        return build(db_url)
    snap = _SNAPSHOTS.get((backend, key))
    if snap is None:
        snap = _build_sqlite(build) if backend == "sqlite" else _build_pg(build)
        _SNAPSHOTS[backend, key] = snap
    if backend == "sqlite":
        target = sa.engine.make_url(db_url).database
        assert target
        shutil.copyfile(snap.payload, target)
    else:
        assert PG_URL and snap.schema
        sql = re.sub(rf"\b{snap.schema}\b", _schema_of(db_url), snap.payload)
        engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
        try:
            raw = engine.raw_connection()
            try:
                raw.cursor().execute(sql)
                raw.commit()
            finally:
                raw.close()
        finally:
            engine.dispose()
    return copy.deepcopy(snap.value)


def open_built(db_url: str, key: str, build: Callable[[Any], Any], **settings: Any) -> tuple[Any, Any]:
    """(a Jimu opened with ``settings`` on ``db_url`` after :func:`restore` filled it with
    what ``build(jimu)`` does to a Jimu opened the same way on an empty database, a deep copy
    of what ``build`` returned)."""
    from jimu.runtime.context import Jimu

    def _build(url: str) -> Any:
        jimu = Jimu.open(url, **settings)
        try:
            return build(jimu)
        finally:
            jimu.close()

    value = restore(db_url, key, _build)
    return Jimu.open(db_url, **settings), value


def uses(request: Any, name: str, fixture: Any) -> bool:
    """Whether the test of ``request`` uses ``fixture`` as its ``name`` fixture (and not a
    test module's own fixture of that name): a ``jimu`` fixture restores the database that
    fixture builds on it, instead of an empty one, only then."""
    import inspect

    defs = request.node._fixtureinfo.name2fixturedefs.get(name)
    return bool(defs) and inspect.unwrap(defs[-1].func).__code__ is inspect.unwrap(fixture).__code__


_BUILT: dict[int, Any] = {}  # id(jimu) -> what the build of its database returned


def open_for(request: Any, db_url: str, builds: Mapping[str, tuple[Any, Callable[[Any], Any]]], salt: str = "",
             **settings: Any) -> Iterator[Any]:
    """The body of a ``jimu`` fixture (``yield from``): a Jimu opened with ``settings`` on
    ``db_url``, restored from the build of ``builds[name]`` = (fixture, build) for the first
    ``name`` whose fixture the test uses (:func:`uses`), else bootstrapped only. The fixture
    itself then reads what the build returned with :func:`built` (a deep copy per test).
    ``salt`` goes into the snapshot's key: what else the build depends on (today's date)."""
    import inspect

    key, build = f"jimu_open:{sorted(settings.items())!r}", _nothing
    for name, (fixture, make) in builds.items():
        if uses(request, name, fixture):
            key, build = f"{inspect.unwrap(fixture).__module__}.{name}:{sorted(settings.items())!r}:{salt}", make
            break
    jimu, value = open_built(db_url, key, build, **settings)
    _BUILT[id(jimu)] = value
    try:
        yield jimu
    finally:
        _BUILT.pop(id(jimu), None)
        jimu.close()


def built(jimu: Any) -> Any:
    """What the build of ``jimu``'s database returned (see :func:`open_for`)."""
    return _BUILT[id(jimu)]


def _nothing(_jimu: Any) -> None:
    return None

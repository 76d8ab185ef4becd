"""Shared fixtures. ``backend_url`` runs a test on SQLite always and on PostgreSQL when
``JIMU_TEST_PG_URL`` is set (CI sets it); each PostgreSQL test gets its own schema."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from jimu.core import clock as clock_mod
from jimu.platform.db import Database, make_engine
from jimu.runtime.server import free_port

PG_URL = os.environ.get("JIMU_TEST_PG_URL")
BACKENDS = ["sqlite"] + (["pg"] if PG_URL else [])


def spawn_jimu(command: str, folder: Path, env: dict[str, str], *, timeout: float) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m jimu COMMAND --port P`` (``demo``, ``serve``) started in ``folder`` with
    ``env`` on a free port, its output in ``folder/server.log``; returns (process, base URL)
    once ``/api/health`` answers 200. RuntimeError, with the log's tail, when the process
    exits first or ``timeout`` seconds pass (the process is killed then)."""
    port = free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - kept open for the server's life
    process = subprocess.Popen([sys.executable, "-m", "jimu", command, "--port", str(port)], cwd=folder, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jimu {command} exited: {(folder / 'server.log').read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"jimu {command} did not come up within {timeout:.0f} s")


def pg_schema_url(schema: str) -> str:
    assert PG_URL
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


class _SchemaDropper:
    """Drops the PostgreSQL schemas of finished tests on a thread of its own, so a test does
    not wait for the ``DROP SCHEMA ... CASCADE`` of the one before; the session waits for
    the last ones (``pg_schemas_dropped``)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[list[str]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def drop(self, schemas: list[str]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="test-schema-dropper", daemon=True)
            self._thread.start()
        self._queue.put(list(schemas))

    def _run(self) -> None:
        admin = make_engine(PG_URL)
        while True:
            schemas = self._queue.get()
            try:
                with admin.begin() as conn:
                    for schema in schemas:
                        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            except Exception as exc:  # noqa: BLE001 - reported at the end of the session
                self.errors.append(f"{schemas}: {exc}")
            finally:
                self._queue.task_done()

    def wait(self) -> None:
        self._queue.join()


_DROPPER = _SchemaDropper()


@pytest.fixture(scope="session", autouse=True)
def pg_schemas_dropped() -> Iterator[None]:
    """At the end of the session, every test's PostgreSQL schema is gone."""
    yield
    _DROPPER.wait()
    assert not _DROPPER.errors, "could not drop test schemas:\n" + "\n".join(_DROPPER.errors)


@pytest.fixture
def make_db_url(tmp_path) -> Iterator[object]:
    """Returns a function backend -> fresh database URL (cleaned up afterwards: a
    PostgreSQL schema in the background, by ``_DROPPER``)."""
    schemas: list[str] = []

    def _make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / ('jimu-' + uuid.uuid4().hex[:8] + '.db')}"
        schema = "t_" + uuid.uuid4().hex[:12]
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        schemas.append(schema)
        return pg_schema_url(schema)

    yield _make
    if schemas:
        _DROPPER.drop(schemas)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend, make_db_url) -> str:
    return make_db_url(backend)


@pytest.fixture
def db(db_url) -> Iterator[Database]:
    """An empty database (no system tables) on each backend."""
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def system_db(db, db_url) -> Database:
    """``db`` with Jimu's system tables created: a copy of a database that
    ``upgrade_system_tables`` built once per worker (tests.dbcache), made before ``db``
    first connects."""
    from jimu.platform.store.bootstrap import upgrade_system_tables
    from tests.dbcache import restore

    def _build(url: str) -> None:
        built = Database(url)
        try:
            upgrade_system_tables(built)
        finally:
            built.dispose()

    restore(db_url, "system_tables", _build)
    return db


@pytest.fixture
def manual_clock() -> Iterator[clock_mod.ManualClock]:
    clock = clock_mod.ManualClock()
    previous = clock_mod.set_clock(clock)
    yield clock
    clock_mod.set_clock(previous)


@pytest.fixture
def jimu(db_url):
    """A Jimu context (system tables ready) on each backend: ``Jimu.open`` on a copy of a
    database it bootstrapped once per worker (tests.dbcache)."""
    from tests.dbcache import open_built

    ctx, _ = open_built(db_url, "jimu_open", lambda _j: None)
    yield ctx
    ctx.close()


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid argon2id hashes at minimal cost (time_cost=1, 8 KiB) for the users tests create:
    at the production cost (jimu.platform.auth.users._hasher, pinned by
    tests/platform/test_password_hasher.py) hashing and verifying demo users' passwords
    took a large share of the suite. Verification is the real argon2 check either way."""
    from argon2 import PasswordHasher

    import jimu.platform.auth.users as users_mod

    monkeypatch.setattr(users_mod, "hash_password", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash)


SHOP_SPEC = {
    "name": "shop",
    "label": {"zh": "商店", "en": "Shop"},
    "entities": [
        {"name": "warehouse", "label": {"zh": "仓库", "en": "Warehouse"},
         "fields": [{"name": "name", "type": "text", "required": True},
                    {"name": "confirm_code", "type": "text"}]},
        {"name": "item", "label": {"zh": "商品", "en": "Item"},
         "fields": [{"name": "sku", "type": "text", "unique": True, "required": True},
                    {"name": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
                    {"name": "cost_price", "type": "money", "label": {"zh": "成本价", "en": "Cost price"}},
                    {"name": "active", "type": "boolean", "default": True},
                    {"name": "kind", "type": "choice", "options": {"choices": [{"value": "goods"}, {"value": "service"}]}}]},
        {"name": "sales_order", "label": {"zh": "销售单", "en": "Sales order"},
         "fields": [{"name": "number", "type": "auto_number", "options": {"pattern": "SO-{YYYY}{MM}-{####}"}},
                    {"name": "warehouse", "type": "link", "options": {"entity": "warehouse"}},
                    {"name": "note", "type": "long_text"},
                    {"name": "lines", "type": "child_table", "options": {"entity": "sales_order_line"}}]},
        {"name": "sales_order_line", "label": {"zh": "销售明细", "en": "Sales order line"},
         "fields": [{"name": "item", "type": "link", "required": True, "options": {"entity": "item"}},
                    {"name": "qty", "type": "decimal", "required": True},
                    {"name": "price", "type": "money"}]},
    ],
}


@pytest.fixture
def shop(jimu):
    """The small 'shop' app, published."""
    jimu.store.create_app("shop", SHOP_SPEC["label"])
    jimu.store.save_draft("shop", SHOP_SPEC, author="admin")
    jimu.store.publish("shop", author="admin")
    return jimu

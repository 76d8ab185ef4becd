"""The black-box contract suite: starts ``jimu demo`` on a free port in a temporary folder,
as a new user would, and talks to it over HTTP and the CLI only.

Runs against SQLite always, and against PostgreSQL when ``JIMU_TEST_PG_URL`` is set (the
demo then gets ``JIMU_DATABASE_URL`` pointing at a fresh schema)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import pg_schema_url, spawn_jimu

PG_URL = os.environ.get("JIMU_TEST_PG_URL")
CONTRACT_BACKENDS = ["sqlite"] + (["pg"] if PG_URL else [])


@dataclass
class Server:
    base: str
    folder: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    backend: str
    _tokens: dict[str, str]

    def client(self, user: str | None = None) -> httpx.Client:
        headers = {}
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def token(self, user: str) -> str:
        """A fresh token (the test clock moves the server's time, so old ones expire)."""
        r = httpx.post(f"{self.base}/api/auth/token", json={"username": user, "password": user}, timeout=30)
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jimu", *args], cwd=self.folder, env=self.env, input=input,
                              capture_output=True, text=True, timeout=300)


def _start(backend: str, tmp: Path) -> tuple[Server, str | None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIMU_")}
    env["JIMU_TEST_CLOCK"] = "1"
    schema = None
    if backend == "pg":
        assert PG_URL
        schema = "contract_" + uuid.uuid4().hex[:10]
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        env["JIMU_DATABASE_URL"] = pg_schema_url(schema)
    process, base = spawn_jimu("demo", tmp, env, timeout=180)
    return Server(base, tmp, env, process, backend, {}), schema


@pytest.fixture(scope="session", params=CONTRACT_BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"demo-{request.param}")
    srv, schema = _start(request.param, tmp)
    yield srv
    srv.process.terminate()
    try:
        srv.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.process.kill()
    if schema:
        engine = sa.create_engine(PG_URL)  # type: ignore[arg-type]
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def first(client: httpx.Client, entity: str, app: str = "standard", **params: Any) -> dict[str, Any]:
    r = client.get(f"/api/apps/{app}/data/{entity}", params={"limit": 1, **params})
    assert r.status_code == 200, r.text
    assert r.json()["data"], f"no {entity} records"
    return dict(r.json()["data"][0])


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, f"{r.status_code} != {status}: {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body), body
    assert body["status"] == status
    return dict(body)

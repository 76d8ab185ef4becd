"""The black-box contract suite: starts ``jimu demo`` on a free port in a temporary folder,
as a new user would, and talks to it over HTTP and the CLI only.

Runs against SQLite always, and against PostgreSQL when ``JIMU_TEST_PG_URL`` is set (the
demo then gets ``JIMU_DATABASE_URL`` pointing at a fresh schema)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("JIMU_TEST_PG_URL")
CONTRACT_BACKENDS = ["sqlite"] + (["pg"] if PG_URL else [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        sep = "&" if "?" in PG_URL else "?"
        env["JIMU_DATABASE_URL"] = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    port = free_port()
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - kept open for the server's life
    process = subprocess.Popen([sys.executable, "-m", "jimu", "demo", "--port", str(port)], cwd=tmp, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jimu demo exited: {(tmp / 'server.log').read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError("jimu demo did not come up within 180 s")
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

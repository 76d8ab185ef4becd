"""``jimu serve`` exits promptly on SIGTERM / SIGINT while SSE streams are open: uvicorn
waits for open connections before its lifespan shutdown, so the streams must end first."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jimu.runtime.context import Jimu
from tests.conftest import spawn_jimu
from tests.runtime.events.conftest import build_shop
from tests.runtime.events.helpers import SSEReader


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'jimu.db'}"
    jimu = Jimu.open(url)
    build_shop(jimu)
    jimu.close()
    yield url


def _serve(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIMU_")}
    env["JIMU_DATABASE_URL"] = url
    env["JIMU_SECRET"] = "shutdown-test-secret"
    return spawn_jimu("serve", folder, env, timeout=120)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_server_exits_promptly_with_open_streams(shop_db: str, tmp_path: Path, sig: signal.Signals) -> None:
    process, base = _serve(shop_db, tmp_path)
    streams: list[SSEReader] = []
    try:
        r = httpx.post(f"{base}/api/auth/token", json={"username": "warehouse", "password": "warehouse"}, timeout=30)
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        streams = [SSEReader(f"{base}/api/apps/shop/events?access_token={token}") for _ in range(2)]
        assert [s.status for s in streams] == [200, 200]
        started = time.monotonic()
        process.send_signal(sig)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server still runs {time.monotonic() - started:.1f} s after {sig.name}: "
                        + (tmp_path / "server.log").read_text(errors="replace")[-2000:])
        assert time.monotonic() - started < 5
    finally:
        for s in streams:
            s.close()
        if process.poll() is None:
            process.kill()
            process.wait(10)

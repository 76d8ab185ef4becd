"""``jimu serve`` as deployed (a subprocess with its uvicorn configuration): forwarded
headers are not believed unless configured, and credentials never reach the access log."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from jimu.runtime.api.throttle import IP_LIMIT
from jimu.runtime.context import Jimu
from tests.conftest import spawn_jimu


def _serve(tmp_path: Path, **extra_env: str) -> tuple[object, str]:
    url = f"sqlite:///{tmp_path / 'jimu.db'}"
    jimu = Jimu.open(url)
    jimu.users.create("sales", "sales-password", ["sales"])
    jimu.close()
    env = {k: v for k, v in os.environ.items() if k != "JIMU_TRUSTED_PROXIES"}
    env.update({"JIMU_DATABASE_URL": url, "JIMU_SCHEDULER": "0", **extra_env})
    return spawn_jimu("serve", tmp_path, env, timeout=60)


def test_forwarded_for_from_loopback_does_not_escape_the_throttle(tmp_path):
    """A client on 127.0.0.1 inventing ``X-Forwarded-For`` per request still hits the
    per-address login throttle; the access log shows the SSE token redacted. Mutations
    caught: uvicorn's default ``forwarded_allow_ips=127.0.0.1`` (each forged address got a
    fresh window: the right password then answered 200), and logging the raw query."""
    process, base = _serve(tmp_path, JIMU_ACCESS_LOG="1")  # the access log is off by default
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for i in range(IP_LIMIT):
                r = client.post("/api/auth/token", json={"username": f"nobody{i}", "password": "x"},
                                headers={"X-Forwarded-For": f"203.0.113.{i}"})
                assert r.status_code == 401, (i, r.text)
            r = client.post("/api/auth/token", json={"username": "sales", "password": "sales-password"},
                            headers={"X-Forwarded-For": "198.51.100.7"})
            assert r.status_code == 429 and r.json()["code"] == "auth.throttled"
            secret = "sEcReTtOkEn123"
            assert client.get(f"/api/apps/none/events?access_token={secret}").status_code == 401
            assert client.get(f"/api/health?access_token={secret}").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "/api/apps/none/events?access_token=[redacted]" in log
    assert secret not in log


def test_trusted_proxy_is_believed_when_configured(tmp_path):
    """With ``JIMU_TRUSTED_PROXIES=127.0.0.1`` the forwarded address is the one counted:
    another client behind the proxy is not throttled by the first one's failures."""
    process, base = _serve(tmp_path, JIMU_TRUSTED_PROXIES="127.0.0.1")
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for i in range(IP_LIMIT):
                client.post("/api/auth/token", json={"username": f"nobody{i}", "password": "x"},
                            headers={"X-Forwarded-For": "203.0.113.1"})
            r = client.post("/api/auth/token", json={"username": "sales", "password": "sales-password"},
                            headers={"X-Forwarded-For": "203.0.113.1"})
            assert r.status_code == 429
            r = client.post("/api/auth/token", json={"username": "sales", "password": "sales-password"},
                            headers={"X-Forwarded-For": "198.51.100.7"})
            assert r.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)

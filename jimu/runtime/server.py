"""The ASGI entry point used by ``jimu serve`` (one or several uvicorn workers)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from starlette.applications import Starlette

from jimu.runtime.api import create_app
from jimu.runtime.context import Jimu

__all__ = ["app_factory", "free_port", "serve_in_thread", "proxy_options", "TRUSTED_PROXIES_ENV"]

TRUSTED_PROXIES_ENV = "JIMU_TRUSTED_PROXIES"


def proxy_options(trusted: str | None = None) -> dict[str, Any]:
    """uvicorn's proxy settings: ``X-Forwarded-For``/``-Proto`` are believed only from the
    addresses listed in ``trusted`` (else ``$JIMU_TRUSTED_PROXIES``; comma-separated IPs or
    networks, ``*`` for any). By default none: uvicorn itself would trust 127.0.0.1, so any
    local process could pick the address the login throttle counts."""
    value = (trusted if trusted is not None else os.environ.get(TRUSTED_PROXIES_ENV, "")).strip()
    if not value:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": value}


def app_factory() -> Starlette:
    """Build the app for ``JIMU_DATABASE_URL`` (default ./jimu.db); with JIMU_TEST_CLOCK=1
    the process clock becomes a ManualClock that POST /api/admin/clock can advance."""
    if os.environ.get("JIMU_TEST_CLOCK") == "1":
        from jimu.core.clock import ManualClock, set_clock

        set_clock(ManualClock())
    jimu = Jimu.open(os.environ.get("JIMU_DATABASE_URL"))
    return create_app(jimu, background=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: Any, *, timeout: float = 20.0, **config: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread on a free loopback port (tests, the
    market screenshot script): yields the base URL once the server has started (or
    ``timeout`` seconds passed); stops it on exit. ``config`` goes to ``uvicorn.Config``."""
    import uvicorn

    port = free_port()
    config.setdefault("log_level", "warning")
    for key, value in proxy_options().items():
        config.setdefault(key, value)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + timeout
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

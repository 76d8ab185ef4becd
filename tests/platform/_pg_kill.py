"""Closing a PostgreSQL backend from the server's side, as a restart does (the pool tests)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from jimu.platform.db import make_engine


def terminate_backend(url: str, pid: int) -> None:
    """``pg_terminate_backend(pid)`` over a connection of its own, then wait (up to 10 s)
    until the backend is gone from ``pg_stat_activity``."""
    admin = make_engine(url)
    try:
        with admin.begin() as c:
            assert c.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
        deadline = time.monotonic() + 10
        with admin.connect() as c:
            while c.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                            {"p": pid}).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.05)
                c.rollback()
    finally:
        admin.dispose()

"""The ASGI entry point used by ``jimu serve`` (one or several uvicorn workers)."""

from __future__ import annotations

import os

from starlette.applications import Starlette

from jimu.runtime.api import create_app
from jimu.runtime.context import Jimu

__all__ = ["app_factory"]


def app_factory() -> Starlette:
    """Build the app for ``JIMU_DATABASE_URL`` (default ./jimu.db); with JIMU_TEST_CLOCK=1
    the process clock becomes a ManualClock that POST /api/admin/clock can advance."""
    if os.environ.get("JIMU_TEST_CLOCK") == "1":
        from jimu.core.clock import ManualClock, set_clock

        set_clock(ManualClock())
    jimu = Jimu.open(os.environ.get("JIMU_DATABASE_URL"))
    return create_app(jimu, background=True)

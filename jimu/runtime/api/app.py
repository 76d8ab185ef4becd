"""The Starlette application: routes from every API module, problem+json everywhere."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from jimu import __version__
from jimu.core.modules import import_optional
from jimu.runtime.api.errors import exception_handlers
from jimu.runtime.api.router import MemoRouter
from jimu.runtime.api.security import SecurityHeaders, install_log_redaction
from jimu.runtime.context import Jimu

__all__ = ["create_app", "ROUTE_MODULES"]

# Each module exposes ``routes() -> list[BaseRoute]``; optional ones may not exist yet.
ROUTE_MODULES: list[str] = [
    "jimu.runtime.api.routes_auth",
    "jimu.runtime.api.routes_users",
    "jimu.runtime.api.routes_meta",
    "jimu.runtime.api.routes_data",
    "jimu.runtime.api.routes_market",
    "jimu.runtime.api.routes_ledger",
    "jimu.runtime.api.routes_stock",
    "jimu.runtime.api.routes_chat",
    "jimu.runtime.api.routes_import",
    "jimu.runtime.api.routes_movements",
    "jimu.runtime.api.routes_trace",
    "jimu.runtime.api.routes_money",
    "jimu.runtime.api.routes_stock_reports",
    "jimu.runtime.api.routes_intel",
    "jimu.runtime.api.routes_mrp",
    "jimu.runtime.api.routes_workflow",
    "jimu.runtime.api.routes_health",
    "jimu.runtime.api.routes_events",
    "jimu.runtime.api.routes_admin",
    "jimu.runtime.screens.routes",
    "jimu.designer.routes",
    "jimu.templates_market.routes",
]


async def health(request: Request) -> JSONResponse:
    jimu: Jimu = request.app.state.jimu
    with jimu.db.read() as conn:
        conn.exec_driver_sql("SELECT 1")
    return JSONResponse({"status": "ok", "version": __version__, "database": jimu.db.dialect})


def _module_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in ROUTE_MODULES:
        module = import_optional(name)
        if module is not None:
            routes.extend(module.routes())
    return routes


# Background loops started with the server: "module:function", each ``start(jimu) -> stop``.
BACKGROUND: list[str] = [
    "jimu.runtime.scheduler:start_scheduler",
    "jimu.runtime.events.dispatcher:start_dispatcher",
    "jimu.platform.table_stats:start_keeper",  # PostgreSQL without autovacuum: its analyze
]


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Run the scheduler, the event dispatcher and the statistics keeper
    (:mod:`jimu.platform.table_stats`) while the server serves (``background``
    setting; ``JIMU_SCHEDULER=0`` turns them off). Open SSE streams end on SIGINT/SIGTERM
    (uvicorn waits for open connections before this shutdown) and at the shutdown."""
    from jimu.runtime.events.hub import stop_hub
    from jimu.runtime.events.shutdown import streams_end_on_exit_signal

    install_log_redaction()  # uvicorn has configured its loggers by now
    stops = []
    if app.state.settings.get("background") and os.environ.get("JIMU_SCHEDULER", "1") != "0":
        for ref in BACKGROUND:
            module_name, func = ref.split(":")
            module = import_optional(module_name)
            if module is not None:
                stops.append(getattr(module, func)(app.state.jimu))
    try:
        with streams_end_on_exit_signal(app.state.jimu.db):
            yield
    finally:
        stop_hub(app.state.jimu.db)
        for stop in reversed(stops):
            stop()


def create_app(jimu: Jimu, **settings: Any) -> Starlette:
    """The ASGI app serving ``jimu``; ``background=True`` (the server) also runs the
    scheduler and the event dispatcher. Every response carries the security headers
    (``security.SecurityHeaders``: CSP, no framing, nosniff, Referrer-Policy)."""
    routes: list[BaseRoute] = [Route("/api/health", health)]
    routes += _module_routes()
    app = Starlette(routes=routes, exception_handlers=exception_handlers, lifespan=_lifespan,
                    middleware=[Middleware(SecurityHeaders)])
    app.router = MemoRouter(routes, lifespan=_lifespan)  # before the first request builds the stack
    app.state.jimu = jimu
    app.state.settings = settings
    return app

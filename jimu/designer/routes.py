"""The designer's routes (``routes()`` is collected by ``jimu.runtime.api.app``): the
pages under ``/designer``, its static files, and its JSON helpers under ``/api``."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from jimu.designer import api, pages

__all__ = ["routes", "STATIC_DIR", "VENDOR_DIR"]

STATIC_DIR = Path(__file__).parent / "static"
# htmx / Alpine / SortableJS are vendored once for the whole product by the screens layer.
VENDOR_DIR = Path(__file__).resolve().parents[1] / "runtime" / "static" / "vendor"


def routes() -> list[BaseRoute]:
    """Pages, static files and the designer API."""
    return [
        *api.routes(),
        Mount("/designer/static", app=StaticFiles(directory=str(STATIC_DIR)), name="designer_static"),
        Mount("/designer/vendor", app=StaticFiles(directory=str(VENDOR_DIR)), name="designer_vendor"),
        Route("/designer/login", pages.login_page, methods=["GET"]),
        Route("/designer/login", pages.login_post, methods=["POST"]),
        Route("/designer/logout", pages.logout, methods=["POST"]),
        Route("/designer/lang/{lang}", pages.set_lang, methods=["GET"]),
        Route("/designer", pages.app_list, methods=["GET"]),
        Route("/designer/{app}", pages.designer_page, methods=["GET"]),
    ]

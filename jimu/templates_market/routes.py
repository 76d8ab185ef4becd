"""HTTP routes of the market: ``GET /api/market/templates`` and ``GET /api/market/cbus``
(no login), ``POST /api/apps/{app}/install {cbu|template, params, sample_data?}`` (admin),
``GET /api/apps/{app}/cbus`` (admin), and the admin pages under ``/market``
(:mod:`jimu.templates_market.pages`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.runtime.health import register_scan_context_provider
from jimu.templates_market.installer import install_cbu, install_template
from jimu.templates_market.lifecycle import installed
from jimu.templates_market.market import list_cbus, list_templates

__all__ = ["routes"]


def _jimu(request: Request) -> Any:
    return request.app.state.jimu


def _admin(request: Request) -> Any:
    """The caller, who must be an admin (the API's auth helpers)."""
    from jimu.runtime.api.auth import require_admin

    return require_admin(request)


def _page(items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"data": items, "next_cursor": None})


async def market_templates(request: Request) -> Response:
    return _page(list_templates(_jimu(request)))


async def market_cbus(request: Request) -> Response:
    return _page(list_cbus(_jimu(request)))


async def _body(request: Request) -> dict[str, Any]:
    try:
        from jimu.runtime.api.util import read_json

        data: dict[str, Any] = await read_json(request, allowed=("cbu", "template", "params", "sample_data", "version"))
        return data
    except ImportError:  # pragma: no cover - the API utilities ship with the runtime
        body = await request.json()
        if not isinstance(body, dict):
            raise ValidationError("expected a JSON object") from None
        return body


async def install_route(request: Request) -> Response:
    actor = _admin(request)
    jimu = _jimu(request)
    app = request.path_params["app"]
    body = await _body(request)
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise ValidationError("params must be an object", errors=[FieldError("params", "type", "an object")])
    sample = bool(body.get("sample_data", False))
    author = getattr(actor, "username", None) or "admin"
    if body.get("template") and body.get("cbu"):
        raise ValidationError("give either cbu or template", errors=[FieldError("cbu", "exclusive", "not both")])
    if isinstance(body.get("template"), str):
        result = install_template(jimu, app, body["template"], params, sample, author=author)
    elif isinstance(body.get("cbu"), str):
        result = install_cbu(jimu, app, body["cbu"], params, version=body.get("version"), sample_data=sample,
                             author=author)
    else:
        raise ValidationError("cbu or template is required",
                              errors=[FieldError("cbu", "required", "a CBU name or a template id")])
    return JSONResponse(result.as_dict(), status_code=201 if result.installed else 200)


async def installed_route(request: Request) -> Response:
    _admin(request)
    return _page([u.as_dict() for u in installed(_jimu(request), request.path_params["app"])])


def routes() -> list[BaseRoute]:
    from jimu.templates_market import pages
    from jimu.templates_market.installer import load_library_actions

    load_library_actions()  # the trusted actions of installed units (e.g. MRP) survive a restart

    m = "/market/apps/{app}/cbus/{cbu}"
    return [
        Route("/market", pages.market_page, methods=["GET"]),
        Route("/market/templates/{template}/screenshots/{file}", pages.screenshot_file, methods=["GET"]),
        Route("/market/templates/{template}/install", pages.install_page, methods=["GET"]),
        Route("/market/templates/{template}/install", pages.install_submit, methods=["POST"]),
        Route("/market/apps/{app}", pages.app_units_page, methods=["GET"]),
        Route(m + "/upgrade", pages.upgrade_page, methods=["GET"]),
        Route(m + "/upgrade", pages.upgrade_submit, methods=["POST"]),
        Route(m + "/uninstall", pages.uninstall_page, methods=["GET"]),
        Route(m + "/uninstall", pages.uninstall_submit, methods=["POST"]),
        Route("/api/market/templates", market_templates, methods=["GET"]),
        Route("/api/market/cbus", market_cbus, methods=["GET"]),
        Route("/api/apps/{app}/install", install_route, methods=["POST"]),
        Route("/api/apps/{app}/cbus", installed_route, methods=["GET"]),
    ]


def _scan_context(jimu: Any, app: str) -> Any:
    """Health scans of the API see the installed units' manifests (domain tags, versions)."""
    from jimu.templates_market.health_context import scan_context_for

    return scan_context_for(jimu, app, published=True)


register_scan_context_provider(_scan_context)

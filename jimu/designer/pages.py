"""The designer's HTML pages: login, the app list (with "create app") and the designer
shell for one app. Pages carry no data of their own: the editors load everything from the
metadata API with the session cookie (CSRF header on writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from jimu.core.errors import JimuError
from jimu.designer.i18n import strings
from jimu.platform.permissions import is_admin
from jimu.runtime.api.auth import (
    csrf_token,
    jimu_of,
    login_form_token,
    login_session,
    logout_session,
    optional_actor,
    set_login_nonce,
)
from jimu.runtime.api.login_form import attempt_login
from jimu.runtime.api.security import safe_next, same_origin
from jimu.runtime.screens.escape import install as install_escapes
from jimu.runtime.screens.i18n import LANG_COOKIE, pick_lang

__all__ = ["login_page", "login_post", "logout", "app_list", "designer_page", "set_lang", "TEMPLATES"]

TEMPLATES = Path(__file__).parent / "templates"
_env = install_escapes(Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                                   trim_blocks=True, lstrip_blocks=True))


def _lang(request: Request) -> str:
    return pick_lang(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def _render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    s = strings(lang)
    html = _env.get_template(f"designer/{name}").render(
        lang=lang, s=s, i18n=s, csrf=csrf_token(request), path=request.url.path, **ctx)
    return HTMLResponse(html, status_code=status)


def _admin_or_redirect(request: Request) -> Any:
    """The admin actor, or a response (login redirect, 403 page)."""
    try:
        actor = optional_actor(request)
    except JimuError:
        actor = None
    if actor is None:
        target = quote(request.url.path)
        return RedirectResponse(f"/designer/login?next={target}", status_code=303)
    if not is_admin(actor.roles):
        return _render(request, "message.html", 403, message=strings(_lang(request))["need_admin"])
    return actor


def _login_form(request: Request, status: int, target: str, failed: bool, retry_after: object = None) -> Response:
    """The login page with its pre-session CSRF token (nonce cookie set when missing)."""
    token, fresh = login_form_token(request)
    response = _render(request, "login.html", status, next=target, failed=failed, login_token=token)
    set_login_nonce(response, fresh, request.url.scheme == "https")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def login_page(request: Request) -> Response:
    """GET /designer/login."""
    return _login_form(request, 200, safe_next(request.query_params.get("next"), "/designer", "/designer"), False)


async def login_post(request: Request) -> Response:
    """POST /designer/login (form): starts a session and goes to ``next`` (a designer
    path). Refused when posted from another site or without the form's token (login
    CSRF); throttled per address."""
    attempt = await attempt_login(request)
    target = safe_next(attempt.next, "/designer", "/designer")
    if attempt.user is None:
        return _login_form(request, attempt.status, target, True, attempt.retry_after)
    response = RedirectResponse(target, status_code=303)
    login_session(request, attempt.user, response)
    return response


async def logout(request: Request) -> Response:
    """POST /designer/logout (ignored when posted from another site)."""
    if not same_origin(request):
        return RedirectResponse("/designer", status_code=303)
    response = RedirectResponse("/designer/login", status_code=303)
    logout_session(request, response)
    return response


async def set_lang(request: Request) -> Response:
    """GET /designer/lang/{lang}?next=: remember the UI language in a cookie."""
    lang = "en" if request.path_params["lang"] == "en" else "zh"
    target = safe_next(request.query_params.get("next"), "/designer", "/designer")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=3600 * 24 * 365, samesite="lax")
    return response


async def app_list(request: Request) -> Response:
    """GET /designer: the apps, and a form to create one."""
    actor = _admin_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    apps = [i.as_dict() for i in jimu_of(request).store.list_apps()]
    return _render(request, "apps.html", apps=apps, user=actor.username)


async def designer_page(request: Request) -> Response:
    """GET /designer/{app}: the designer shell (the editors load through the meta API)."""
    actor = _admin_or_redirect(request)
    if isinstance(actor, Response):
        return actor
    app = str(request.path_params["app"])
    info = jimu_of(request).store.app_info(app).as_dict()
    return _render(request, "designer.html", app=info, user=actor.username,
                   app_json={"name": app, "label": info["label"]})

"""Login, logout, language switch, the app switcher, an app's home page and its
dashboard (ECharts: the app's own dashboard specs, see ``dash_spec``, and the built-in
charts of ``dash_builtin``)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from jimu.core.errors import JimuError
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import (
    jimu_of,
    login_form_token,
    login_session,
    logout_session,
    optional_actor,
    set_login_nonce,
)
from jimu.runtime.api.login_form import attempt_login
from jimu.runtime.api.security import safe_next, same_origin
from jimu.runtime.screens.base import STATIC_PREFIX, open_screen, redirect, screen
from jimu.runtime.screens.dash_builtin import (
    near_expiry_batches,
    orders_by_state,
    stock_by_warehouse,
    turnover_days,
)
from jimu.runtime.screens.dash_spec import spec_dashboard
from jimu.runtime.screens.env import template_env
from jimu.runtime.screens.i18n import LANG_COOKIE, LANGS, label_text, pick_lang, translate
from jimu.runtime.workflow import list_inbox

__all__ = ["root", "login_page", "login_submit", "logout", "set_lang", "apps_page", "home_page", "dashboard_page",
           "session_page"]


def _safe_next(raw: str | None) -> str:
    return safe_next(raw, "/apps")


async def session_page(request: Request) -> Response:
    """GET /app/{app}/_session: whether the page's session still holds (200), or has
    expired (401, the page then says so and links to the login page). A page whose live
    stream closed asks this before opening it again."""
    try:
        s = await open_screen(request, app=False)
    except JimuError as exc:
        return JSONResponse({"ok": False, "code": exc.code}, status_code=exc.status)
    return JSONResponse({"ok": True, "user": s.actor.username}, headers={"Cache-Control": "no-store"})


async def root(request: Request) -> Response:
    """GET /: the app switcher when signed in, else the login page."""
    try:
        actor = optional_actor(request)
    except JimuError:
        actor = None
    return redirect("/apps" if actor is not None else "/login")


def _login_html(request: Request, error: str | None = None, status: int = 200,
                retry_after: object = None, next_path: object = None) -> HTMLResponse:
    """The login page; its form carries the pre-session CSRF token (the nonce cookie is
    set here when the browser has none)."""
    lang = pick_lang(request.cookies.get(LANG_COOKIE))
    token, fresh = login_form_token(request)
    html = template_env(jimu_of(request).settings).get_template("login.html").render(
        t=lambda k, **kw: translate(k, lang, **kw), lang=lang, static=STATIC_PREFIX, error=error,
        next=_safe_next(next_path if next_path is not None else request.query_params.get("next")),
        user=None, menu=[], app=None, csrf="", login_token=token, current_url=request.url.path)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    response = HTMLResponse(html, status_code=status, headers=headers)
    set_login_nonce(response, fresh, request.url.scheme == "https")
    return response


async def login_page(request: Request) -> Response:
    """GET /login."""
    return _login_html(request)


async def login_submit(request: Request) -> Response:
    """POST /login (username, password, next, csrf_token): session cookie + CSRF cookie,
    then redirect to ``next`` (a same-site path). Refused (403) when posted from another
    site or without the login form's token (login CSRF); throttled per address like the
    API's login."""
    attempt = await attempt_login(request)
    if attempt.user is None:
        lang = pick_lang(request.cookies.get(LANG_COOKIE))
        if attempt.reason == "throttled":
            message = translate("login_locked", lang, s=attempt.retry_after)
        else:
            message = translate("login_cross_site" if attempt.reason == "cross_site" else "login_failed", lang)
        return _login_html(request, message, attempt.status, retry_after=attempt.retry_after, next_path=attempt.next)
    response = RedirectResponse(_safe_next(attempt.next or ""), status_code=303)
    login_session(request, attempt.user, response)
    return response


async def logout(request: Request) -> Response:
    """GET|POST /logout: ends the session server-side and clears the cookies. A logout
    started from another site (a link or form elsewhere) is ignored: back to the apps."""
    if not same_origin(request):
        return RedirectResponse("/apps", status_code=303)
    response = RedirectResponse("/login", status_code=303)
    logout_session(request, response)
    return response


async def set_lang(request: Request) -> Response:
    """GET /lang/{code}?next=: remember the screen language in a cookie."""
    code = str(request.path_params["code"])
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


@screen
async def apps_page(request: Request) -> Response:
    """GET /apps: the published apps the user holds a role in."""
    s = await open_screen(request, app=False)
    apps = []
    for info in s.jimu.store.list_apps():
        name = info["name"] if isinstance(info, dict) else getattr(info, "name", str(info))
        try:
            policy = AccessPolicy.for_actor(s.jimu, name, s.actor)
        except JimuError:
            continue
        if policy.visible_entities():
            apps.append({"name": name, "label": s.label(policy.rt.spec.label, name),
                         "entities": len(policy.visible_entities())})
    if len(apps) == 1 and request.query_params.get("stay") is None:
        return redirect(f"/app/{apps[0]['name']}/")
    return s.render("apps.html", apps=apps)


@screen
async def home_page(request: Request) -> Response:
    """GET /app/{app}/: the entity menu and the caller's inbox."""
    s = await open_screen(request)
    with s.jimu.db.read() as c:
        entries = list_inbox(c, s.app, s.actor.username or "", limit=10)
    assert s.policy is not None
    chat = s.policy.can("item", "read") and s.policy.can("sales_order", "create")
    importer = any(s.policy.parent_link(e.name) is None and s.policy.can(e.name, "create")
                   for e in s.policy.visible_entities())
    return s.render("home.html", inbox=entries, chat_order=chat, importer=importer)


@screen
async def dashboard_page(request: Request) -> Response:
    """GET /app/{app}/dashboard[?d=NAME]: one of the app's dashboard specs (the first by
    default; the others are tabs) above the built-in charts."""
    s = await open_screen(request)
    assert s.policy is not None
    dashes = s.policy.rt.spec.dashboards
    wanted = request.query_params.get("d")
    spec_dash = next((d for d in dashes if d.name == wanted), dashes[0] if dashes else None)
    return s.render("dashboard.html", stock=stock_by_warehouse(s), turnover=turnover_days(s),
                    orders=orders_by_state(s), expiry=near_expiry_batches(s),
                    charts=spec_dashboard(s.policy, spec_dash, s.lang) if spec_dash else [],
                    dashes=[{"name": d.name, "label": label_text(d.label, s.lang, d.name),
                             "current": d is spec_dash} for d in dashes],
                    dash_label=label_text(spec_dash.label, s.lang) if spec_dash else s.t("dashboard"),
                    login_next=quote(request.url.path))

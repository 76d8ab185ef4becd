"""What every screen handler shares: the signed-in user, the language, the CSRF token,
the caller's AccessPolicy and page rendering through the override chain."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from jimu.core.errors import JimuError, NotFound, PermissionDenied, Unauthenticated
from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import csrf_token, current_actor, jimu_of, published_version_seen
from jimu.runtime.context import Jimu
from jimu.runtime.events.tables import events
from jimu.runtime.screens.env import template_env, template_names
from jimu.runtime.screens.i18n import LANG_COOKIE, label_text, pick_lang, translate

__all__ = ["Screen", "open_screen", "screen", "redirect", "STATIC_PREFIX"]

log = logging.getLogger(__name__)
STATIC_PREFIX = "/static/jimu"
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Screen:
    """One screen request: who, in which language, on which app."""

    request: Request
    jimu: Jimu
    actor: Actor
    lang: str
    csrf: str
    policy: AccessPolicy | None = None
    form: FormData | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def app(self) -> str:
        assert self.policy is not None
        return self.policy.app

    def t(self, key: str, **kw: Any) -> str:
        """A UI string in the screen's language."""
        return translate(key, self.lang, **kw)

    def label(self, label: Any, fallback: str = "") -> str:
        """A spec label in the screen's language."""
        return label_text(label, self.lang, fallback)

    def live_since(self) -> str:
        """The app's newest event id as the page is rendered. The page's ``EventSource``
        authenticates with the session cookie (no bearer token in the page, nothing to
        expire before the session does) and resumes from this id, so what commits between
        rendering and the stream opening, or while it reconnects, is replayed, not lost."""
        try:
            with self.jimu.db.read() as c:
                seq = c.execute(sa.select(sa.func.max(events.c.seq)).where(events.c.app == self.app)).scalar()
        except sa.exc.SQLAlchemyError:  # no outbox (events not installed): live only
            return ""
        return str(int(seq or 0))

    def context(self, **ctx: Any) -> dict[str, Any]:
        """The variables every page sees."""
        policy = self.policy
        menu: list[dict[str, Any]] = []
        app_label = ""
        if policy is not None:
            app_label = self.label(policy.rt.spec.label, policy.app)
            children = {f.target for e in policy.rt.spec.entities for f in e.active_fields
                        if f.type == "child_table" and f.target}
            menu = [{"name": e.name, "label": self.label(e.label, e.name)}
                    for e in policy.visible_entities() if e.name not in children]
        base = {"s": self, "t": self.t, "L": self.label, "lang": self.lang, "csrf": self.csrf,
                "user": self.actor, "static": STATIC_PREFIX, "app": policy.app if policy else None,
                "app_label": app_label, "menu": menu, "path": self.request.url.path,
                "current_url": str(self.request.url.path) + (f"?{self.request.url.query}" if self.request.url.query else "")}
        base.update(ctx)
        return base

    def render(self, page: str, status: int = 200, *, on: str | None = None, **ctx: Any) -> HTMLResponse:
        """Render ``page`` through the app → CBU → built-in chain (``on``: the entity whose
        own template, e.g. ``sales_order/detail.html``, wins over the generic one)."""
        html = self.render_text(page, on=on, **ctx)
        return HTMLResponse(html, status_code=status)

    def render_text(self, page: str, *, on: str | None = None, **ctx: Any) -> str:
        rt = self.policy.rt if self.policy is not None else None
        env = template_env(self.jimu.settings, rt.name if rt else None, rt.version if rt else 0,
                           rt.spec.owners if rt else None)
        return env.select_template(template_names(page, on)).render(self.context(**ctx))


def redirect(url: str) -> RedirectResponse:
    """A 303 redirect (also understood by htmx through ``HX-Redirect``)."""
    response = RedirectResponse(url, status_code=303)
    response.headers["HX-Redirect"] = url
    return response


async def open_screen(request: Request, *, app: bool = True, db: Connection | None = None) -> Screen:
    """The screen of ``request``: reads a posted form first (its ``csrf_token`` field
    satisfies the CSRF check), then authenticates the session (401 → login page). With
    ``db`` the session's user and the app's published version are read in one query on
    that connection."""
    form: FormData | None = None
    if request.method == "POST" and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        token = form.get("csrf_token")
        if isinstance(token, str):
            request.state.csrf_form_token = token
    name = str(request.path_params["app"]) if app else None
    actor = current_actor(request, db=db, app=name)
    jimu = jimu_of(request)
    lang = pick_lang(request.cookies.get(LANG_COOKIE))
    policy = None
    if name is not None:
        policy = AccessPolicy.for_actor(jimu, name, actor, conn=db, version=published_version_seen(request, name))
    return Screen(request, jimu, actor, lang, csrf_token(request), policy, form)


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    lang = pick_lang(request.cookies.get(LANG_COOKIE))
    key = {404: "not_found", 403: "forbidden"}.get(status, "error")
    env = template_env(jimu_of(request).settings)
    html = env.get_template("error.html").render(
        t=lambda k, **kw: translate(k, lang, **kw), lang=lang, status=status, title=translate(key, lang),
        message=message, static=STATIC_PREFIX, user=None, menu=[], app=None)
    return HTMLResponse(html, status_code=status)


def screen(handler: Handler) -> Handler:
    """Wrap a screen handler: no session → the login page; 404/403 → an HTML error page."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except Unauthenticated:
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return redirect(f"/login?next={quote(target)}")
        except (NotFound, PermissionDenied) as exc:
            return _error_page(request, exc.status, exc.message)
        except JimuError as exc:
            log.info("screen error %s: %s", request.url.path, exc)
            return _error_page(request, exc.status, exc.message)

    return wrapper

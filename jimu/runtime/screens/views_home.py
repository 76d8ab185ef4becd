"""Login, logout, language switch, the app switcher, an app's home page and its
dashboard (ECharts: stock by warehouse from the ledger balances, orders by state,
near-expiry batches when the app keeps batches)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from jimu.core.clock import today
from jimu.core.errors import JimuError, TooManyRequests
from jimu.platform.ledger import balances
from jimu.platform.schema import column_name
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import jimu_of, login, login_session, logout_session, optional_actor
from jimu.runtime.screens.base import STATIC_PREFIX, Screen, open_screen, redirect, screen
from jimu.runtime.screens.env import template_env
from jimu.runtime.screens.fields import _titles
from jimu.runtime.screens.i18n import LANG_COOKIE, LANGS, label_text, pick_lang, translate
from jimu.runtime.workflow import list_inbox

__all__ = ["root", "login_page", "login_submit", "logout", "set_lang", "apps_page", "home_page", "dashboard_page",
           "stock_by_warehouse", "orders_by_state"]


def _safe_next(raw: str | None) -> str:
    return raw if raw and raw.startswith("/") and not raw.startswith("//") else "/apps"


async def root(request: Request) -> Response:
    """GET /: the app switcher when signed in, else the login page."""
    try:
        actor = optional_actor(request)
    except JimuError:
        actor = None
    return redirect("/apps" if actor is not None else "/login")


def _login_html(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    lang = pick_lang(request.cookies.get(LANG_COOKIE))
    html = template_env(jimu_of(request).settings).get_template("login.html").render(
        t=lambda k, **kw: translate(k, lang, **kw), lang=lang, static=STATIC_PREFIX, error=error,
        next=_safe_next(request.query_params.get("next")), user=None, menu=[], app=None, csrf="",
        current_url=request.url.path)
    return HTMLResponse(html, status_code=status)


async def login_page(request: Request) -> Response:
    """GET /login."""
    return _login_html(request)


async def login_submit(request: Request) -> Response:
    """POST /login (username, password, next): session cookie + CSRF cookie, then redirect."""
    form = await request.form()
    lang = pick_lang(request.cookies.get(LANG_COOKIE))
    try:
        user = login(jimu_of(request), str(form.get("username") or ""), str(form.get("password") or ""))
    except TooManyRequests as exc:
        return _login_html(request, translate("login_locked", lang, s=exc.extra.get("retry_after", 60)), 429)
    except JimuError:
        return _login_html(request, translate("login_failed", lang), 401)
    response = RedirectResponse(_safe_next(str(form.get("next") or "")), status_code=303)
    login_session(request, user, response)
    return response


async def logout(request: Request) -> Response:
    """GET|POST /logout."""
    response = RedirectResponse("/login", status_code=303)
    logout_session(response)
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
    return s.render("home.html", inbox=entries)


def _sum(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows:
        for bucket in ("on_hand", "reserved", "available"):
            out[str(r.get(key))][bucket] += Decimal(str(r.get(bucket) or 0))
    return out


def stock_by_warehouse(s: Screen) -> dict[str, Any] | None:
    """Balances of the first ledger with item and warehouse dimensions, per warehouse and
    per item × warehouse, limited to what the caller may read."""
    policy = s.policy
    assert policy is not None
    for lg in policy.rt.spec.ledgers:
        dims = {d.name: d.entity for d in lg.dimensions}
        wh, item = dims.get("warehouse"), dims.get("item")
        if not wh or not item or not policy.can(wh, "read") or not policy.can(item, "read"):
            continue
        with s.jimu.db.read() as c:
            rows = balances(c, s.app, lg)
        wh_titles = _titles(policy, wh, {int(r["warehouse"]) for r in rows if str(r.get("warehouse")).isdigit()})
        it_titles = _titles(policy, item, {int(r["item"]) for r in rows if str(r.get("item")).isdigit()})
        rows = [r for r in rows if str(r.get("warehouse")).isdigit() and int(r["warehouse"]) in wh_titles
                and str(r.get("item")).isdigit() and int(r["item"]) in it_titles]
        per_wh = _sum(rows, "warehouse")
        names = [wh_titles[int(k)] for k in per_wh]
        chart = {"tooltip": {}, "legend": {"top": 0}, "grid": {"left": 48, "right": 16, "top": 36, "bottom": 32},
                 "xAxis": {"type": "category", "data": names}, "yAxis": {"type": "value"},
                 "series": [{"name": s.t(b), "type": "bar", "data": [float(v[b]) for v in per_wh.values()]}
                            for b in ("on_hand", "reserved", "available")]}
        table = [{"item": it_titles[int(r["item"])], "warehouse": wh_titles[int(r["warehouse"])],
                  "on_hand": _num(r["on_hand"]), "reserved": _num(r["reserved"]), "available": _num(r["available"])}
                 for r in rows[:200]]
        return {"label": s.label(lg.label, lg.name), "chart": json.dumps(chart, ensure_ascii=False), "rows": table}
    return None


def _num(value: Any) -> str:
    text = f"{Decimal(str(value or 0)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def orders_by_state(s: Screen, limit: int = 3) -> list[dict[str, Any]]:
    """Record counts per workflow state for the caller's readable document entities."""
    policy = s.policy
    assert policy is not None
    out = []
    wfs = sorted(policy.rt.spec.workflows, key=lambda w: ("order" not in w.entity, w.entity))
    for wf in wfs:
        ent = policy.rt.spec.entity(wf.entity)
        f = ent.field(wf.state_field) if ent else None
        if ent is None or f is None or not policy.can(ent.name, "read"):
            continue
        table = policy.rt.tables(ent.name)
        col = table.c[column_name(f)]
        stmt = sa.select(col, sa.func.count()).group_by(col)
        clause = policy.row_clause(ent.name)
        if clause is not None:
            stmt = stmt.where(clause)
        with s.jimu.db.read() as c:
            counts = {str(k): int(n) for k, n in c.execute(stmt)}
        data = [{"name": s.label(st.label, st.name), "value": counts.get(st.name, 0)} for st in wf.states
                if counts.get(st.name)]
        chart = {"tooltip": {"trigger": "item"}, "legend": {"bottom": 0},
                 "series": [{"type": "pie", "radius": ["38%", "68%"], "data": data,
                             "label": {"formatter": "{b}: {c}"}}]}
        out.append({"label": s.label(ent.label, ent.name), "entity": ent.name, "total": sum(counts.values()),
                    "chart": json.dumps(chart, ensure_ascii=False)})
        if len(out) >= limit:
            break
    return out


def near_expiry_batches(s: Screen, days: int = 30) -> list[dict[str, Any]] | None:
    """Batches expiring within ``days`` (food template: a ``batch`` entity with ``expiry_date``)."""
    policy = s.policy
    assert policy is not None
    ent = policy.rt.spec.entity("batch")
    if ent is None or ent.field("expiry_date") is None or not policy.can("batch", "read"):
        return None
    recs = s.jimu.records.list(s.app, "batch", where=policy.row_clause("batch"), sort="expiry_date", limit=500,
                               actor=s.actor).data
    day: date = today()
    out = []
    for r in recs:
        exp = r.get("expiry_date")
        if isinstance(exp, date) and (exp - day).days <= days:
            out.append({"id": r["id"], "batch_no": r.get("batch_no") or f"#{r['id']}", "expiry": exp.isoformat(),
                        "days_left": (exp - day).days})
    return out


@screen
async def dashboard_page(request: Request) -> Response:
    """GET /app/{app}/dashboard."""
    s = await open_screen(request)
    assert s.policy is not None
    spec_dash = s.policy.rt.spec.dashboards[0] if s.policy.rt.spec.dashboards else None
    return s.render("dashboard.html", stock=stock_by_warehouse(s), orders=orders_by_state(s),
                    expiry=near_expiry_batches(s),
                    dash_label=label_text(spec_dash.label, s.lang) if spec_dash else s.t("dashboard"),
                    login_next=quote(request.url.path))

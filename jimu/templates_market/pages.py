"""The market pages for operations staff (admins only), server-rendered with the
screens' base layout, session auth, CSRF form token and language cookie::

    GET       /market                                     templates and capability units
    GET       /market/templates/{template}/screenshots/{file}  a listed screenshot (no login)
    GET|POST  /market/templates/{template}/install        params form; synchronous install
    GET       /market/apps/{app}                          the app's installed units and versions
    GET|POST  /market/apps/{app}/cbus/{cbu}/upgrade       dry-run diff + conflicts (mine/theirs); apply
    GET|POST  /market/apps/{app}/cbus/{cbu}/uninstall     archive notice + confirm; uninstall

A POST sent by htmx (``HX-Request``) gets the result fragment only; a plain POST gets
the whole page. Page templates live in ``templates/_pages/`` (no ``template.yaml``, so
the catalog ignores the folder) and extend the screens' ``base.html``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from jimu.core.errors import JimuError, PermissionDenied
from jimu.platform.permissions.model import is_admin
from jimu.runtime.screens.base import Screen, open_screen, screen
from jimu.runtime.screens.env import BUILTIN_DIR
from jimu.runtime.screens.escape import install as install_escapes
from jimu.templates_market.catalog import catalog_for
from jimu.templates_market.i18n import translate
from jimu.templates_market.installer import install_template
from jimu.templates_market.lifecycle import installed, uninstall_cbu, upgrade_cbu
from jimu.templates_market.market import list_cbus, list_templates

__all__ = ["PAGES_DIR", "market_page", "screenshot_file", "install_page", "install_submit", "app_units_page", "upgrade_page",
           "upgrade_submit", "uninstall_page", "uninstall_submit"]

PAGES_DIR = Path(__file__).resolve().parent / "templates" / "_pages"
_env: Environment | None = None


def _environment() -> Environment:
    global _env
    if _env is None:
        loaders: list[BaseLoader] = [FileSystemLoader(str(PAGES_DIR)), FileSystemLoader(str(BUILTIN_DIR)),
                                     PrefixLoader({"builtin": FileSystemLoader(str(BUILTIN_DIR))})]
        _env = install_escapes(Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(default=True),
                                           trim_blocks=True, lstrip_blocks=True))
    return _env


async def _admin_screen(request: Request) -> Screen:
    """The screen of an admin (login page without a session, 403 page for others)."""
    s = await open_screen(request, app=False)
    if not is_admin(s.actor.roles) or (s.actor.attrs and s.actor.attrs.get("api_key_app")):
        raise PermissionDenied(translate("admin_only", s.lang), code="forbidden.admin")
    return s


def _t(s: Screen) -> Any:
    return lambda key, **kw: translate(key, s.lang, **kw)


def _render(s: Screen, page: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    context = s.context(**ctx)
    context["t"] = _t(s)
    return HTMLResponse(_environment().get_template(page).render(context), status_code=status)


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _app_names(s: Screen) -> list[str]:
    return [a.name for a in s.jimu.store.list_apps()]


def _form(s: Screen) -> dict[str, str]:
    return {k: str(v) for k, v in (s.form or {}).items() if isinstance(v, str)}


# --- browse -----------------------------------------------------------------------------

@screen
async def market_page(request: Request) -> Response:
    """GET /market: the templates (title, description, industry, units, screenshots) and the units."""
    s = await _admin_screen(request)
    templates = list_templates(s.jimu)
    cbus = {c["name"]: c for c in list_cbus(s.jimu)}
    return _render(s, "market.html", templates=templates, cbus=list(cbus.values()), cbu_map=cbus,
                   apps=_app_names(s))


# --- screenshots ------------------------------------------------------------------------

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


async def screenshot_file(request: Request) -> Response:
    """GET /market/templates/{template}/screenshots/{file}: a picture the template's
    manifest lists (by its file name), no login; anything else is a plain 404."""
    from starlette.concurrency import run_in_threadpool

    catalog = catalog_for(request.app.state.jimu)
    tid, name = str(request.path_params["template"]), str(request.path_params["file"])
    tpl = catalog.template(tid) if catalog.has_template(tid) else None
    listed = [s for s in (tpl.manifest.screenshots if tpl else []) if s.rsplit("/", 1)[-1] == name]
    media = _IMAGE_TYPES.get(Path(name).suffix.lower())
    if tpl is None or not listed or media is None:
        return Response("not found", status_code=404, media_type="text/plain")
    root = tpl.path.resolve()
    path = (root / listed[0]).resolve()
    if not path.is_relative_to(root) or not await run_in_threadpool(path.is_file):
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=86400",
                                                         "X-Content-Type-Options": "nosniff"})


# --- install ----------------------------------------------------------------------------

def _template(s: Screen, template_id: str) -> dict[str, Any]:
    tpl = catalog_for(s.jimu).template(template_id)
    return next(t for t in list_templates(s.jimu) if t["id"] == tpl.id)


def _param_rows(tpl: dict[str, Any], values: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for name, p in tpl["params"].items():
        default = p.get("default")
        if values is not None and f"p_{name}" in values:
            value: Any = values[f"p_{name}"]
        elif p["type"] == "boolean":
            value = "true" if default else "false"
        else:
            value = "" if default is None else str(default)
        rows.append({"name": name, "type": p["type"], "default": default, "label": p.get("label") or {},
                     "choices": p.get("choices") or [], "value": value})
    return rows


@screen
async def install_page(request: Request) -> Response:
    """GET /market/templates/{template}/install: app name, params (types and defaults), sample data."""
    s = await _admin_screen(request)
    tpl = _template(s, str(request.path_params["template"]))
    return _render(s, "install.html", tpl=tpl, params=_param_rows(tpl), apps=_app_names(s),
                   target=request.query_params.get("app", ""), sample_data=True, result=None)


@screen
async def install_submit(request: Request) -> Response:
    """POST /market/templates/{template}/install: install synchronously, then the result."""
    s = await _admin_screen(request)
    tpl = _template(s, str(request.path_params["template"]))
    data = _form(s)
    target = data.get("app", "").strip()
    params = {name: data[f"p_{name}"] for name in tpl["params"] if data.get(f"p_{name}", "") != ""}
    sample = data.get("sample_data") in ("1", "true", "on")
    result: dict[str, Any]
    try:
        if not target:
            raise JimuError(translate("app_name_label", s.lang) + " · " + translate("required", s.lang))
        done = install_template(s.jimu, target, tpl["id"], params, sample, author=s.actor.username or "admin")
        rows = ", ".join(f"{k} {v}" for k, v in done.sample_rows.items() if v)
        result = {"ok": True, "app": target, "installed": done.installed,
                  "message": translate("install_ok" if done.installed else "install_nothing", s.lang, app=target,
                                       n=len(done.installed), version=done.version, s=round(done.seconds, 1)),
                  "rows": translate("sample_rows", s.lang, rows=rows) if rows else ""}
        status = 200
    except JimuError as exc:
        result = {"ok": False, "app": target, "message": translate("install_failed", s.lang, message=exc.message)}
        status = 200 if _htmx(request) else 422
    if _htmx(request):
        return _render(s, "_install_result.html", status, result=result)
    return _render(s, "install.html", status, tpl=tpl, params=_param_rows(tpl, data), apps=_app_names(s),
                   target=target, sample_data=sample, result=result)


# --- installed units ----------------------------------------------------------------------

@screen
async def app_units_page(request: Request) -> Response:
    """GET /market/apps/{app}: the units installed in the app, their versions and actions."""
    s = await _admin_screen(request)
    app = str(request.path_params["app"])
    if not s.jimu.store.exists(app):
        from jimu.core.errors import NotFound

        raise NotFound(f"no app '{app}'", code="app.not_found")
    catalog = catalog_for(s.jimu)
    units = []
    for u in installed(s.jimu, app):
        latest = catalog.versions(u.cbu)[0].version if catalog.has_cbu(u.cbu) else u.version
        title = catalog.versions(u.cbu)[0].manifest.title.model_dump() if catalog.has_cbu(u.cbu) else {}
        units.append({**u.as_dict(), "title": title, "latest": latest, "upgradable": latest != u.version})
    return _render(s, "app_units.html", market_app=app, units=units)


# --- upgrade ------------------------------------------------------------------------------

def _upgrade_view(res: Any, lang: str) -> dict[str, Any]:
    return {"from_version": res.from_version, "to_version": res.to_version, "applied": res.applied,
            "changes": [{"key": c.key, "action": c.action, "reason": c.reason} for c in res.plan.changes],
            "conflicts": [{"path": c["path"], "base": _text(c["base"]), "mine": _text(c["mine"]),
                           "theirs": _text(c["theirs"])} for c in (x.as_dict() for x in res.conflicts)]}


@screen
async def upgrade_page(request: Request) -> Response:
    """GET /market/apps/{app}/cbus/{cbu}/upgrade: the dry run (diff and conflicts)."""
    s = await _admin_screen(request)
    app, cbu = str(request.path_params["app"]), str(request.path_params["cbu"])
    res = upgrade_cbu(s.jimu, app, cbu, dry_run=True)
    return _render(s, "upgrade.html", market_app=app, cbu=cbu, plan=_upgrade_view(res, s.lang), result=None)


@screen
async def upgrade_submit(request: Request) -> Response:
    """POST /market/apps/{app}/cbus/{cbu}/upgrade: apply with the chosen resolutions."""
    s = await _admin_screen(request)
    app, cbu = str(request.path_params["app"]), str(request.path_params["cbu"])
    data = _form(s)
    resolutions: dict[str, Any] = {k[4:]: v for k, v in data.items() if k.startswith("res:") and v in ("mine", "theirs")}
    try:
        res = upgrade_cbu(s.jimu, app, cbu, resolutions=resolutions, author=s.actor.username or "admin")
    except JimuError as exc:
        dry = upgrade_cbu(s.jimu, app, cbu, dry_run=True)
        return _render(s, "upgrade.html", 422, market_app=app, cbu=cbu, plan=_upgrade_view(dry, s.lang),
                       result={"ok": False, "message": translate("upgrade_failed", s.lang, message=exc.message)})
    if not res.applied:
        return _render(s, "upgrade.html", 422, market_app=app, cbu=cbu, plan=_upgrade_view(res, s.lang),
                       result={"ok": False, "message": translate("upgrade_unresolved", s.lang)}, chosen=resolutions)
    return _render(s, "upgrade.html", market_app=app, cbu=cbu, plan=_upgrade_view(res, s.lang),
                   result={"ok": True, "message": translate("upgrade_ok", s.lang, cbu=cbu, version=res.to_version,
                                                            pub=res.version)})


# --- uninstall ----------------------------------------------------------------------------

def _uninstall_preview(s: Screen, app: str, cbu: str) -> dict[str, Any]:
    """What uninstalling would archive, remove and keep (as :func:`uninstall_cbu` decides)."""
    units = {u.cbu: u for u in installed(s.jimu, app)}
    if cbu not in units:
        from jimu.core.errors import NotFound

        raise NotFound(f"'{cbu}' is not installed in app '{app}'", code="cbu.not_installed")
    catalog = catalog_for(s.jimu)
    shared = {k for name, u in units.items() if name != cbu for k in u.contribution}
    dependents = []
    for name, unit in units.items():
        pkg = catalog.exact(name, unit.version) if name != cbu else None
        if pkg is not None and any(d.name == cbu for d in pkg.manifest.depends):
            dependents.append(name)
    archived, removed, kept = [], [], []
    for key in units[cbu].contribution:
        if key in shared:
            kept.append(key)
        elif key.startswith(("entity:", "field:")):
            archived.append(key)
        else:
            removed.append(key)
    return {"version": units[cbu].version, "archived": archived, "removed": removed, "kept": kept,
            "entities": [k.split(":", 1)[1] for k in archived if k.startswith("entity:")],
            "dependents": sorted(dependents)}


@screen
async def uninstall_page(request: Request) -> Response:
    """GET /market/apps/{app}/cbus/{cbu}/uninstall: the archive notice and the confirm step."""
    s = await _admin_screen(request)
    app, cbu = str(request.path_params["app"]), str(request.path_params["cbu"])
    return _render(s, "uninstall.html", market_app=app, cbu=cbu, preview=_uninstall_preview(s, app, cbu), result=None)


@screen
async def uninstall_submit(request: Request) -> Response:
    """POST /market/apps/{app}/cbus/{cbu}/uninstall (``confirm=yes``): uninstall."""
    s = await _admin_screen(request)
    app, cbu = str(request.path_params["app"]), str(request.path_params["cbu"])
    data = _form(s)
    preview = _uninstall_preview(s, app, cbu)
    if data.get("confirm") != "yes":
        return _render(s, "uninstall.html", 422, market_app=app, cbu=cbu, preview=preview,
                       result={"ok": False, "message": translate("must_confirm", s.lang)})
    try:
        res = uninstall_cbu(s.jimu, app, cbu, author=s.actor.username or "admin")
    except JimuError as exc:
        return _render(s, "uninstall.html", 409, market_app=app, cbu=cbu, preview=preview,
                       result={"ok": False, "message": translate("uninstall_failed", s.lang, message=exc.message)})
    return _render(s, "uninstall.html", market_app=app, cbu=cbu, preview=preview, done=True,
                   result={"ok": True, "message": translate("uninstall_ok", s.lang, cbu=cbu, a=len(res.archived),
                                                            r=len(res.removed))})

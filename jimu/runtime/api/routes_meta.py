"""Apps and their metadata: draft elements, fields (archive/restore, guarded retype),
publish with diff and health summary, versions and rollback. Admin role only, except the
app list."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, NotFound, ValidationError
from jimu.platform.hooks import collect
from jimu.platform.schema.evolve import assign_physical_names, plan_schema, preview_changes
from jimu.platform.specs import AppSpec
from jimu.runtime.api.auth import current_actor, jimu_of, require_admin
from jimu.runtime.api.util import check_keys, json_response, page, query_flag, read_json

__all__ = ["routes", "PLURAL_KINDS", "install_template"]

log = logging.getLogger("jimu.api.meta")
PLURAL_KINDS = {"workflows": "workflow", "roles": "role", "views": "view", "forms": "form",
                "automations": "automation", "ledgers": "ledger", "dashboards": "dashboard"}


def _app(request: Request) -> str:
    name = str(request.path_params["app"])
    jimu_of(request).store.app_info(name)  # 404 when unknown
    return name


def _dump(element: Any) -> Any:
    return element.dump() if hasattr(element, "dump") else element


def _installer() -> Any:
    """The template installer a higher layer registered (``jimu_template_installers``),
    or None when no market is installed."""
    found = collect("jimu_template_installers")
    return found[0] if found else None


def install_template(jimu: Any, app: str, template: str, params: dict[str, Any], actor: Any) -> Any:
    """Install ``template`` into ``app`` through the registered template installer (422
    when no market is installed or the template is not available)."""
    installer = _installer()
    if installer is None:
        raise ValidationError(f"unknown template '{template}'", code="template.unknown",
                              errors=[FieldError("template", "template.unknown", "unknown template")])
    return installer(jimu, app, template, params, actor)


async def list_apps(request: Request) -> Response:
    """GET /api/apps: every app (an API key sees its own)."""
    actor = current_actor(request)
    scope = actor.attrs.get("api_key_app") if actor.attrs else None
    infos = [i.as_dict() for i in jimu_of(request).store.list_apps() if scope is None or i.name == scope]
    return page(infos)


async def create_app_route(request: Request) -> Response:
    """POST /api/apps {name, label, template?, params?} -> 201 app."""
    actor = require_admin(request)
    body = await read_json(request, allowed=("name", "label", "template", "params"))
    jimu = jimu_of(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise ValidationError("name is required", errors=[FieldError("name", "required", "an app name")])
    template = body.get("template")
    params = body.get("params") or {}
    if template is not None and (not isinstance(template, str) or not isinstance(params, dict)):
        raise ValidationError("template must be a template id", errors=[FieldError("template", "type", "text")])
    if template is not None and _installer() is None:
        install_template(jimu, name, template, params, actor)  # raises the 422 before the app exists
    info = jimu.store.create_app(name, body.get("label"), author=actor.username, template=template)
    if template is not None:
        install_template(jimu, name, template, params, actor)
        info = jimu.store.app_info(name)
    return json_response(info.as_dict(), 201)


async def get_meta(request: Request) -> Response:
    """GET /api/apps/{app}/meta: the draft and the published spec."""
    require_admin(request)
    app = _app(request)
    store = jimu_of(request).store
    published = store.published(app)
    return json_response({**store.app_info(app).as_dict(), "draft": store.draft(app).dump(),
                          "published": published.dump() if published else None})


def _element_names(request: Request) -> tuple[str, str]:
    kind = request.path_params.get("kind", "entities")
    if kind == "entities":
        return "entity", str(request.path_params["name"])
    if kind not in PLURAL_KINDS:
        raise NotFound(f"unknown metadata kind '{kind}'", code="kind.unknown")
    return PLURAL_KINDS[kind], str(request.path_params["name"])


async def element(request: Request) -> Response:
    """GET|PUT|DELETE /api/apps/{app}/meta/{kind}/{name} (kind: entities, workflows, ...)."""
    actor = require_admin(request)
    app = _app(request)
    kind, name = _element_names(request)
    store = jimu_of(request).store
    if request.method == "GET":
        found = store.draft(app).element(kind, name)
        if found is None:
            raise NotFound(f"no {kind} named '{name}' in app '{app}'", code=f"{kind}.not_found")
        return json_response(_dump(found))
    if request.method == "DELETE":
        store.delete_element(app, kind, name, author=actor.username)
        return Response(status_code=204)
    body = await read_json(request)
    existed = store.draft(app).element(kind, name) is not None
    stored = store.put_element(app, kind, name, body, author=actor.username)
    return json_response(_dump(stored), 200 if existed else 201)


def _field_names(request: Request) -> tuple[str, str, str]:
    return _app(request), str(request.path_params["name"]), str(request.path_params["field"])


async def field_get(request: Request) -> Response:
    """GET .../meta/entities/{entity}/fields/{field} (archived fields included)."""
    require_admin(request)
    app, entity, field = _field_names(request)
    ent = jimu_of(request).store.draft(app).entity(entity)
    f = ent.field(field) if ent is not None else None
    if f is None:
        raise NotFound(f"no field '{field}' in '{entity}'", code="field.not_found")
    return json_response(f.dump())


async def field_put(request: Request) -> Response:
    """PUT a field; a type change that would lose values answers 422 with counts and
    sample rows unless the body carries ``"conversion"``."""
    actor = require_admin(request)
    app, entity, field = _field_names(request)
    body = await read_json(request)
    jimu = jimu_of(request)
    store = jimu.store
    with jimu.db.write() as c:
        before = store.draft(app, c).entity(entity)
        existed = before is not None and before.field(field) is not None
        stored = store.put_field(app, entity, field, body, author=actor.username, conn=c)
        old = store.published(app, conn=c)
        if old is not None and "conversion" not in body:
            new = assign_physical_names(old, store.draft(app, c))
            ops = [op for op in plan_schema(old, new) if op.action == "retype_column" and op.entity == entity
                   and op.field == stored.name]
            lossy = [p for p in preview_changes(c, old, new, ops) if p.failing]
            if lossy:
                raise ValidationError(
                    f"changing '{entity}.{field}' would lose {lossy[0].failing} of {lossy[0].rows} values; "
                    "send \"conversion\" to choose how", code="field.lossy_type_change",
                    errors=[FieldError(field, "field.lossy_type_change", f"{p.failing} rows do not convert")
                            for p in lossy], extra={"previews": [p.as_dict() for p in lossy]})
    return json_response(stored.dump(), 200 if existed else 201)


async def field_delete(request: Request) -> Response:
    """DELETE a field: archives it (column and data kept)."""
    actor = require_admin(request)
    app, entity, field = _field_names(request)
    return json_response(jimu_of(request).store.archive_field(app, entity, field, author=actor.username).dump())


async def field_restore(request: Request) -> Response:
    """POST .../fields/{field}/restore: brings an archived field back with its data."""
    actor = require_admin(request)
    app, entity, field = _field_names(request)
    store = jimu_of(request).store
    return json_response(store.archive_field(app, entity, field, archived=False, author=actor.username).dump())


def _health(spec: AppSpec) -> dict[str, Any] | None:
    """The health summary of the published spec. A scanner failure is a bug: logged with
    its traceback and raised (a 500 with a request id), not hidden as "no summary"."""
    from jimu.platform.health import ScanContext, run_scan

    try:
        report = run_scan(ScanContext(app=spec))
    except Exception:
        log.exception("health scan of app %s failed", spec.name)
        raise
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return {"score": report.score, "categories": report.categories, "counts": counts}


async def publish(request: Request) -> Response:
    """POST /api/apps/{app}/publish[?dry_run=1] -> diff, schema plan, findings, health."""
    actor = require_admin(request)
    app = _app(request)
    body = await read_json(request, allowed=("conversions",), optional=True)
    convs = body.get("conversions")
    if convs is not None and not isinstance(convs, dict):
        raise ValidationError("conversions must be an object", errors=[FieldError("conversions", "type", "object")])
    jimu = jimu_of(request)
    result = jimu.store.publish(app, author=actor.username, dry_run=query_flag(request, "dry_run"), conversions=convs)
    out = result.as_dict()
    out["health"] = _health(jimu.store.draft(app))
    return json_response(out)


async def versions(request: Request) -> Response:
    """GET /api/apps/{app}/meta/versions (newest first)."""
    require_admin(request)
    return page(jimu_of(request).store.versions(_app(request)))


async def changes(request: Request) -> Response:
    """GET /api/apps/{app}/meta/changes: the natural-language change log."""
    require_admin(request)
    return page(jimu_of(request).store.changes(_app(request)))


async def rollback(request: Request) -> Response:
    """POST /api/apps/{app}/rollback {version}."""
    actor = require_admin(request)
    app = _app(request)
    body = await read_json(request)
    check_keys(body, ("version",))
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValidationError("version must be a published version number",
                              errors=[FieldError("version", "type", "a positive integer")])
    return json_response(jimu_of(request).store.rollback(app, version, author=actor.username).as_dict())


def routes() -> list[BaseRoute]:
    """The metadata routes."""
    base = "/api/apps/{app}/meta"
    return [
        Route("/api/apps", list_apps, methods=["GET"]),
        Route("/api/apps", create_app_route, methods=["POST"]),
        Route(base, get_meta, methods=["GET"]),
        Route(base + "/versions", versions, methods=["GET"]),
        Route(base + "/changes", changes, methods=["GET"]),
        Route("/api/apps/{app}/meta/entities/{name}/fields/{field}/restore", field_restore, methods=["POST"]),
        Route("/api/apps/{app}/meta/entities/{name}/fields/{field}", field_get, methods=["GET"]),
        Route("/api/apps/{app}/meta/entities/{name}/fields/{field}", field_put, methods=["PUT"]),
        Route("/api/apps/{app}/meta/entities/{name}/fields/{field}", field_delete, methods=["DELETE"]),
        Route(base + "/{kind}/{name}", element, methods=["GET", "PUT", "DELETE"]),
        Route("/api/apps/{app}/publish", publish, methods=["POST"]),
        Route("/api/apps/{app}/rollback", rollback, methods=["POST"]),
    ]

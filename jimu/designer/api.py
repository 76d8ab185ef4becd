"""The designer's own JSON endpoints, next to the metadata API it is built on.

Edits always go through ``/api/apps/{app}/meta/...`` (routes_meta); these endpoints only
answer questions the editors ask while the user types: check an expression (error with
position and hint), preview it on real rows, complete names, infer a field type, check a
workflow before saving (and save it with the checks the metadata API lacks), shape the publish dialog, the permission matrix and "view as
role". All need the admin role, like the metadata API.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, ValidationError
from jimu.designer import logic
from jimu.designer.infer import infer_field_type
from jimu.designer.palette import palette
from jimu.platform.expressions.checker import PURPOSES
from jimu.platform.specs import WorkflowSpec
from jimu.platform.specs.naming import name_from_label
from jimu.platform.specs.validate import raise_for
from jimu.runtime.api.auth import jimu_of, require_admin
from jimu.runtime.api.util import json_response, read_json

__all__ = ["routes"]


def _app(request: Request) -> str:
    name = str(request.path_params["app"])
    jimu_of(request).store.app_info(name)  # 404 when unknown
    return name


def _text(body: dict[str, Any], key: str, *, required: bool = True, default: str = "") -> str:
    value = body.get(key, default)
    if value is None and not required:
        return default
    if not isinstance(value, str) or (required and key not in body):
        raise ValidationError(f"{key} must be text", errors=[FieldError(key, "type", "text")])
    return value


def _purpose(body: dict[str, Any]) -> str:
    purpose = body.get("purpose") or "formula"
    if purpose not in PURPOSES:
        raise ValidationError(f"unknown purpose '{purpose}'",
                              errors=[FieldError("purpose", "choice", ", ".join(sorted(PURPOSES)))])
    return str(purpose)


async def check(request: Request) -> Response:
    """POST /api/apps/{app}/designer/check {entity, source, purpose?, extra_names?}."""
    require_admin(request)
    app = _app(request)
    body = await read_json(request, allowed=("entity", "source", "purpose", "extra_names"))
    extras = body.get("extra_names")
    if extras is not None and not isinstance(extras, dict):
        raise ValidationError("extra_names must be an object", errors=[FieldError("extra_names", "type", "object")])
    spec = jimu_of(request).store.draft(app)
    entity = body.get("entity") if isinstance(body.get("entity"), str) else None
    return json_response(logic.check_expression(spec, entity, _text(body, "source"), _purpose(body), extras))


async def preview(request: Request) -> Response:
    """POST /api/apps/{app}/designer/preview {entity, source, purpose?}: the check plus the
    value on the first 5 published records."""
    require_admin(request)
    app = _app(request)
    body = await read_json(request, allowed=("entity", "source", "purpose"))
    return json_response(logic.preview_expression(jimu_of(request), app, _text(body, "entity"),
                                                  _text(body, "source"), _purpose(body)))


async def completions(request: Request) -> Response:
    """GET /api/apps/{app}/designer/completions?entity=: fields, variables, functions."""
    require_admin(request)
    app = _app(request)
    spec = jimu_of(request).store.draft(app)
    return json_response(logic.completions(spec, request.query_params.get("entity")))


async def infer(request: Request) -> Response:
    """GET /api/designer/infer?label=: {type, options, name} for a label."""
    require_admin(request)
    label = request.query_params.get("label", "")
    ftype, options = infer_field_type(label)
    return json_response({"label": label, "type": ftype, "options": options,
                          "name": name_from_label(label) if label.strip() else ""})


async def field_types(request: Request) -> Response:
    """GET /api/designer/field-types: the palette (type, zh, en, icon, group)."""
    require_admin(request)
    return json_response({"data": palette()})


async def publish_preview(request: Request) -> Response:
    """GET /api/apps/{app}/designer/publish-preview: a dry-run publish shaped for the
    dialog (diff, rows affected, findings, health, blocked)."""
    require_admin(request)
    app = _app(request)
    jimu = jimu_of(request)
    result = jimu.store.publish(app, dry_run=True).as_dict()
    from jimu.runtime.api.routes_meta import _health

    return json_response(logic.publish_dialog(result, _health(jimu.store.draft(app))))


async def workflow_check(request: Request) -> Response:
    """POST /api/apps/{app}/designer/workflow-check {workflow}: findings on the graph."""
    require_admin(request)
    app = _app(request)
    body = await read_json(request, allowed=("workflow",))
    wf = body.get("workflow")
    if not isinstance(wf, dict):
        raise ValidationError("workflow must be an object", errors=[FieldError("workflow", "type", "object")])
    return json_response(logic.workflow_check(jimu_of(request).store.draft(app), wf))


async def workflow_save(request: Request) -> Response:
    """PUT /api/apps/{app}/designer/workflows/{name} {workflow}: save the workflow into the
    draft like ``meta/workflows/{name}``, after the checks the metadata API does not make
    (transition inputs, ``set`` expressions, timer targets): 422 with ``findings`` (each
    naming its path) when one fails; the draft's own validation follows (unknown fields)."""
    actor = require_admin(request)
    app = _app(request)
    name = str(request.path_params["name"])
    body = await read_json(request)
    body = {**body, "name": body.get("name") or name}
    store = jimu_of(request).store
    draft = store.draft(app)
    try:
        wf = WorkflowSpec.model_validate(body)
    except PydanticError as exc:
        raise ValidationError(f"workflow '{name}' is invalid",
                              errors=[FieldError(".".join(str(p) for p in e["loc"]) or "workflow", "type", e["msg"])
                                      for e in exc.errors()]) from None
    raise_for(logic.transition_findings(draft, wf), f"workflow '{name}' is invalid")
    existed = draft.element("workflow", name) is not None
    stored = store.put_element(app, "workflow", name, body, author=actor.username)
    return json_response(stored.dump(), 200 if existed else 201)


async def permissions(request: Request) -> Response:
    """GET /api/apps/{app}/designer/permissions: the roles × entities × rights matrix."""
    require_admin(request)
    app = _app(request)
    return json_response(logic.permission_matrix(jimu_of(request).store.draft(app)))


async def view_as(request: Request) -> Response:
    """GET /api/apps/{app}/designer/view-as?role=&entity=: a sample record as the role sees it."""
    require_admin(request)
    app = _app(request)
    role, entity = request.query_params.get("role", ""), request.query_params.get("entity", "")
    if not role or not entity:
        raise ValidationError("role and entity are required",
                              errors=[FieldError(k, "required", "required") for k in ("role", "entity")
                                      if not request.query_params.get(k)])
    return json_response(logic.view_as(jimu_of(request), app, role, entity))


def routes() -> list[BaseRoute]:
    """The designer's JSON endpoints."""
    base = "/api/apps/{app}/designer"
    return [
        Route("/api/designer/infer", infer, methods=["GET"]),
        Route("/api/designer/field-types", field_types, methods=["GET"]),
        Route(base + "/check", check, methods=["POST"]),
        Route(base + "/preview", preview, methods=["POST"]),
        Route(base + "/completions", completions, methods=["GET"]),
        Route(base + "/publish-preview", publish_preview, methods=["GET"]),
        Route(base + "/workflow-check", workflow_check, methods=["POST"]),
        Route(base + "/workflows/{name}", workflow_save, methods=["PUT"]),
        Route(base + "/permissions", permissions, methods=["GET"]),
        Route(base + "/view-as", view_as, methods=["GET"]),
    ]

"""The per-app, per-caller OpenAPI 3.1 document: only the entities, operations and fields
the caller may use, with types (decimals as strings with a pattern), enums for choices,
required fields, examples, and masked fields marked ``x-jimu-masked: true``."""

from __future__ import annotations

from typing import Any

from jimu.core.errors import ExpressionError
from jimu.platform.expressions import compile_expression
from jimu.platform.specs import EntitySpec, FieldSpec
from jimu.runtime.access import AccessPolicy

__all__ = ["build_openapi", "field_schema"]

_DECIMAL = {"decimal", "money", "percent"}
_STRINGS = {"text", "long_text", "email", "phone", "url", "barcode", "attachment", "image", "user", "auto_number"}
_EXAMPLES: dict[str, Any] = {"text": "示例", "long_text": "说明", "email": "someone@example.com", "phone": "+86 21 5555 0100",
                             "url": "https://example.com", "barcode": "6901234567892", "user": "sales",
                             "integer": 10, "boolean": True, "date": "2026-11-30",
                             "datetime": "2026-11-30T08:00:00+08:00", "duration": "PT48H", "auto_number": "SO-202611-0001"}
PROBLEM = {
    "type": "object", "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}}},
}


def _schema_name(entity: str) -> str:
    return "".join(p.capitalize() for p in entity.split("_"))


def _type_schema(kind: str, f: FieldSpec | None) -> dict[str, Any]:
    if kind in _DECIMAL:
        scale = f.scale if f is not None and f.type in _DECIMAL else 4
        pattern = rf"^-?\d+(\.\d{{1,{scale}}})?$" if scale else r"^-?\d+$"
        return {"type": "string", "pattern": pattern, "examples": ["12.50" if scale >= 2 else "12"]}
    if kind == "integer":
        return {"type": "integer", "examples": [10]}
    if kind == "boolean":
        return {"type": "boolean", "examples": [True]}
    if kind == "date":
        return {"type": "string", "format": "date", "examples": [_EXAMPLES["date"]]}
    if kind == "datetime":
        return {"type": "string", "format": "date-time", "examples": [_EXAMPLES["datetime"]]}
    if kind == "duration":
        return {"type": "string", "pattern": r"^P(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$", "examples": ["PT48H"]}
    if kind in _STRINGS:
        out: dict[str, Any] = {"type": "string", "examples": [_EXAMPLES.get(kind, "示例")]}
        if f is not None and kind == f.type and f.options.get("max_length"):
            out["maxLength"] = int(f.options["max_length"])
        return out
    return {}


def field_schema(f: FieldSpec, *, link_ref: str | None = None, child_ref: str | None = None,
                 mask_type: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one field's value as the API reads and writes it."""
    if mask_type is not None:
        schema = _type_schema(mask_type, None) or {}
        schema["x-jimu-masked"] = True
        schema["readOnly"] = True
    elif f.type == "choice":
        values = f.choice_values
        schema = {"type": "string", "enum": values, "examples": values[:1]} if values else {"type": "string"}
    elif f.type == "multi_choice":
        schema = {"type": "array", "items": {"type": "string", "enum": f.choice_values} if f.choice_values
                  else {"type": "string"}}
    elif f.type == "link":
        schema = {"type": "integer", "minimum": 1, "examples": [1], "x-jimu-link": f.target}
        if link_ref:
            schema = {"anyOf": [schema, {"$ref": link_ref}], "x-jimu-link": f.target}
    elif f.type == "child_table":
        schema = {"type": "array", "items": {"$ref": child_ref} if child_ref else {"type": "object"}}
    elif f.type == "formula":
        schema = {**_type_schema(f.value_type, None), "readOnly": True}
    elif f.type in ("json", "geo"):
        schema = {}
    else:
        schema = _type_schema(f.type, f)
    if f.type == "auto_number":
        schema["readOnly"] = True
    label = f.label.zh or f.label.en
    if label:
        schema["title"] = label
    if not f.required and "type" in schema and isinstance(schema["type"], str):
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def _mask_type(policy: AccessPolicy, entity: str, mask: str) -> str:
    try:
        return compile_expression(mask, policy.rt.spec, entity, purpose="mask").result_type
    except ExpressionError:
        return "text"


def _entity_schemas(policy: AccessPolicy, ent: EntitySpec, visible: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    grant = policy.grant(ent.name)
    masks = policy.masked_fields(ent.name)
    writable = set(policy.writable_fields(ent.name))
    props: dict[str, Any] = {
        "id": {"type": "integer", "readOnly": True, "examples": [1]},
        "version": {"type": "integer", "readOnly": True, "examples": [1]},
        "created_at": {"type": "string", "format": "date-time", "readOnly": True},
        "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
        "created_by": {"type": ["string", "null"], "readOnly": True},
        "updated_by": {"type": ["string", "null"], "readOnly": True},
    }
    inputs: dict[str, Any] = {}
    required: list[str] = []
    wf = policy.rt.spec.workflow_for(ent.name)
    for f in ent.active_fields:
        if not grant.field_rule(f.name).visible:
            continue
        link_ref = f"#/components/schemas/{_schema_name(f.target)}" if f.type == "link" and f.target in visible else None
        child_ref = f"#/components/schemas/{_schema_name(f.target)}" if f.type == "child_table" and f.target else None
        mask = masks.get(f.name)
        props[f.name] = field_schema(f, link_ref=link_ref, child_ref=child_ref,
                                     mask_type=_mask_type(policy, ent.name, mask) if mask else None)
        if f.name in writable and not (wf is not None and f.name == wf.state_field):
            in_ref = f"#/components/schemas/{_schema_name(f.target)}Input" if child_ref and f.target else None
            inputs[f.name] = field_schema(f, child_ref=in_ref)
            if f.required and f.default is None:
                required.append(f.name)
    read = {"type": "object", "title": ent.label.zh or ent.name, "properties": props,
            "required": ["id", "version", "created_at", "updated_at"]}
    write = {"type": "object", "properties": inputs, "additionalProperties": False}
    if required:
        write["required"] = required
    return read, write


def _problem_responses(*codes: int) -> dict[str, Any]:
    ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {str(c): {"description": "problem", "content": ref} for c in codes}


def _ok(description: str, schema: dict[str, Any], status: int = 200, etag: bool = False) -> dict[str, Any]:
    resp: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if etag:
        resp["headers"] = {"ETag": {"schema": {"type": "string"}, "description": "the record version, quoted"}}
    return {str(status): resp}


def build_openapi(policy: AccessPolicy) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``policy.app`` for ``policy``'s caller."""
    spec = policy.rt.spec
    entities = [e for e in spec.entities if not e.archived and policy.grant(e.name).visible]
    visible = {e.name for e in entities if policy.can(e.name, "read")}
    schemas: dict[str, Any] = {"Problem": PROBLEM}
    paths: dict[str, Any] = {}
    common = _problem_responses(400, 401, 403, 404, 422)
    id_param = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    list_params = [
        {"name": "filter", "in": "query", "schema": {"type": "string"}, "description": "an expression"},
        {"name": "sort", "in": "query", "schema": {"type": "string"}, "examples": {"newest": {"value": "-id"}}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "fields", "in": "query", "schema": {"type": "string"}},
        {"name": "expand", "in": "query", "schema": {"type": "string"}},
    ]
    for ent in entities:
        name = _schema_name(ent.name)
        read, write = _entity_schemas(policy, ent, visible)
        schemas[name], schemas[name + "Input"] = read, write
        if spec.parent_of(ent.name) is not None:
            continue  # child rows are read and written through their parent
        ref = {"$ref": f"#/components/schemas/{name}"}
        in_ref = {"$ref": f"#/components/schemas/{name}Input"}
        coll: dict[str, Any] = {}
        item: dict[str, Any] = {}
        tag = [ent.name]
        if policy.can(ent.name, "read"):
            envelope = {"type": "object", "required": ["data", "next_cursor"], "properties": {
                "data": {"type": "array", "items": ref}, "next_cursor": {"type": ["string", "null"]}}}
            coll["get"] = {"operationId": f"list_{ent.name}", "tags": tag, "parameters": list_params,
                           "responses": {**_ok("a page of records", envelope), **common}}
            item["get"] = {"operationId": f"get_{ent.name}", "tags": tag, "parameters": [id_param],
                           "responses": {**_ok("the record", ref, etag=True), **common}}
        body = {"required": True, "content": {"application/json": {"schema": in_ref}}}
        if policy.can(ent.name, "create"):
            coll["post"] = {"operationId": f"create_{ent.name}", "tags": tag, "requestBody": body,
                            "responses": {**_ok("created", ref, 201, etag=True), **common,
                                          **_problem_responses(409, 413, 415)}}
        if policy.can(ent.name, "update"):
            patch_body = {"required": True, "content": {"application/json": {"schema": {**in_ref}}}}
            item["patch"] = {"operationId": f"update_{ent.name}", "tags": tag, "requestBody": patch_body,
                             "parameters": [id_param, {"name": "If-Match", "in": "header", "required": True,
                                                       "schema": {"type": "string"}, "examples": {"v1": {"value": '"1"'}}}],
                             "responses": {**_ok("updated", ref, etag=True), **common,
                                           **_problem_responses(409, 413, 415, 428)}}
        if policy.can(ent.name, "delete"):
            item["delete"] = {"operationId": f"delete_{ent.name}", "tags": tag, "parameters": [id_param],
                              "responses": {"204": {"description": "deleted"}, **common, **_problem_responses(409)}}
        if coll:
            paths[f"/api/apps/{policy.app}/data/{ent.name}"] = coll
        if item:
            paths[f"/api/apps/{policy.app}/data/{ent.name}/{{id}}"] = item
    audit_entry = {"type": "object", "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "user": {"type": ["string", "null"]},
        "action": {"type": "string"}, "entity": {"type": ["string", "null"]}, "record": {"type": ["string", "null"]},
        "changes": {"type": "array"}, "summary": {"type": "object"}}}
    paths[f"/api/apps/{policy.app}/audit"] = {"get": {
        "operationId": "audit", "tags": ["audit"],
        "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}} for n in ("entity", "record", "user", "cursor")],
        "responses": {**_ok("audit entries", {"type": "object", "required": ["data", "next_cursor"], "properties": {
            "data": {"type": "array", "items": audit_entry}, "next_cursor": {"type": ["string", "null"]}}}), **common}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{spec.label.zh or spec.name} API", "version": str(policy.rt.version),
                 "description": f"App '{spec.name}' as seen by {policy.actor.username}."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }

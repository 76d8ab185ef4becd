"""The per-app, per-caller OpenAPI 3.1 document: only the entities, operations and fields
the caller may use, with types (decimals as strings with a pattern), enums for choices,
required fields, examples, and masked fields marked ``x-jimu-masked: true``.

Names a client generator turns into code are ASCII and stable: ``operationId``s, schema
names from entity/field/transition names, no ``title`` on field schemas (a Chinese title
would become a module name); the Chinese and English labels go to ``description``. The
other routes (auth, workflow, ledgers, inbox, events, admin) are in ``openapi_paths``."""

from __future__ import annotations

from typing import Any

from jimu.core.errors import ExpressionError
from jimu.core.ids import MAX_ID, MAX_ROW_ID
from jimu.platform.expressions import compile_expression
from jimu.platform.specs import EntitySpec, FieldSpec
from jimu.platform.values import text_limit
from jimu.runtime.access import AccessPolicy
from jimu.runtime.access.sorting import may_sort_by
from jimu.runtime.api.openapi_import import add_import
from jimu.runtime.api.openapi_intel import add_intel
from jimu.runtime.api.openapi_money import add_money
from jimu.runtime.api.openapi_mrp import add_mrp
from jimu.runtime.api.openapi_paths import (
    Components,
    Doc,
    add_admin,
    add_auth,
    add_caller_routes,
    add_chat_orders,
    add_ledgers,
    add_stock_reports,
    add_trace,
    add_workflow,
    camel,
    describe,
    envelope,
    ok,
    problems,
)
from jimu.runtime.records.codec import SYSTEM_FIELDS

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
    return camel(entity)


def _type_schema(kind: str, f: FieldSpec | None) -> dict[str, Any]:
    if kind in _DECIMAL:
        scale = f.scale if f is not None and f.type in _DECIMAL else 4
        whole = max((f.precision - scale) if f is not None and f.type in _DECIMAL else 14, 1)
        pattern = rf"^-?\d{{1,{whole}}}(\.\d{{1,{scale}}})?$" if scale else rf"^-?\d{{1,{whole}}}$"
        return {"type": "string", "pattern": pattern, "examples": ["12.50" if scale >= 2 else "12"]}
    if kind == "integer":
        return {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID, "examples": [10]}
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
        limit = text_limit(f, kind) if f is not None else None
        if limit:
            out["maxLength"] = limit
        return out
    return {}


def _put(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> str:
    """Set component ``name`` (in :class:`Components`, a free name when it is taken)."""
    if isinstance(schemas, Components):
        return schemas.claim(name, schema)
    schemas[name] = schema
    return name


def field_schema(f: FieldSpec, *, link_ref: str | None = None, child_ref: str | None = None,
                 mask_type: str | None = None, enums: dict[str, Any] | None = None,
                 enum_name: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one field's value as the API reads and writes it. With
    ``enums`` and ``enum_name``, a choice's values become the named component schema
    ``enum_name`` (one enum class in a generated client, nullable through ``anyOf``)."""
    if mask_type is None and f.type == "choice" and f.choice_values and enums is not None and enum_name:
        ref = {"$ref": f"#/components/schemas/{_put(enums, enum_name, {'type': 'string', 'enum': f.choice_values})}"}
        schema: dict[str, Any] = ref if f.required else {"anyOf": [ref, {"type": "null"}]}
        label = describe(f.label)
        return {**schema, "description": label} if label else schema
    if mask_type is not None:
        schema = _type_schema(mask_type, None) or {}
        schema["x-jimu-masked"] = True
        schema["readOnly"] = True
    elif f.type == "choice":
        values = f.choice_values
        schema = {"type": "string", "enum": values, "examples": values[:1]} if values else {"type": "string"}
    elif f.type == "multi_choice":
        if f.choice_values and enums is not None and enum_name:
            name = _put(enums, enum_name, {"type": "string", "enum": f.choice_values})
            items: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
        else:
            items = {"type": "string", "enum": f.choice_values} if f.choice_values else {"type": "string"}
        schema = {"type": "array", "items": items}
    elif f.type == "link":
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID, "examples": [1], "x-jimu-link": f.target}
        if link_ref:
            options: list[dict[str, Any]] = [schema, {"$ref": link_ref}]
            if not f.required:
                options.append({"type": "null"})
            schema = {"anyOf": options, "x-jimu-link": f.target}
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
    label = describe(f.label)
    if label:
        schema["description"] = label
    if f.required and schema.get("type") == "string" and mask_type is None and "enum" not in schema:
        schema["pattern"] = schema.get("pattern") or r"\S"  # blank text is a missing value
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


def _entity_schemas(policy: AccessPolicy, ent: EntitySpec, visible: set[str],
                    enums: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
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
    wf = policy.rt.workflow_for(ent.name)
    for f in ent.active_fields:
        if not grant.field_rule(f.name).visible:
            continue
        link_ref = f"#/components/schemas/{_schema_name(f.target)}" if f.type == "link" and f.target in visible else None
        child_ref = f"#/components/schemas/{_schema_name(f.target)}" if f.type == "child_table" and f.target else None
        mask = masks.get(f.name)
        enum_name = camel(ent.name, f.name)
        props[f.name] = field_schema(f, link_ref=link_ref, child_ref=child_ref, enums=enums, enum_name=enum_name,
                                     mask_type=_mask_type(policy, ent.name, mask) if mask else None)
        if f.name in writable and not (wf is not None and f.name == wf.state_field):
            in_ref = f"#/components/schemas/{_schema_name(f.target)}Input" if child_ref and f.target else None
            inputs[f.name] = field_schema(f, child_ref=in_ref, enums=enums, enum_name=enum_name)
            if f.required and f.default is None:
                required.append(f.name)
    read = {"type": "object", "description": describe(ent.label, ent.name), "properties": props,
            "required": ["id", "version", "created_at", "updated_at"]}
    write = {"type": "object", "properties": inputs, "additionalProperties": False}
    if required:
        write["required"] = required
    return read, write


def build_openapi(policy: AccessPolicy) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``policy.app`` for ``policy``'s caller."""
    spec = policy.rt.spec
    entities = [e for e in spec.entities if not e.archived and policy.grant(e.name).visible]
    visible = {e.name for e in entities if policy.can(e.name, "read")}
    doc = Doc(policy)
    doc.schemas.reserved.update(_schema_name(e.name) + suffix for e in entities for suffix in ("", "Input", "Patch"))
    doc.reserved_ops.update(f"{verb}_{e.name}" for e in entities for verb in ("list", "get", "create", "update", "delete"))
    doc.schemas["Problem"] = PROBLEM  # problems() refers to it by name: an entity 'problem' is not supported
    add_auth(doc)
    for ent in entities:
        name = _schema_name(ent.name)
        read, write = _entity_schemas(policy, ent, visible, doc.schemas)
        doc.schemas[name], doc.schemas[name + "Input"] = read, write
        doc.schemas[name + "Patch"] = {k: v for k, v in write.items() if k != "required"}
        if spec.parent_of(ent.name) is None:
            _record_paths(doc, ent, visible)
    _audit(doc)
    add_ledgers(doc)
    add_trace(doc)
    add_chat_orders(doc)
    add_caller_routes(doc)
    add_money(doc)
    add_stock_reports(doc)
    add_intel(doc)
    add_mrp(doc)
    add_import(doc)
    add_admin(doc)
    label = describe(spec.label, spec.name)
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Jimu {spec.name}", "version": str(policy.rt.version),
                 "description": f"{label}: app '{spec.name}' as seen by {policy.actor.username} "
                                "(only what this caller may use). Guide: docs/api.md."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": doc.paths,
        "components": {"schemas": doc.schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "a token from POST /api/auth/token, or an API key an admin created"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                       "description": "an API key (jimu_<id>_<secret>) from POST /api/apps/{app}/api-keys"}}},
    }


IF_MATCH = r'^(\*|(W/)?"[1-9][0-9]{0,8}")$'
_UNSORTABLE = ("json", "multi_choice", "geo", "child_table")
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}}
_IF_MATCH = {"name": "If-Match", "in": "header", "schema": {"type": "string", "pattern": IF_MATCH},
             "examples": {"v1": {"value": '"1"'}, "any": {"value": "*"}},
             "description": "the ETag you read, or * for any version"}


def _names_pattern(names: list[str]) -> str:
    """A comma-separated list of ``names`` (the ``fields``/``expand`` parameters); empty
    means none, as the server reads it."""
    one = "(" + "|".join(names) + ")"
    return f"^({one}(,{one})*)?$"


def _list_params(policy: AccessPolicy, ent: EntitySpec) -> list[dict[str, Any]]:
    """The list parameters as precise as the caller's rights make them: the sorts they may
    use (never a masked or hidden field: access/sorting.py, listed in the description), the
    fields they read and the links they may expand (patterns); ``filter`` (an expression)
    and ``cursor`` (opaque) stay text.
    ``fields`` and ``expand`` (when the caller may expand a link) come last: a single
    record takes them too."""
    readable = policy.readable_fields(ent.name)
    fields = [n for n in readable if (f := ent.field(n)) is not None and f.stored]
    sortable = [*SYSTEM_FIELDS, *(n for n in fields if (f := ent.field(n)) is not None
                                   and f.type not in _UNSORTABLE and may_sort_by(policy, ent.name, n))]
    links = [n for n in readable if (f := ent.field(n)) is not None and f.type == "link"
             and may_sort_by(policy, ent.name, n)]
    params = [
        {"name": "filter", "in": "query", "schema": {"type": "string"}, "description": "an expression"},
        # the sorts as a list, not an enum: a generated client keeps ``sort`` a plain string
        {"name": "sort", "in": "query", "schema": {"type": "string"}, "x-jimu-sortable": sortable,
         "description": "a field you read in full, - for descending: " + ", ".join(sortable),
         "examples": {"newest": {"value": "-id"}}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "next_cursor of the previous page",
         "examples": {"first page": {"value": ""}}},
        {"name": "fields", "in": "query", "schema": {"type": "string", "pattern": _names_pattern([*SYSTEM_FIELDS, *fields])},
         "description": "comma-separated field names"},
    ]
    if links:
        params.append({"name": "expand", "in": "query", "schema": {"type": "string", "pattern": _names_pattern(links)},
                       "description": "comma-separated link fields to replace by the linked record"})
    return params


def _record_paths(doc: Doc, ent: EntitySpec, visible: set[str]) -> None:
    """List/get/create/update/delete of a top-level entity (child rows go with their
    parent), then its workflow operations."""
    policy, name = doc.policy, _schema_name(ent.name)
    ref = {"$ref": f"#/components/schemas/{name}"}
    coll: dict[str, Any] = {}
    item: dict[str, Any] = {}
    tag = [ent.name]
    common = problems(400, 401, 403, 404, 422, 429)
    summary = describe(ent.label, ent.name)
    list_params = _list_params(policy, ent)
    if policy.can(ent.name, "read"):
        coll["get"] = {"operationId": f"list_{ent.name}", "tags": tag, "summary": f"list {summary}",
                       "parameters": list_params, "responses": {**ok("a page of records", envelope(ref)), **common}}
        item["get"] = {"operationId": f"get_{ent.name}", "tags": tag, "summary": f"one {summary}",
                       "parameters": [_ID, *(p for p in list_params if p["name"] in ("fields", "expand"))],
                       "responses": {**ok("the record", ref, etag=True), **common}}
    if policy.can(ent.name, "create"):
        body = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Input"}}}}
        coll["post"] = {"operationId": f"create_{ent.name}", "tags": tag, "summary": f"create {summary}",
                        "requestBody": body, "responses": {**ok("created", ref, 201, etag=True), **common,
                                                           **problems(409, 413, 415)}}
    if policy.can(ent.name, "update"):
        body = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Patch"}}}}
        item["patch"] = {"operationId": f"update_{ent.name}", "tags": tag, "summary": f"change {summary}",
                         "requestBody": body, "parameters": [_ID, {**_IF_MATCH, "required": True}],
                         "responses": {**ok("updated", ref, etag=True), **common, **problems(409, 413, 415, 428)}}
    if policy.can(ent.name, "delete"):
        item["delete"] = {"operationId": f"delete_{ent.name}", "tags": tag, "summary": f"delete {summary}",
                          "parameters": [_ID, _IF_MATCH],
                          "responses": {"204": {"description": "deleted"}, **common, **problems(409)}}
    if coll:
        doc.paths[f"/api/apps/{policy.app}/data/{ent.name}"] = coll
    if item:
        doc.paths[f"/api/apps/{policy.app}/data/{ent.name}/{{id}}"] = item
    if ent.name in visible:
        add_workflow(doc, ent.name, ref)


def _audit(doc: Doc) -> None:
    entry = {"type": "object", "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "user": {"type": ["string", "null"]},
        "action": {"type": "string"}, "entity": {"type": ["string", "null"]}, "record": {"type": ["string", "null"]},
        "changes": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "summary": {"type": "object", "additionalProperties": True}}}
    visible = sorted(e.name for e in doc.policy.rt.spec.entities if not e.archived and doc.policy.can(e.name, "read"))
    params: list[dict[str, Any]] = [
        {"name": "entity", "in": "query", "schema": {"type": "string", "enum": ["", *visible]},
         "description": "empty: every entity"},
        {"name": "record", "in": "query", "schema": {"type": "string", "pattern": r"^([1-9][0-9]{0,8})?$"},
         "description": "a record id; needs entity (empty: every record)"},
        {"name": "user", "in": "query", "schema": {"type": "string"}},
        {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": r"^[0-9]{0,18}$"},
         "description": "next_cursor of the previous page", "examples": {"first page": {"value": ""}}}]
    # empty is read as no bound, like an empty cursor (schemathesis sent since='')
    params += [{"name": n, "in": "query", "schema": {"type": "string", "anyOf": [{"format": "date-time"}, {"maxLength": 0}]},
                "description": "ISO 8601 with a zone; empty: no bound"} for n in ("since", "until")]
    params.append({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}})
    doc.op(f"/api/apps/{doc.app}/audit", "get", "audit", "audit", "the audit trail the caller may see",
           ok("audit entries", envelope(doc.ref("AuditEntry", entry))), params=params)

"""The spreadsheet import in the per-caller OpenAPI document (DESIGN 16, Intelligence):
``POST .../import/preview`` and ``POST .../import`` appear only for a caller who may create
records of some entity (the import's own gate), and ``entity`` lists just those entities
(any name for an admin, who may also ``create_entity``)."""

from __future__ import annotations

from typing import Any

from jimu.runtime.api.openapi_paths import ANY_OBJECT, Doc, json_body, ok

__all__ = ["add_import", "importable"]

FIELD_TYPES = ["text", "long_text", "money", "decimal", "integer", "percent", "date", "datetime", "phone", "email",
               "url", "boolean", "choice", "link", "barcode", "image", "attachment"]


def importable(doc: Doc) -> list[str]:
    """Entities the caller may create (child entities are written through their parent):
    the routes' gate, :func:`jimu.runtime.intel.import_preview.require_importer`."""
    from jimu.runtime.intel.import_preview import importable as entities

    return entities(doc.policy)


def add_import(doc: Doc) -> None:
    """The two import operations, when the caller may create something."""
    names = importable(doc)
    admin = doc.policy.is_admin
    if not names and not admin:
        return
    base = f"/api/apps/{doc.app}/import"
    entity: dict[str, Any] = {"type": "string"} if admin else {"type": "string", "enum": names}
    field = doc.ref("ImportField", {"type": "object", "required": ["name", "label", "type", "options", "sample"],
                                    "properties": {
                                        "name": {"type": "string", "description": "column id (pinyin of the header)"},
                                        "label": {"type": "string", "description": "the header as written"},
                                        "type": {"type": "string", "enum": FIELD_TYPES},
                                        "options": ANY_OBJECT,
                                        "sample": {"type": "array", "items": {}}}})
    row_error = doc.ref("ImportRowError", {"type": "object", "required": ["row", "field", "message"], "properties": {
        "row": {"type": "integer", "description": "spreadsheet line (the header is line 1)"},
        "field": {"type": "string"}, "column": {"type": ["string", "null"]},
        "code": {"type": "string", "enum": ["type", "required", "unique", "link", "choice", "row_filter", "locked"]},
        "message": {"type": "string", "description": "中文 / English"}}})
    preview = doc.ref("ImportPreview", {"type": "object", "required": ["preview_id", "fields", "rows", "errors"],
                                        "properties": {
                                            "preview_id": {"type": "string"},
                                            "fields": {"type": "array", "items": field},
                                            "rows": {"type": "array", "items": ANY_OBJECT,
                                                     "description": "the first 20 rows by column id"},
                                            "total": {"type": "integer"},
                                            "errors": {"type": "array", "items": row_error},
                                            "entity": entity,
                                            "mapping": {"type": "object", "additionalProperties": {
                                                "type": ["string", "null"]}}}})
    upload = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "CSV (UTF-8 or GBK) or XLSX"},
            "entity": {**entity, "description": "suggest a mapping onto this entity"}}}}}}
    doc.op(base + "/preview", "post", "preview_import", "import",
           "read a CSV/XLSX file and infer its fields (types from headers and values)",
           ok("the inferred fields and the first rows", preview), body=upload,
           description="Types from business words in the headers (单价/price → money, 日期/date → date, "
                       "电话/phone → phone, 数量/qty → decimal) confirmed by the values; text columns naming "
                       "records you can read become links, few distinct values a choice. The preview is kept "
                       "30 minutes for you only.")
    result = doc.ref("ImportResult", {"type": "object", "required": ["created", "updated", "errors"], "properties": {
        "created": {"type": "integer"}, "updated": {"type": "integer"},
        "errors": {"type": "array", "items": row_error}}})
    body = {"type": "object", "required": ["preview_id", "entity"], "additionalProperties": False, "properties": {
        "preview_id": {"type": "string"}, "entity": entity,
        "mapping": {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                    "description": "column id → field name (null skips the column)"},
        "key": {"type": "string", "description": "a unique mapped field: rows naming an existing record update it"},
        **({"create_entity": {"type": "boolean", "description": "create the entity, or add the mapped fields it "
                                                                  "lacks, and publish (admins)"}} if admin else {})}}
    doc.op(base, "post", "run_import", "import", "import a previewed file, all or nothing",
           ok("rows created and updated", result), body=json_body(body),
           description="Every bad cell is reported (422 `import.invalid`, `errors: [{row, field, message}]`) and "
                       "nothing is written; needs create on the entity, write on every mapped field, update for "
                       "`key`.")

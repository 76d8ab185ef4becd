"""Spreadsheet import routes (DESIGN 16, Intelligence):

- ``POST /api/apps/{app}/import/preview`` (multipart: ``file`` CSV or XLSX, ``entity?``)
  -> ``{preview_id, fields: [{name, label, type, options, sample}], rows, total, errors,
  mapping?}``: types inferred from headers and values; with ``entity`` also a suggested
  ``mapping`` {column: field} onto that entity's writable fields. The preview is kept for
  the caller (:mod:`jimu.runtime.intel.import_preview`).
- ``POST /api/apps/{app}/import`` ``{preview_id, entity, mapping, key?, create_entity?}``
  -> ``{created, updated, errors: []}``, or 422 ``import.invalid`` whose ``errors`` list
  every bad cell ``{row, field, column, code, message}`` and nothing is written
  (:mod:`jimu.runtime.intel.import_run`).

Both answer only a signed-in caller, through their access policy, and only one who may
create records of some entity (an admin always): 403 ``forbidden.import`` otherwise. The upload limit is the
``max_import_bytes`` setting (default 32 MiB), not the 1 MiB JSON body limit."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core.errors import FieldError, PayloadTooLarge, ValidationError
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.auth import current_actor, jimu_of, published_version_seen
from jimu.runtime.api.util import json_response, read_json
from jimu.runtime.intel.import_preview import make_preview, require_importer
from jimu.runtime.intel.import_read import read_sheet
from jimu.runtime.intel.import_run import run_import, suggest_mapping

__all__ = ["routes", "DEFAULT_MAX_IMPORT"]

DEFAULT_MAX_IMPORT = 32 * 1024 * 1024


def _policy(request: Request) -> AccessPolicy:
    """The caller's policy; 403 before anything is read when it may import nothing."""
    app = str(request.path_params["app"])
    actor = current_actor(request, app=app)
    policy = AccessPolicy.for_actor(jimu_of(request), app, actor, version=published_version_seen(request, app))
    require_importer(policy)
    return policy


def _limit(request: Request) -> int:
    settings = getattr(request.app.state, "settings", {}) or {}
    value = settings.get("max_import_bytes") or jimu_of(request).settings.get("max_import_bytes")
    return int(value or DEFAULT_MAX_IMPORT)


async def _upload(request: Request) -> tuple[str, bytes, Any]:
    limit = _limit(request)
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise ValidationError("请以 multipart/form-data 上传文件 / upload the file as multipart/form-data (field 'file')",
                              code="import.file", errors=[FieldError("file", "required", "a CSV or XLSX file")])
    length = request.headers.get("content-length")
    too_big = PayloadTooLarge(f"文件超过 {limit} 字节 / the upload is larger than {limit} bytes", extra={"limit": limit})
    if length is not None and length.isdigit() and int(length) > limit + 4096:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit + 4096:
            raise too_big
        chunks.append(chunk)
    request._body = b"".join(chunks)  # the form parser reads the body already received
    form = await request.form(max_files=1, max_fields=5)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise ValidationError("缺少文件 / the form has no 'file'", code="import.file",
                              errors=[FieldError("file", "required", "a CSV or XLSX file")])
    data = await file.read()
    if len(data) > limit:
        raise too_big
    return file.filename or "", data, form.get("entity")


async def preview(request: Request) -> Response:
    policy = _policy(request)
    name, data, entity = await _upload(request)

    def work() -> dict[str, Any]:
        sheet = read_sheet(name, data)
        out = make_preview(policy, sheet).as_json()
        if isinstance(entity, str) and entity:
            out["entity"] = entity
            out["mapping"] = suggest_mapping(policy, entity, out["fields"])
        return out

    return json_response(await run_in_threadpool(work))


async def do_import(request: Request) -> Response:
    policy = _policy(request)
    body = await read_json(request, allowed=("preview_id", "entity", "mapping", "key", "create_entity"))
    return json_response(await run_in_threadpool(run_import, policy, body))


def routes() -> list[BaseRoute]:
    return [
        Route("/api/apps/{app}/import/preview", preview, methods=["POST"]),
        Route("/api/apps/{app}/import", do_import, methods=["POST"]),
    ]

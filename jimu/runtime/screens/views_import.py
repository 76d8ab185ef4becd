"""The import screen (DESIGN 16): upload a CSV/XLSX file, see the inferred fields and the
first rows, map each column to a field of the chosen entity (or skip it), import, and see
the per-row error report when the file has bad rows (nothing is written then).

Plain forms, no script (strict CSP): ``action=preview`` uploads (multipart) and shows the
mapping; ``action=import`` posts the preview id and the mapping back. Both go through
:mod:`jimu.runtime.intel` with the caller's policy, exactly like the API."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from jimu.core.errors import JimuError
from jimu.runtime.intel.import_preview import Preview, get_preview, make_preview
from jimu.runtime.intel.import_read import read_sheet
from jimu.runtime.intel.import_run import run_import, suggest_mapping
from jimu.runtime.screens.base import Screen, open_screen, screen
from jimu.runtime.screens.i18n import label_text

__all__ = ["import_page", "import_submit", "MAX_UPLOAD"]

MAX_UPLOAD = 32 * 1024 * 1024


def _entities(s: Screen) -> list[tuple[str, str]]:
    assert s.policy is not None
    p = s.policy
    return [(e.name, label_text(e.label, s.lang) or e.name) for e in p.visible_entities()
            if p.parent_link(e.name) is None and p.can(e.name, "create")]


def _fields(s: Screen, entity: str) -> list[tuple[str, str]]:
    assert s.policy is not None
    ent = s.policy.rt.spec.entity(entity)
    if ent is None:
        return []
    writable = set(s.policy.writable_fields(entity))
    return [(f.name, label_text(f.label, s.lang) or f.name) for f in ent.active_fields
            if f.name in writable and f.type not in ("formula", "auto_number", "child_table")]


def _page(s: Screen, *, preview: Preview | None = None, entity: str = "", mapping: dict[str, Any] | None = None,
          report: list[dict[str, Any]] | None = None, done: dict[str, Any] | None = None,
          message: str | None = None, status: int = 200) -> Response:
    entities = _entities(s)
    shown = preview.as_json() if preview is not None else None
    return s.render("import.html", status=status, entities=entities, entity=entity or (entities[0][0] if entities
                                                                                        else ""),
                    preview=shown, fields=_fields(s, entity) if entity else [], mapping=mapping or {},
                    report=report or [], done=done, message=message)


@screen
async def import_page(request: Request) -> Response:
    """GET /app/{app}/import: the upload form."""
    s = await open_screen(request)
    return _page(s)


@screen
async def import_submit(request: Request) -> Response:
    """POST /app/{app}/import: ``action=preview`` (multipart upload) or ``action=import``."""
    s = await open_screen(request)
    assert s.policy is not None and s.form is not None
    form = s.form
    entity = str(form.get("entity") or "")
    if form.get("action") != "import":
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return _page(s, entity=entity, message=s.t("import_no_file"), status=422)
        data = await file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            return _page(s, entity=entity, message=s.t("import_too_big"), status=413)
        try:
            preview = make_preview(s.policy, read_sheet(file.filename or "", data))
            fields = [c.as_json() for c in preview.columns]
            mapping = suggest_mapping(s.policy, entity, fields) if entity else {}
        except JimuError as exc:
            return _page(s, entity=entity, message=exc.message, status=exc.status)
        return _page(s, preview=preview, entity=entity, mapping=mapping)
    try:
        preview = get_preview(s.policy, str(form.get("preview_id") or ""))
    except JimuError as exc:
        return _page(s, entity=entity, message=exc.message, status=exc.status)
    mapping = {c.name: (str(form.get(f"map-{c.name}") or "") or None) for c in preview.columns}
    try:
        out = run_import(s.policy, {"preview_id": preview.id, "entity": entity, "mapping": mapping})
    except JimuError as exc:
        report = exc.extra.get("errors") if isinstance(exc.extra.get("errors"), list) else None
        return _page(s, preview=preview, entity=entity, mapping=mapping, report=report, message=exc.message,
                     status=exc.status)
    return _page(s, entity=entity, done=out)

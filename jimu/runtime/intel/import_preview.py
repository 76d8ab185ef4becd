"""The import preview: a read spreadsheet with its inferred fields, kept server-side for
the import that follows.

Previews are kept in the database (:mod:`import_store`: any worker or process serving the
app reads them; each for ``TTL_SECONDS``, at most ``MAX_PER_USER`` per user and app), keyed
by a random ``preview_id`` and bound to the app and the user who uploaded it: another
caller (or another app) asking for it gets 404, as for a preview that expired. Link candidates are looked up per column among the entities the caller may read,
only in the rows their row filter admits, so a preview never reveals a record title the
caller could not list.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from jimu.core.errors import NotFound, PermissionDenied
from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec
from jimu.platform.specs.naming import name_from_label
from jimu.runtime.access import AccessPolicy
from jimu.runtime.intel.import_infer import Column, infer_column, norm_key
from jimu.runtime.intel.import_read import Sheet
from jimu.runtime.intel.import_store import MAX_PER_USER, TTL_SECONDS, load_preview, save_preview

__all__ = ["Preview", "make_preview", "get_preview", "link_index", "importable", "require_importer", "MAX_PER_USER",
           "TTL_SECONDS", "SHOWN_ROWS"]

SHOWN_ROWS = 20
_LINK_SAMPLE = 500  # distinct values of a column tried against each entity


@dataclass
class Preview:
    """A read file and what was inferred from it, bound to (app, user)."""

    id: str
    app: str
    user: str | None
    columns: list[Column]
    rows: list[list[Any]]

    def as_json(self) -> dict[str, Any]:
        return {"preview_id": self.id, "fields": [c.as_json() for c in self.columns], "total": len(self.rows),
                "rows": [{c.name: _shown(r[i]) for i, c in enumerate(self.columns)} for r in self.rows[:SHOWN_ROWS]],
                "errors": []}


def _shown(v: Any) -> Any:
    from jimu.platform.values import to_json

    return to_json(v) if v is not None and not isinstance(v, (str, int, bool)) else v


def importable(policy: AccessPolicy) -> list[str]:
    """Entities the caller may import into: top-level ones it may create (child rows are
    written through their parent)."""
    return [e.name for e in policy.visible_entities() if policy.parent_link(e.name) is None
            and policy.can(e.name, "create")]


def require_importer(policy: AccessPolicy) -> None:
    """403 ``forbidden.import`` for a caller who may import nothing (an admin may also
    create the entity), before the upload is read: the preview exists for the import only,
    and the per-caller OpenAPI document leaves both operations out for such a caller."""
    if not policy.is_admin and not importable(policy):
        raise PermissionDenied("你没有可导入的数据表 / you may not create records of any entity, so you cannot import",
                               code="forbidden.import")


def _keep(policy: AccessPolicy, p: Preview) -> None:
    payload = {"columns": [c.as_json() for c in p.columns], "rows": p.rows}
    save_preview(policy.jimu.db, p.id, p.app, p.user or "", payload, len(p.rows))


def get_preview(policy: AccessPolicy, preview_id: Any) -> Preview:
    """The caller's preview, 404 ``import.preview_not_found`` when unknown, expired, or
    uploaded by someone else or for another app."""
    user = policy.actor.username or ""
    payload = load_preview(policy.jimu.db, preview_id, policy.app, user) \
        if isinstance(preview_id, str) and 0 < len(preview_id) <= 64 else None
    if payload is None:
        raise NotFound("预览不存在或已过期，请重新上传 / preview not found or expired: upload the file again",
                       code="import.preview_not_found")
    return Preview(preview_id, policy.app, user, [Column(**c) for c in payload["columns"]], payload["rows"])


def _keys(ent: EntitySpec) -> list[str]:
    names = [ent.title] if ent.title else []
    names += [n for n in (ent.search_fields or []) if n not in names]
    return [n for n in names if (f := ent.field(n)) is not None and not f.archived and f.stored
            and f.value_type in ("text", "barcode", "auto_number", "phone", "email")]


def link_index(policy: AccessPolicy, entity: str, values: list[Any]) -> dict[str, int]:
    """{:func:`norm_key` of a title/search-field value → record id} for ``values``, among
    the rows of ``entity`` the caller may read (the first record wins a shared name)."""
    ent = policy.rt.spec.entity(entity)
    if ent is None or not policy.can(entity, "read"):
        return {}
    fields = [n for n in _keys(ent) if policy.field_rule(entity, n).access in ("read", "write")]
    wanted = {norm_key(v): v for v in values if v is not None and str(v).strip()}
    if not fields or not wanted:
        return {}
    t = policy.rt.tables(entity)
    clause = policy.row_clause(entity)
    out: dict[str, int] = {}
    texts = sorted({str(v).strip() for v in wanted.values()} | {str(k) for k in wanted})
    with policy.jimu.db.read() as conn:
        for name in fields:
            col = t.c[column_name(ent.field(name))]  # type: ignore[arg-type]
            for i in range(0, len(texts), 500):
                stmt = sa.select(t.c.id, col).where(col.in_(texts[i:i + 500])).order_by(t.c.id)
                if clause is not None:
                    stmt = stmt.where(clause)
                for rid, value in conn.execute(stmt):
                    out.setdefault(norm_key(value), int(rid))
    return out


def _candidates(policy: AccessPolicy) -> list[str]:
    return [e.name for e in policy.visible_entities() if policy.parent_link(e.name) is None and _keys(e)
            and policy.can(e.name, "read")]


def _unique_names(labels: list[str]) -> list[str]:
    out: list[str] = []
    for i, label in enumerate(labels):
        base = (name_from_label(label) or f"col_{i + 1}")[:50] or f"col_{i + 1}"
        if not base[0].isalpha():
            base = f"f_{base}"
        name, n = base, 2
        while name in out:
            name, n = f"{base}_{n}", n + 1
        out.append(name)
    return out


def make_preview(policy: AccessPolicy, sheet: Sheet) -> Preview:
    """Infer every column of ``sheet`` and keep the preview for the caller."""
    names = _unique_names(sheet.headers)
    entities = _candidates(policy)
    columns = []
    for i, (name, label) in enumerate(zip(names, sheet.headers, strict=True)):
        values = [r[i] for r in sheet.rows]
        distinct = list({norm_key(v): v for v in values if v is not None and str(v).strip()}.values())[:_LINK_SAMPLE]
        links = {}
        if distinct and all(isinstance(v, str) for v in distinct):
            links = {e: link_index(policy, e, distinct) for e in entities}
        columns.append(infer_column(name, label, values, links))
    preview = Preview(secrets.token_urlsafe(18), policy.app, policy.actor.username, columns, sheet.rows)
    _keep(policy, preview)
    return preview

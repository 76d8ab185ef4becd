"""The refusal of a direct write to a child entity (DESIGN 8: a child row has no rights
of its own and is written only through its parent's child list).

One builder for the access gate and the record service, so every entry point answers the
same problem: ``record.child_direct``, 422 for a create (the documented contract of
``POST``), 409 for an update or delete of an existing row, with ``parent`` naming the
parent entity, its child_table field and, when known, the parent's id and URL."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from jimu.core.errors import Conflict, JimuError, ValidationError

if TYPE_CHECKING:
    from jimu.runtime.apps import AppRuntime

__all__ = ["child_direct", "parent_link"]

_lock = threading.Lock()


def parent_link(rt: AppRuntime, entity: str) -> tuple[str, str] | None:
    """(parent entity, its child_table field) when ``entity``'s rows are child rows, else
    None; cached on the published runtime (it lives exactly as long as its spec)."""
    cache: dict[str, tuple[str, str] | None] = rt.__dict__.setdefault("_jimu_parent_links", {})
    if entity in cache:
        return cache[entity]
    found = rt.spec.parent_of(entity)
    link = None if found is None else (found[0].name, found[1])
    with _lock:
        cache[entity] = link
    return link


def child_direct(app: str, entity: str, parent: str, field: str, right: str, parent_id: Any = None) -> JimuError:
    """The error refusing ``right`` (create/update/delete) on child entity ``entity``."""
    target = f"/api/apps/{app}/data/{parent}/{parent_id if parent_id is not None else '{id}'}"
    verb_zh = "新增" if right == "create" else ("删除" if right == "delete" else "修改")
    verb_en = "created" if right == "create" else ("deleted" if right == "delete" else "changed")
    message = (f"{entity} 明细行只能在上级单据 {parent} 的 {field} 中{verb_zh} / {entity} rows are {verb_en} "
               f"only through their parent: PATCH {target} with '{field}'")
    pointer: dict[str, Any] = {"entity": parent, "field": field}
    if parent_id is not None:
        pointer.update(id=parent_id, href=target)
    if right == "create":
        return ValidationError(message, code="record.child_direct", extra={"parent": pointer})
    return Conflict(message, code="record.child_direct", extra={"parent": pointer})

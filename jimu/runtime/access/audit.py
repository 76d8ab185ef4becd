"""The audit trail as one caller may read it: entries of entities and records they may
see, with hidden fields removed and masked values replaced (old and new)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jimu.platform.audit import summarize
from jimu.platform.values import coerce, to_json
from jimu.runtime.access.policy import MASK_FAILED, AccessPolicy

__all__ = ["filter_audit"]


def _mask_value(policy: AccessPolicy, entity: str, field: str, mask: str, value: Any) -> Any:
    if value is None:
        return None
    spec = policy.rt.entity(entity).field(field)
    try:
        typed = coerce(spec, value) if spec is not None else value
    except (ValueError, TypeError):
        return MASK_FAILED
    return to_json(policy._mask(entity, mask, {field: typed}))


def filter_audit(policy: AccessPolicy, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries`` (contract shape) reduced to what ``policy``'s caller may read."""
    if policy.is_admin and not policy.roles_restrict():
        return entries
    by_entity: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e.get("entity") and e.get("record") is not None:
            by_entity[e["entity"]].add(str(e["record"]))
    visible: dict[str, set[str] | None] = {}
    for entity, ids in by_entity.items():
        if not policy.can(entity, "read"):
            visible[entity] = set()
        elif policy.row_clause(entity) is None:
            visible[entity] = None
        else:
            visible[entity] = policy.visible_ids(entity, ids)
    out: list[dict[str, Any]] = []
    for e in entries:
        entity = e.get("entity")
        if not entity:
            if policy.is_admin:
                out.append(e)
            continue
        if not policy.can(entity, "read"):
            continue
        allowed = visible.get(entity)
        if e.get("record") is not None and allowed is not None and str(e["record"]) not in allowed:
            continue
        out.append(_redact(policy, entity, e))
    return out


def _redact(policy: AccessPolicy, entity: str, entry: dict[str, Any]) -> dict[str, Any]:
    grant = policy.grant(entity)
    changes: list[dict[str, Any]] = []
    touched = False
    for ch in entry.get("changes") or []:
        rule = grant.field_rule(ch["field"])
        if not rule.visible:
            touched = True
            continue
        if rule.access == "mask" and rule.mask:
            touched = True
            ch = {"field": ch["field"], "old": _mask_value(policy, entity, ch["field"], rule.mask, ch["old"]),
                  "new": _mask_value(policy, entity, ch["field"], rule.mask, ch["new"])}
        changes.append(ch)
    if not touched:
        return entry
    entry = dict(entry, changes=changes)
    if entry.get("action") == "update":
        zh, en = summarize(entry.get("user"), "update", policy.rt.entity(entity), f"#{entry.get('record')}", changes)
        entry["summary"] = {"zh": zh, "en": en}
    return entry

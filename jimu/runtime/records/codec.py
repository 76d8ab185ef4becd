"""Rows to records and back: column names <-> field names, JSON rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec
from jimu.platform.values import to_json

__all__ = ["SYSTEM_FIELDS", "row_to_record", "record_to_json", "columns_for"]

SYSTEM_FIELDS = ("id", "version", "created_at", "updated_at", "created_by", "updated_by")


def columns_for(entity: EntitySpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Field-name keyed values -> column-name keyed values (stored fields only)."""
    out: dict[str, Any] = {}
    for f in entity.fields:
        if f.stored and f.name in values:
            out[column_name(f)] = values[f.name]
    return out


_PLANS: dict[tuple[int, bool], tuple[EntitySpec, tuple[tuple[str, str], ...]]] = {}


def _plan(entity: EntitySpec, include_archived: bool) -> tuple[tuple[str, str], ...]:
    """(field name, column) of the stored fields, computed once per entity object (the
    cache keeps the entity alive, so its id cannot be reused by another object)."""
    key = (id(entity), include_archived)
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is entity:
        return hit[1]
    plan = tuple((f.name, column_name(f)) for f in entity.fields
                 if f.stored and (include_archived or not f.archived))
    if len(_PLANS) > 4096:
        _PLANS.clear()
    _PLANS[key] = (entity, plan)
    return plan


def row_to_record(entity: EntitySpec, row: Mapping[str, Any], *, include_archived: bool = False) -> dict[str, Any]:
    """A record dict (system fields + active fields by name) from a row of the entity's
    table (or any mapping holding some of its columns)."""
    plan = _plan(entity, include_archived)
    try:
        rec: dict[str, Any] = {k: row[k] for k in SYSTEM_FIELDS}
        for name, col in plan:
            rec[name] = row[col]
    except KeyError:  # a partial row: take what is there
        rec = {k: row[k] for k in SYSTEM_FIELDS if k in row}
        rec.update((name, row[col]) for name, col in plan if col in row)
    if "_parent_id" in row:
        rec["_parent_id"] = row["_parent_id"]
        rec["_idx"] = row.get("_idx")
    return rec


def record_to_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready record: Decimal as strings, dates ISO, children rendered too."""
    return {k: to_json(v) if not isinstance(v, list) or not v or not isinstance(v[0], dict)
            else [record_to_json(c) for c in v] for k, v in record.items() if not k.startswith("_")}

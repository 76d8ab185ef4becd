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


def row_to_record(entity: EntitySpec, row: Mapping[str, Any], *, include_archived: bool = False) -> dict[str, Any]:
    """A record dict (system fields + active fields by name) from a table row."""
    rec: dict[str, Any] = {k: row[k] for k in SYSTEM_FIELDS if k in row}
    for f in entity.fields:
        if not f.stored or (f.archived and not include_archived):
            continue
        col = column_name(f)
        if col in row:
            rec[f.name] = row[col]
    for key in ("_parent_id", "_idx"):
        if key in row:
            rec[key] = row[key]
    return rec


def record_to_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-ready record: Decimal as strings, dates ISO, children rendered too."""
    return {k: to_json(v) if not isinstance(v, list) or not v or not isinstance(v[0], dict)
            else [record_to_json(c) for c in v] for k, v in record.items() if not k.startswith("_")}

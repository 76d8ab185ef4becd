"""Checking a record's input against its entity: one error per field, all at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jimu.core.errors import FieldError
from jimu.platform.specs import EntitySpec, FieldSpec
from jimu.platform.values import READ_ONLY_TYPES, coerce, is_blank
from jimu.runtime.records.codec import SYSTEM_FIELDS

__all__ = ["check_input", "IGNORED_KEYS"]

# Keys a client may send back unchanged (e.g. a record it read) that are not field values.
IGNORED_KEYS = frozenset(SYSTEM_FIELDS) | {"_parent_id", "_idx"}


def check_input(entity: EntitySpec, data: Mapping[str, Any], *, creating: bool, prefix: str = "",
                state_field: str | None = None) -> tuple[dict[str, Any], dict[str, list[Any]], list[FieldError]]:
    """Split ``data`` into coerced scalar values and child-table lists, with every problem.

    Returns (values, children, errors). Unknown fields, archived fields, computed fields
    and wrong types each give their own error; ``required`` is checked by the caller after
    defaults are applied."""
    values: dict[str, Any] = {}
    children: dict[str, list[Any]] = {}
    errors: list[FieldError] = []
    by_name: dict[str, FieldSpec] = {f.name: f for f in entity.fields}
    unknown = [k for k in data if k not in by_name and k not in IGNORED_KEYS]
    for key in unknown:
        errors.append(FieldError(prefix + key, "field.unknown", f"'{key}' is not a field of {entity.name}"))
    for key, raw in data.items():
        f = by_name.get(key)
        if f is None:
            continue
        path = prefix + key
        if f.archived:
            errors.append(FieldError(path, "field.archived", f"'{key}' is archived; restore it to write it"))
            continue
        if f.type in READ_ONLY_TYPES:
            continue  # computed by Jimu; a value sent back unchanged is not an error
        if f.type == "child_table":
            if raw is None:
                raw = []
            if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
                errors.append(FieldError(path, "type", "expected a list of rows (objects)"))
            else:
                children[key] = raw
            continue
        if f.required and is_blank(raw) and (creating or key in data):
            errors.append(FieldError(path, "required", f"{f.label.zh or key} is required / 必填"))
            continue
        if isinstance(raw, str) and not raw.strip() and f.value_type not in ("text", "long_text"):
            raw = None
        try:
            values[key] = coerce(f, raw)
        except (ValueError, TypeError) as exc:
            errors.append(FieldError(path, "type", str(exc)))
    return values, children, errors

"""Which sort a caller's list may use.

A list sorted by a field reveals that field twice: in the row order, and in the keyset
cursor (``next_cursor`` carries the last row's sort value in clear). So a list is sorted
only by a field the caller reads in full (``read`` or ``write`` access) or a system field;
never by a hidden or masked one. Asked for explicitly, such a sort is refused (422
``sort.invalid``, like any unknown field); an entity's ``default_sort`` on such a field
falls back, for that caller only, to ``-id`` (newest first)."""

from __future__ import annotations

from jimu.core.errors import FieldError, ValidationError
from jimu.runtime.access.policy import AccessPolicy
from jimu.runtime.records.codec import SYSTEM_FIELDS

__all__ = ["list_sort", "may_sort_by", "FALLBACK_SORT"]

FALLBACK_SORT = "-id"


def may_sort_by(policy: AccessPolicy, entity: str, sort: str) -> bool:
    """Whether ``sort`` (a field name, ``-`` for descending) shows nothing the caller may
    not read: a system field, or a field with read or write access."""
    name = sort.lstrip("-+")
    return name in SYSTEM_FIELDS or policy.field_rule(entity, name).access in ("read", "write")


def list_sort(policy: AccessPolicy, entity: str, requested: str | None) -> str:
    """The sort of ``entity``'s list for the caller: ``requested`` (422 when not allowed),
    else the entity's default sort when allowed, else :data:`FALLBACK_SORT`."""
    if requested:
        if not may_sort_by(policy, entity, requested):
            raise ValidationError(f"cannot sort by '{requested}'", code="sort.invalid",
                                  errors=[FieldError("sort", "sort.invalid", "not a field you can sort by")])
        return requested
    default = policy.rt.entity(entity).default_sort or FALLBACK_SORT
    return default if may_sort_by(policy, entity, default) else FALLBACK_SORT

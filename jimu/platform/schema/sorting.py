"""Sorting stays on indexes as tables grow (issue 24).

A list sorted on a column without an index sorts the whole table for every page: fine at
2,000 rows, 200 ms at a million. Two rules keep every offered sort indexed:

- :func:`index_view_sorts`: publishing a view that sorts by a field without an index
  marks that field ``indexed``, so the same publish creates the index through schema
  evolution (``create_index``, shown in the diff and the changelog like any other change),
  as Odoo or ERPNext users expect a saved list order to stay fast.
- :func:`sortable_fields`: the list screens offer column-header sorting only on indexed
  columns (the id, the system timestamps, links, unique and indexed fields, auto numbers).

The data API keeps accepting ``?sort=`` on any stored field (the public contract); such a
sort on an unindexed field costs a full sort, which is why the screens do not offer it.
"""

from __future__ import annotations

from jimu.platform.schema.columns import field_index_kind
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.entity import EntitySpec

__all__ = ["index_view_sorts", "sortable_fields", "INDEXED_SYSTEM_FIELDS", "UNSORTABLE_TYPES"]

#: System columns with an index (the primary key and the timestamps).
INDEXED_SYSTEM_FIELDS = ("id", "created_at", "updated_at")
UNSORTABLE_TYPES = ("json", "multi_choice", "geo", "child_table")


def index_view_sorts(spec: AppSpec) -> AppSpec:
    """``spec`` with every field a view sorts by marked ``indexed`` (when it has no index
    yet); the same object when nothing needs one."""
    wanted: dict[str, set[str]] = {}
    for view in spec.views:
        ent = spec.entity(view.entity)
        if ent is None:
            continue
        for key in view.sort:
            f = ent.field(key.lstrip("+-"))
            if (f is not None and f.stored and not f.archived and f.type not in UNSORTABLE_TYPES
                    and field_index_kind(f) is None):
                wanted.setdefault(ent.name, set()).add(f.name)
    if not wanted:
        return spec
    entities = []
    for ent in spec.entities:
        names = wanted.get(ent.name)
        if names:
            ent = ent.model_copy(update={"fields": [f.model_copy(update={"indexed": True}) if f.name in names else f
                                                    for f in ent.fields]})
        entities.append(ent)
    return spec.model_copy(update={"entities": entities})


def sortable_fields(entity: EntitySpec) -> set[str]:
    """Names a list screen offers to sort by: indexed system columns and indexed fields."""
    return set(INDEXED_SYSTEM_FIELDS) | {f.name for f in entity.fields if field_index_kind(f) is not None
                                         and f.type not in UNSORTABLE_TYPES}

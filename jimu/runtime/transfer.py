"""Exporting an app (spec and records) and importing it again, losslessly."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from jimu.core.errors import Conflict
from jimu.platform.schema import column_name
from jimu.platform.specs import AppSpec, EntitySpec
from jimu.platform.values import coerce, to_json
from jimu.runtime.context import Jimu
from jimu.runtime.records.codec import SYSTEM_FIELDS, row_to_record

__all__ = ["export_app", "import_app", "FORMAT"]

FORMAT = "jimu.app/v1"


def export_app(jimu: Jimu, name: str, *, with_data: bool = False) -> dict[str, Any]:
    """{"format", "spec", "data"?}: the draft spec; records by entity with ``with_data``."""
    spec = jimu.store.draft(name)
    doc: dict[str, Any] = {"format": FORMAT, "spec": spec.dump()}
    if with_data and jimu.store.published_version(name):
        rt = jimu.apps.get(name)
        data: dict[str, list[dict[str, Any]]] = {}
        with jimu.db.read() as c:
            for ent in rt.spec.entities:
                table = rt.tables(ent.name)
                rows = c.execute(sa.select(table).order_by(table.c.id)).mappings().all()
                data[ent.name] = [to_json(row_to_record(ent, r, include_archived=True)) for r in rows]
        doc["data"] = data
    return doc


def _order(spec: AppSpec) -> list[EntitySpec]:
    """Entities with link targets and parents first."""
    done: list[EntitySpec] = []
    names: set[str] = set()
    pending = list(spec.entities)
    while pending:
        progressed = False
        for ent in list(pending):
            deps = {f.target for f in ent.fields if f.type == "link" and f.target and f.target != ent.name}
            parent = spec.parent_of(ent.name)
            if parent:
                deps.add(parent[0].name)
            if deps <= names | {d for d in deps if spec.entity(d) is None}:
                done.append(ent)
                names.add(ent.name)
                pending.remove(ent)
                progressed = True
        if not progressed:
            done.extend(pending)
            break
    return done


def import_app(jimu: Jimu, spec: dict[str, Any], data: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Create and publish the app of ``spec`` and restore ``data`` with its ids."""
    name = spec["name"]
    if jimu.store.exists(name):
        raise Conflict(f"app '{name}' already exists; import with --name NEW", code="app.exists")
    spec = {**spec, "entities": [{**e, "table": None} for e in spec.get("entities", [])]}
    jimu.store.create_app(name, spec.get("label"))
    try:
        jimu.store.save_draft(name, spec, author="import")
        jimu.store.publish(name, author="import")
    except Exception:
        jimu.store.delete_app_metadata(name)  # nothing was published: leave no half-made app
        raise
    counts: dict[str, int] = {}
    if not data:
        return counts
    rt = jimu.apps.get(name)
    with jimu.db.write() as c:
        for ent in _order(rt.spec):
            rows = data.get(ent.name) or []
            if not rows:
                continue
            table = rt.tables(ent.name)
            values = []
            for rec in rows:
                row: dict[str, Any] = {k: rec.get(k) for k in SYSTEM_FIELDS if k in rec}
                for k in ("created_at", "updated_at"):
                    if isinstance(row.get(k), str):
                        from datetime import datetime

                        row[k] = datetime.fromisoformat(row[k])
                for key in ("_parent_id", "_idx"):
                    if key in table.c and key in rec:
                        row[key] = rec[key]
                for f in ent.fields:
                    if f.stored and f.name in rec:
                        probe = f.model_copy(update={"type": f.value_type}) if f.type == "formula" else f
                        try:
                            row[column_name(f)] = coerce(probe, rec[f.name])
                        except (ValueError, TypeError):
                            row[column_name(f)] = rec[f.name]
                values.append(row)
            c.execute(table.insert(), values)
            counts[ent.name] = len(values)
            if c.dialect.name == "postgresql":
                c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                  f"(SELECT COALESCE(MAX(id), 1) FROM \"{table.name}\"))"))
    return counts

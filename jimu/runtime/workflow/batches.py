"""Batch-aware postings (the food template): receipts that create or reuse the batch
record, and reservations/shipments that allocate batches first-expiry-first-out.

Posting options read here (see ``postings.py`` for the base format)::

    "batch_from": {"entity": "batch", "key": ["item", "batch_no"],
                   "fields": {"batch_no": "batch_no", "production_date": "production_date",
                              "expiry_date": "expiry_date"},      # receipt: line -> batch record
                   "fallback": {"batch_no": "number"}}            # a blank field takes another's value
    "allocate": "fefo", "expiry_field": "expiry_date"             # reserve/ship without a batch
    "record_batch": "batch"                                        # ship: store the batch on the line
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.actor import Actor
from jimu.platform.ledger import allocate_fefo
from jimu.platform.schema import column_name
from jimu.platform.specs import LedgerSpec
from jimu.runtime.apps import AppRuntime

__all__ = ["resolve_batch", "fefo_split", "batch_dimension"]


def batch_dimension(lg: LedgerSpec) -> tuple[str, str] | None:
    """(dimension name, entity) of the ledger's batch dimension, if it has one."""
    for d in lg.dimensions:
        if d.name == "batch" or (d.entity or "") == "batch":
            return d.name, d.entity or "batch"
    return None


def resolve_batch(conn: Connection, rt: AppRuntime, records: Any, spec: Mapping[str, Any],
                  line: Mapping[str, Any], doc: Mapping[str, Any], actor: Actor) -> int | None:
    """The id of the batch record the receipt ``line`` names (created when new)."""
    entity = str(spec.get("entity") or "batch")
    fields: Mapping[str, str] = spec.get("fields") or {}
    values = {target: line.get(src) if line.get(src) is not None else doc.get(src) for target, src in fields.items()}
    # A produced batch always gets a number (the work order's own, say), so the genealogy
    # of what it was made from is never lost to a blank field.
    for target, src in (spec.get("fallback") or {}).items():
        if values.get(target) in (None, ""):
            values[target] = line.get(src) if line.get(src) is not None else doc.get(src)
    key = list(spec.get("key") or ["item", "batch_no"])
    for k in key:
        if k not in values:
            values[k] = line.get(k) if line.get(k) is not None else doc.get(k)
    if any(values.get(k) in (None, "") for k in key):
        return None
    from jimu.runtime.stock.expiry import check_received_expiry, default_expiry

    ent = rt.entity(entity)
    table = rt.tables(entity)
    stmt = sa.select(table.c.id)
    for k in key:
        f = ent.field(k)
        if f is None:
            return None
        stmt = stmt.where(table.c[column_name(f)] == values[k])
    expiry_field = ent.field("expiry_date")
    if expiry_field is not None:
        stmt = stmt.add_columns(table.c[column_name(expiry_field)])
    found = conn.execute(stmt.limit(1)).first()
    if found is not None:  # the batch exists: its own expiry decides
        if expiry_field is not None:
            check_received_expiry(conn, rt, {**values, "expiry_date": found[1]}, doc, actor)
        return int(found[0])
    if expiry_field is not None:
        default_expiry(conn, rt, values)  # production date + the item's shelf life
        check_received_expiry(conn, rt, values, doc, actor)
    created = records.create(rt.name, entity, {k: v for k, v in values.items() if v is not None},
                             actor=actor, conn=conn)
    return int(created["id"])


def _expiries(conn: Connection, rt: AppRuntime, entity: str, field: str) -> dict[Any, date | None]:
    ent = rt.entity(entity)
    f = ent.field(field)
    if f is None:
        return {}
    table = rt.tables(entity)
    return {str(r[0]): r[1] for r in conn.execute(sa.select(table.c.id, table.c[column_name(f)]))}


def fefo_split(conn: Connection, rt: AppRuntime, lg: LedgerSpec, p: Any, dims: dict[str, Any], qty: Any
               ) -> list[tuple[dict[str, Any], Any]]:
    """``[(dims with batch, qty), ...]`` covering ``qty`` first-expiry-first-out, or the line
    unchanged when it already names a batch or the ledger has none."""
    from jimu.platform.ledger import as_ledger
    from jimu.runtime.stock.batch_rules import blocked_batches, check_pin

    bd = batch_dimension(lg)
    if bd is None:
        return [(dims, qty)]
    if dims.get(bd[0]) is not None:  # a typed batch pins the allocation, or is refused
        check_pin(conn, rt, as_ledger(lg), dims, qty, bd[0], bd[1])
        return [(dims, qty)]
    field = str((p.get("expiry_field") if isinstance(p, Mapping) else None) or "expiry_date")
    expiry = _expiries(conn, rt, bd[1], field)
    blocked = blocked_batches(conn, rt, bd[1])
    parts = allocate_fefo(conn, rt.name, lg, dims.get("item"), dims.get("warehouse"), qty,
                          lambda b: expiry.get(str(b)), skip=lambda b: str(b) in blocked)
    return [({**dims, bd[0]: _as_id(batch)}, part) for batch, part in parts]


def _as_id(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value

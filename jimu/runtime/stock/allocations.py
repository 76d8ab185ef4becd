"""Which batches each document line took: the read-only ``allocations`` of a line.

A line that takes batch stock (a sales order line, a work-order component, a dish sale's
ingredient) carries ``allocations: [{batch, qty}]`` and, when it has a ``batch`` link, the
batch itself when a single one was taken. Both are derived from the ledger's movement
log of the document, never from what a client sent, so the paperwork cannot disagree with
the stock that moved:

    allocated(line, batch) = sum of reserved deltas   (held now)
                           + sum of on_hand taken out by ship / transfer_out

A reservation adds, a shipment that consumes it moves the amount from "held" to "gone"
(no change), a release or an expired hold takes it back off. The engine calls
:func:`record_allocations` after a transition's postings and actions, in the same
transaction, and re-reads the record when lines changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.ledger import as_ledger
from jimu.platform.ledger.tables import movement
from jimu.platform.schema import column_name
from jimu.runtime.apps import AppRuntime

__all__ = ["ALLOCATIONS_FIELD", "record_allocations", "line_fields", "allocations_of"]

ALLOCATIONS_FIELD = "allocations"
_OUT_KINDS = ("ship", "transfer_out")
_M = movement.c


def _batch_dim(lg: Any) -> str | None:
    for d in lg.dimensions:
        if d.name == "batch" or (d.entity or "") == "batch":
            return str(d.name)
    return None


def line_fields(rt: AppRuntime, entity: str) -> list[tuple[str, str, Any]]:
    """(child field, child entity, ledger spec) for each line table of ``entity`` whose
    rows carry ``allocations``, with each ledger that has a batch dimension (postings or
    stock actions such as transfers name the line on their movements)."""
    out: list[tuple[str, str, Any]] = []
    ent = rt.spec.entity(entity)
    if ent is None:
        return out
    ledgers = [lg for lg in rt.spec.ledgers if _batch_dim(lg) is not None]
    for f in ent.active_fields:
        child = rt.spec.entity(f.target) if f.type == "child_table" and f.target else None
        if child is None or child.field(ALLOCATIONS_FIELD) is None:
            continue
        out += [(f.name, child.name, lg) for lg in ledgers]
    return out


def allocations_of(conn: Connection, app: str, lg: Any, entity: str, doc_id: Any
                   ) -> dict[str, list[tuple[Any, int]]]:
    """line id (text) -> [(batch, units)] taken by the lines of one document, in the order
    the batches were first allocated."""
    dim = _batch_dim(lg)
    sel = (sa.select(_M.doc_line, _M.dims, _M.kind, _M.d_reserved, _M.d_on_hand)
           .where(_M.app == app, _M.ledger == lg.name, _M.doc_entity == entity, _M.doc_id == str(doc_id))
           .order_by(_M.id))
    per: dict[str, dict[Any, int]] = {}
    for line, dims, kind, d_res, d_hand in conn.execute(sel):
        if line is None or dim is None or (dims or {}).get(dim) is None:
            continue
        units = int(d_res) + (-int(d_hand) if kind in _OUT_KINDS else 0)
        slot = per.setdefault(str(line), {})
        batch = dims[dim]
        slot[batch] = slot.get(batch, 0) + units
    return {line: [(b, u) for b, u in taken.items() if u] for line, taken in per.items()}


def _as_id(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def record_allocations(conn: Connection, rt: AppRuntime, entity: str, doc: Mapping[str, Any]) -> bool:
    """Write ``allocations`` (and ``batch`` when a single one) on the lines of ``doc``
    from its movements; True when a line changed (the caller re-reads the record)."""
    changed = False
    for _field, child_name, spec in line_fields(rt, entity):
        lg = as_ledger(spec)
        taken = allocations_of(conn, rt.name, spec, entity, doc["id"])
        child = rt.spec.entity(child_name)
        assert child is not None
        table = rt.tables(child_name)
        alloc_col = table.c[column_name(child.field(ALLOCATIONS_FIELD))]  # type: ignore[arg-type]
        batch_field = child.field("batch")
        batch_col = table.c[column_name(batch_field)] if batch_field is not None and batch_field.type == "link" else None
        cols = [table.c.id, alloc_col] + ([batch_col] if batch_col is not None else [])
        parent = int(doc["id"]) if str(doc["id"]).isdigit() else doc["id"]
        for row in conn.execute(sa.select(*cols).where(table.c._parent_id == parent)).all():
            parts = taken.get(str(row[0]), [])
            value = [{"batch": _as_id(b), "qty": str(lg.to_qty(u))} for b, u in parts]
            values: dict[str, Any] = {}
            if _normal(row[1]) != _normal(value):
                values[alloc_col.name] = value
            if batch_col is not None and parts:
                single = _as_id(parts[0][0]) if len(parts) == 1 else None
                if row[2] != single:
                    values[batch_col.name] = single
            if values:
                conn.execute(sa.update(table).where(table.c.id == row[0]).values(values))
                changed = True
    return changed


def _normal(value: Any) -> list[tuple[str, Decimal]]:
    if not value:
        return []
    return [(str(v.get("batch")), Decimal(str(v.get("qty")))) for v in value if isinstance(v, Mapping)]

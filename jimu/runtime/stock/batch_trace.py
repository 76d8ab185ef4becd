"""The trace answer of ``GET /api/apps/{app}/trace/batch/{id}`` built from a genealogy walk
as the caller may see it (DESIGN 16).

Documents the caller may not read (entity right or row filter) are left out of the lists;
labels of items, warehouses, customers, suppliers and batches carry only the fields the
caller reads unmasked. Every lookup is one query per entity for the whole walk, whatever
its size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core.errors import NotFound, ValidationError
from jimu.platform.ledger import Ledger, as_ledger
from jimu.platform.schema import column_name
from jimu.platform.values import to_json
from jimu.runtime.access import AccessPolicy
from jimu.runtime.stock.genealogy import DocRef, Flow, Node, Walk, customer_field, walk
from jimu.runtime.workflow.batches import batch_dimension

__all__ = ["Affected", "TraceContext", "affected", "open_trace", "trace_answer"]

_CHUNK = 500
_LABEL_FIELDS = {"item": ("sku", "name"), "warehouse": ("name",), "customer": ("code", "name"),
                 "supplier": ("code", "name"), "batch": ("batch_no", "expiry_date", "quality_status")}


@dataclass
class TraceContext:
    """What a trace needs: the caller's policy, the batch ledger and its batch dimension."""

    policy: AccessPolicy
    lg: Ledger
    batch_dim: str
    batch_entity: str
    links: dict[tuple[str, str], str | None] = field(default_factory=dict)


def open_trace(policy: AccessPolicy, batch_id: Any, ledger: str = "stock") -> tuple[TraceContext, dict[str, Any]]:
    """The context and the batch record (404 unless the caller may read it; 404
    ``trace.no_batches`` when the app keeps no batches)."""
    spec = policy.rt.spec.ledger(ledger)
    bd = batch_dimension(spec) if spec is not None else None
    if spec is None or bd is None:
        raise NotFound(f"app '{policy.app}' keeps no batches in a '{ledger}' ledger", code="trace.no_batches")
    batch = policy.load(bd[1], batch_id)
    return TraceContext(policy, as_ledger(spec), bd[0], bd[1]), batch


class _Labels:
    """Caller-visible labels of linked records, fetched one query per entity."""

    def __init__(self, policy: AccessPolicy) -> None:
        self.policy = policy
        self.rows: dict[str, dict[str, dict[str, Any]]] = {}
        self.titles: dict[str, str | None] = {}

    def load(self, entity: str, ids: Iterable[str | None], fields: Iterable[str] = ()) -> None:
        wanted = sorted({int(i) for i in ids if i is not None and str(i).isdigit()})
        store = self.rows.setdefault(entity, {})
        ent = self.policy.rt.spec.entity(entity)
        if not wanted or ent is None or not self.policy.can(entity, "read"):
            return
        names = [f for f in (*_LABEL_FIELDS.get(entity, ()), *fields, ent.title_field or "")
                 if f and ent.field(f) is not None and self.policy.field_rule(entity, f).access in ("read", "write")]
        table = self.policy.rt.tables(entity)
        cols: list[Any] = [table.c.id]
        cols += [table.c[column_name(ent.field(f))].label(f) for f in dict.fromkeys(names)]  # type: ignore[arg-type]
        clause = self.policy.row_clause(entity)
        with self.policy.jimu.db.read() as conn:
            for i in range(0, len(wanted), _CHUNK):
                stmt = sa.select(*cols).where(table.c.id.in_(wanted[i:i + _CHUNK]))
                if clause is not None:
                    stmt = stmt.where(clause)
                result = conn.execute(stmt)
                names_out = list(result.keys())
                for r in result:
                    store[str(r[0])] = {k: (v if v is None or type(v) in (int, str) else to_json(v))
                                        for k, v in zip(names_out, r, strict=True)}

    def visible(self, entity: str, record_id: str | None) -> bool:
        return record_id is not None and str(record_id) in self.rows.get(entity, {})

    def get(self, entity: str, record_id: str | None) -> dict[str, Any] | None:
        if record_id is None:
            return None
        row = self.rows.get(entity, {}).get(str(record_id))
        return dict(row) if row is not None else {"id": int(record_id) if str(record_id).isdigit() else record_id}

    def document(self, doc: DocRef) -> dict[str, Any]:
        entity, record_id = doc
        row = self.rows.get(entity, {}).get(record_id, {})
        if entity not in self.titles:
            ent = self.policy.rt.spec.entity(entity)
            self.titles[entity] = ent.title_field if ent is not None else None
        title = self.titles[entity]
        number = row.get(title) if title else None
        return {"entity": entity, "id": int(record_id) if record_id.isdigit() else record_id, "number": number}


@dataclass
class Affected:
    """One customer's share of a walk: units shipped per (batch, document)."""

    customer: str | None
    batch: str
    doc: DocRef
    units: int


def _link_of(ctx: TraceContext, entity: str, target: str) -> str | None:
    """The link field of ``entity`` to ``target`` (cached on the trace context)."""
    key = (entity, target)
    if key not in ctx.links:
        ctx.links[key] = customer_field(ctx.policy.rt.spec, entity, target)
    return ctx.links[key]


def affected(ctx: TraceContext, w: Walk) -> list[Affected]:
    """Every shipment to a customer of every batch of the walk, with the customer id read
    from the document (unfiltered: the recall is about the goods, not the caller)."""
    spec = ctx.policy.rt.spec
    by_entity: dict[str, set[str]] = {}
    for node in w.nodes.values():
        for entity, doc_id in node.shipped:
            by_entity.setdefault(entity, set()).add(doc_id)
    customer_of: dict[DocRef, str | None] = {}
    with ctx.policy.jimu.db.read() as conn:
        for entity, ids in by_entity.items():
            f = _link_of(ctx, entity, "customer")
            ent = spec.entity(entity)
            if f is None or ent is None:
                continue
            table = ctx.policy.rt.tables(entity)
            col = table.c[column_name(ent.field(f))]  # type: ignore[arg-type]
            wanted = sorted(int(i) for i in ids if i.isdigit())
            for i in range(0, len(wanted), _CHUNK):
                for rid, cust in conn.execute(sa.select(table.c.id, col).where(table.c.id.in_(wanted[i:i + _CHUNK]))):
                    customer_of[(entity, str(rid))] = str(cust) if cust is not None else None
    out = []
    for node in w.nodes.values():
        for doc, flow in node.shipped.items():
            out.append(Affected(customer_of.get(doc), node.batch, doc, flow.units))
    return out


def _qty(ctx: TraceContext, units: int) -> str:
    value: Decimal = ctx.lg.to_qty(units)
    return str(to_json(value))


def _collect(ctx: TraceContext, w: Walk) -> _Labels:
    labels = _Labels(ctx.policy)
    docs: dict[str, set[str]] = {}
    items: set[str | None] = set()
    whs: set[str | None] = set()
    for node in w.nodes.values():
        items.add(node.item)
        whs.update(wh for wh, _ in node.stock)
        for flows in (node.received, node.produced, node.shipped, node.consumed):
            for entity, doc_id in flows:
                docs.setdefault(entity, set()).add(doc_id)
    batches: set[str | None] = {*w.nodes}
    for prod in w.productions.values():
        for item, b in (*prod.inputs, *prod.outputs):
            items.add(item)
            batches.add(b)
    partners: dict[str, set[str | None]] = {"customer": set(), "supplier": set()}
    for entity, ids in docs.items():
        extra = [f for f in (_link_of(ctx, entity, "customer"), _link_of(ctx, entity, "supplier")) if f]
        labels.load(entity, ids, extra)
        for f, target in ((_link_of(ctx, entity, "customer"), "customer"),
                          (_link_of(ctx, entity, "supplier"), "supplier")):
            if f:
                partners[target].update(str(r[f]) if r.get(f) is not None else None
                                        for r in labels.rows.get(entity, {}).values())
    labels.load("item", items)
    labels.load("warehouse", whs)
    labels.load(ctx.batch_entity, batches)
    for target, refs in partners.items():
        labels.load(target, refs)
    return labels


def _flows(ctx: TraceContext, labels: _Labels, flows: Mapping[DocRef, Flow]) -> list[tuple[DocRef, Flow]]:
    """The flows whose document the caller may read, oldest first."""
    rows = [(d, f) for d, f in flows.items() if labels.visible(d[0], d[1])]
    rows.sort(key=lambda x: (x[1].at.isoformat() if x[1].at else "", x[0]))
    return rows


def _partner(ctx: TraceContext, labels: _Labels, doc: DocRef, target: str) -> dict[str, Any] | None:
    f = _link_of(ctx, doc[0], target)
    if f is None:
        return None
    value = labels.rows.get(doc[0], {}).get(doc[1], {}).get(f)
    return labels.get(target, str(value)) if value is not None else None


def _node(ctx: TraceContext, labels: _Labels, w: Walk, node: Node) -> dict[str, Any]:
    be = ctx.batch_entity
    out: dict[str, Any] = {"batch": labels.get(be, node.batch), "item": labels.get("item", node.item)}
    out["received"] = [{"document": labels.document(d), "supplier": _partner(ctx, labels, d, "supplier"),
                        "qty": _qty(ctx, f.units), "at": to_json(f.at)} for d, f in _flows(ctx, labels, node.received)]
    out["produced_from"] = []
    for d, f in _flows(ctx, labels, node.produced):
        prod = w.productions.get(d)
        comps = [{"item": labels.get("item", item), "batch": labels.get(be, b), "qty": _qty(ctx, units)}
                 for (item, b), units in sorted((prod.inputs if prod else {}).items(), key=lambda x: str(x[0]))]
        out["produced_from"].append({"document": labels.document(d), "qty": _qty(ctx, f.units),
                                     "at": to_json(f.at), "components": comps})
    out["shipped"] = [{"document": labels.document(d), "customer": _partner(ctx, labels, d, "customer"),
                       "qty": _qty(ctx, f.units), "at": to_json(f.at)} for d, f in _flows(ctx, labels, node.shipped)]
    out["consumed"] = []
    for d, f in _flows(ctx, labels, node.consumed):
        prod = w.productions.get(d)
        made = [b for (_i, b) in (prod.outputs if prod else {}) if b is not None]
        out["consumed"].append({"document": labels.document(d), "qty": _qty(ctx, f.units), "at": to_json(f.at),
                                "produced_batch": labels.get(be, made[0]) if made else None})
    out["stock"] = [{"warehouse": labels.get("warehouse", wh), "bucket": bucket, "qty": _qty(ctx, units)}
                    for (wh, bucket), units in sorted(node.stock.items(), key=lambda x: (str(x[0][0]), x[0][1]))]
    return out


def trace_answer(ctx: TraceContext, root: Any, direction: str, *, max_depth: int = 20,
                 max_nodes: int = 5000) -> dict[str, Any]:
    """The nested trace of batch ``root`` in ``direction`` (``children`` down, ``parents``
    up); a batch reached a second time is listed as ``{"batch", "item", "repeat": true}``."""
    if direction not in ("down", "up"):
        raise ValidationError("direction must be down or up", code="trace.direction")
    policy = ctx.policy
    with policy.jimu.db.read() as conn:
        w = walk(conn, policy.app, ctx.lg, policy.rt.spec, root, direction, batch_dim=ctx.batch_dim,
                 max_depth=max_depth, max_nodes=max_nodes)
    labels = _collect(ctx, w)
    rel = "children" if direction == "down" else "parents"
    built: set[str] = set()

    def build(batch: str) -> dict[str, Any]:
        node = w.nodes[batch]
        if batch in built:
            return {"batch": labels.get(ctx.batch_entity, batch), "item": labels.get("item", node.item), "repeat": True}
        built.add(batch)
        out = _node(ctx, labels, w, node)
        out[rel] = [build(b) for b in w.next_of(batch) if b in w.nodes]
        return out

    answer = build(w.root)
    answer.update(direction=direction, truncated=w.truncated, batches=len(w.nodes))
    return answer

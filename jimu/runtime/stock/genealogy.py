"""Batch genealogy read straight from the ledger's movement table.

A batch's life is in the movements of its balance rows: what came in (receipts, opening
adjustments), what went to customers (shipments of documents that name a customer), what
was consumed, what is left. Production links batches: a *producing* document (an entity
whose ledger postings both take stock out and receive stock, e.g. a work order) consumes
component batches and receives its output batch under the same document, so the
genealogy is the pairing of a document's issue and receipt movements; no extra table has
to be kept in step.

:func:`walk` goes one generation at a time: the balance rows of the whole frontier (one
query), their movements (one query), then the other movements of the producing documents
they touched (one query per producing entity), whatever the number of batches in that
generation. A batch is visited once (cycles and diamonds are guarded), and the walk stops
at ``max_depth`` generations or ``max_nodes`` batches, saying so in ``truncated``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.ledger.spec import Ledger, dim_text
from jimu.platform.ledger.tables import balance, movement
from jimu.platform.specs import AppSpec

__all__ = ["Flow", "Node", "Walk", "customer_field", "producing_entities", "walk", "STOCK_BUCKETS"]

_B, _M = balance.c, movement.c
#: Buckets that hold physical units of a batch (reserved is part of on_hand).
STOCK_BUCKETS = ("on_hand", "in_transit", "quarantine")
#: Movements that only move units between places or buckets of the same batch.
_INTERNAL = frozenset({"transfer_out", "transfer_in", "quarantine", "unquarantine", "reserve", "release", "expire"})
_CHUNK = 500

DocRef = tuple[str, str]  # (entity, record id as text)


@dataclass
class Flow:
    """Units of one batch moved by one document (summed over its lines), first time seen."""

    units: int = 0
    at: datetime | None = None

    def add(self, units: int, at: datetime) -> None:
        self.units += units
        if self.at is None or at < self.at:
            self.at = at


@dataclass
class Node:
    """What the ledger says about one batch."""

    batch: str
    depth: int
    item: str | None = None
    received: dict[DocRef, Flow] = field(default_factory=dict)
    produced: dict[DocRef, Flow] = field(default_factory=dict)
    shipped: dict[DocRef, Flow] = field(default_factory=dict)
    consumed: dict[DocRef, Flow] = field(default_factory=dict)
    stock: dict[tuple[str | None, str], int] = field(default_factory=dict)


@dataclass
class Production:
    """One producing document: component units taken and output units received, by
    (item, batch); a batch of ``None`` is stock without a batch."""

    inputs: dict[tuple[str | None, str | None], int] = field(default_factory=dict)
    outputs: dict[tuple[str | None, str | None], int] = field(default_factory=dict)


@dataclass
class Walk:
    """The batches reached from ``root`` (in visiting order) and the documents linking them."""

    root: str
    direction: str
    nodes: dict[str, Node] = field(default_factory=dict)
    productions: dict[DocRef, Production] = field(default_factory=dict)
    truncated: bool = False
    queries: int = 0

    def children(self, batch: str) -> list[str]:
        """Batches produced from ``batch`` (by the documents that consumed it)."""
        node = self.nodes[batch]
        out: dict[str, None] = {}
        for doc in node.consumed:
            prod = self.productions.get(doc)
            for (_item, b) in prod.outputs if prod else ():
                if b is not None and b != batch:
                    out[b] = None
        return list(out)

    def parents(self, batch: str) -> list[str]:
        """Batches ``batch`` was produced from (the components of its producing documents)."""
        node = self.nodes[batch]
        out: dict[str, None] = {}
        for doc in node.produced:
            prod = self.productions.get(doc)
            for (_item, b) in prod.inputs if prod else ():
                if b is not None and b != batch:
                    out[b] = None
        return list(out)

    def next_of(self, batch: str) -> list[str]:
        """The neighbours in the walk's direction."""
        return self.children(batch) if self.direction == "down" else self.parents(batch)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i:i + _CHUNK]


def producing_entities(spec: AppSpec, ledger: str) -> set[str]:
    """Entities whose postings on ``ledger`` both take stock out (ship) and receive it:
    their documents turn component batches into produced ones."""
    kinds: dict[str, set[str]] = {}
    lg = spec.ledger(ledger)
    for p in lg.postings if lg is not None else []:
        kind = getattr(p, "kind", None) or (p.model_extra or {}).get("kind")
        kinds.setdefault(p.entity, set()).add(str(kind))
    return {e for e, k in kinds.items() if "ship" in k and "receipt" in k}


def customer_field(spec: AppSpec, entity: str, target: str = "customer") -> str | None:
    """The first link field of ``entity`` to the customer entity (a shipment's customer)."""
    ent = spec.entity(entity)
    for f in ent.active_fields if ent is not None else []:
        if f.type == "link" and f.options.get("entity") == target:
            return f.name
    return None


class _Reader:
    """The queries of one walk, with the classification rules. Movement rows are read
    without their JSON ``dims``: a balance key names its dimensions, parsed once per key."""

    def __init__(self, conn: Connection, app: str, lg: Ledger, spec: AppSpec, batch_dim: str) -> None:
        self.conn, self.app, self.lg = conn, app, lg
        self.slot = _B[f"d{lg.dimensions.index(batch_dim) + 1}"]
        self.at = {d: lg.dimensions.index(d) for d in ("item", "warehouse", batch_dim) if d in lg.dimensions}
        self.batch_dim = batch_dim
        self.producing = producing_entities(spec, lg.name)
        self.to_customer = {e.name for e in spec.entities if customer_field(spec, e.name)}
        self.keys: dict[str, tuple[str | None, str | None, str | None]] = {}
        self.queries = 0

    def _run(self, stmt: Any) -> list[Any]:
        self.queries += 1
        return list(self.conn.execute(stmt))

    def dims_of(self, key: str) -> tuple[str | None, str | None, str | None]:
        """(item, warehouse, batch) texts of a balance key."""
        hit = self.keys.get(key)
        if hit is None:
            parts = json.loads(key)
            hit = self.keys[key] = tuple(  # type: ignore[assignment]
                parts[self.at[d]] if d in self.at else None for d in ("item", "warehouse", self.batch_dim))
        return hit  # type: ignore[return-value]

    def balances(self, batches: Sequence[str]) -> list[Any]:
        rows: list[Any] = []
        for part in _chunks(batches):
            rows += self._run(sa.select(_B.key, _B.on_hand, _B.in_transit, _B.quarantine).where(
                _B.app == self.app, _B.ledger == self.lg.name, self.slot.in_(list(part))))
        return rows

    def moves_of_keys(self, keys: Sequence[str]) -> list[Any]:
        rows: list[Any] = []
        for part in _chunks(keys):
            rows += self._run(self._moves().where(_M.key.in_(list(part))))
        return rows

    def moves_of_docs(self, entity: str, ids: Sequence[str]) -> list[Any]:
        rows: list[Any] = []
        for part in _chunks(ids):
            rows += self._run(self._moves().where(_M.doc_entity == entity, _M.doc_id.in_(list(part))))
        return rows

    def _moves(self) -> Any:
        """Movements that change how many units of a batch exist (internal moves between
        places or buckets, holds and releases are left in the database): key, at, kind,
        total change, document."""
        total = (_M.d_on_hand + _M.d_in_transit + _M.d_quarantine)
        return sa.select(_M.key, _M.at, _M.kind, total.label("total"), _M.doc_entity, _M.doc_id).where(
            _M.app == self.app, _M.ledger == self.lg.name, _M.kind.not_in(sorted(_INTERNAL)), total != 0)

    def classify(self, node: Node, m: Any) -> None:
        """File one movement of ``node``'s batch under received/produced/shipped/consumed."""
        key, at, kind, total, doc_entity, doc_id = m
        total = int(total)
        bucket: dict[DocRef, Flow]
        if doc_entity in self.producing:
            bucket = node.produced if total > 0 else node.consumed
        elif total > 0:
            bucket = node.received
        else:
            bucket = node.shipped if kind == "ship" and doc_entity in self.to_customer else node.consumed
        doc: DocRef = (str(doc_entity or ""), str(doc_id or ""))
        flow = bucket.get(doc)
        if flow is None:
            flow = bucket[doc] = Flow()
        flow.add(abs(total), at)


def walk(conn: Connection, app: str, lg: Ledger, spec: AppSpec, root: Any, direction: str = "down", *,
         batch_dim: str = "batch", max_depth: int = 20, max_nodes: int = 5000) -> Walk:
    """The genealogy of batch ``root`` following consumption into produced batches
    (``down``) or production back to its components (``up``). Read-only; every node
    carries its own received/produced/shipped/consumed flows and stock."""
    if direction not in ("down", "up"):
        raise ValueError(f"direction must be down or up, not {direction!r}")
    rd = _Reader(conn, app, lg, spec, batch_dim)
    w = Walk(str(dim_text(root)), direction)
    frontier = [w.root]
    depth = 0
    while frontier:
        for b in frontier:
            w.nodes[b] = Node(b, depth)
        _load(rd, w, frontier)
        seen: dict[str, None] = {}
        for b in frontier:
            for nb in w.next_of(b):
                if nb not in w.nodes:
                    seen[nb] = None
        frontier = list(seen)
        depth += 1
        if frontier and (depth > max_depth or len(w.nodes) + len(frontier) > max_nodes):
            w.truncated = True
            break
    w.queries = rd.queries
    return w


def _load(rd: _Reader, w: Walk, frontier: list[str]) -> None:
    """Facts of the frontier's batches plus the producing documents they touched."""
    keys: list[str] = []
    for r in rd.balances(frontier):
        item, wh, b = rd.dims_of(r.key)
        node = w.nodes.get(b) if b is not None else None
        if node is None:
            continue
        keys.append(r.key)
        node.item = node.item or item
        for bucket in STOCK_BUCKETS:
            units = int(getattr(r, bucket))
            if units:
                node.stock[(wh, bucket)] = node.stock.get((wh, bucket), 0) + units
    touched: dict[str, set[str]] = {}
    for m in rd.moves_of_keys(keys):
        node = w.nodes.get(rd.dims_of(m[0])[2] or "")
        if node is None:
            continue
        rd.classify(node, m)
        entity, doc_id = m[4], m[5]
        if entity in rd.producing and doc_id is not None and (entity, doc_id) not in w.productions:
            touched.setdefault(entity, set()).add(str(doc_id))
    for entity, ids in touched.items():
        for doc_id in ids:
            w.productions[(entity, doc_id)] = Production()
        for key, _at, _kind, total, _e, doc_id in rd.moves_of_docs(entity, sorted(ids)):
            prod = w.productions[(entity, str(doc_id))]
            item, _wh, b = rd.dims_of(key)
            side = prod.outputs if int(total) > 0 else prod.inputs
            side[(item, b)] = side.get((item, b), 0) + abs(int(total))

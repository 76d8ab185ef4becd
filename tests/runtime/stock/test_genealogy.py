"""Property: the genealogy walk read from the ledger is consistent both ways.

Random sequences of receipts, shipments to customers, productions (a work order takes
stock from one to three batches and receives a batch: a new one, or sometimes an existing
one, which makes diamonds and cycles), quarantines and write-offs are posted to the ledger;
then for every batch X: every batch Y reached going down from X reaches X going up, and
every batch reached going up reaches X going down (the round trip), the walks end (cycles
guarded), and every node's flows balance — received + produced − shipped − consumed equals
the stock in its buckets, which also equals a plain model kept beside the ledger.

Mutations tried and seen failing: ``Walk.parents`` reading the document's outputs instead
of its inputs (round trip breaks); shipments to customers left unclassified (balance
breaks); the visited guard dropped in ``walk`` (a cycle is walked to the depth bound and
the walk says truncated); write-offs from quarantine taken for internal moves (balance
breaks)."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jimu.platform.db import Database
from jimu.platform.ledger import Doc, Ledger, MoveLine, post
from jimu.platform.specs import AppSpec
from jimu.runtime.stock.genealogy import STOCK_BUCKETS, Walk, walk

LG = Ledger("stock", ("item", "warehouse", "batch"), required=("item", "warehouse"), scale=0)
SPEC = AppSpec.model_validate({
    "name": "g", "label": {"zh": "谱系", "en": "Genealogy"},
    "entities": [
        {"name": "customer", "fields": [{"name": "name", "type": "text"}]},
        {"name": "sales_order", "fields": [{"name": "customer", "type": "link", "options": {"entity": "customer"}}]},
        {"name": "purchase_order", "fields": [{"name": "note", "type": "text"}]},
        {"name": "work_order", "fields": [{"name": "note", "type": "text"}]},
    ],
    "ledgers": [{"name": "stock", "dimensions": [{"name": "item"}, {"name": "warehouse"}, {"name": "batch"}],
                 "buckets": ["on_hand", "reserved", "in_transit", "on_order", "quarantine"], "postings": [
        {"name": "po", "entity": "purchase_order", "kind": "receipt"},
        {"name": "so", "entity": "sales_order", "kind": "ship"},
        {"name": "wo_issue", "entity": "work_order", "kind": "ship"},
        {"name": "wo_receive", "entity": "work_order", "kind": "receipt"}]}],
})

ops = st.lists(st.one_of(
    st.tuples(st.just("receive"), st.integers(1, 30)),
    st.tuples(st.just("ship"), st.integers(0, 99), st.integers(1, 10)),
    st.tuples(st.just("produce"), st.lists(st.tuples(st.integers(0, 99), st.integers(1, 8)), min_size=1, max_size=3),
              st.integers(1, 20), st.one_of(st.none(), st.integers(0, 99))),
    st.tuples(st.just("produce"), st.lists(st.tuples(st.integers(0, 99), st.integers(1, 8)), min_size=1, max_size=3),
              st.integers(1, 20), st.one_of(st.none(), st.integers(0, 99))),
    st.tuples(st.just("quarantine"), st.integers(0, 99), st.integers(1, 5)),
    st.tuples(st.just("scrap"), st.integers(0, 99), st.integers(1, 5)),
), min_size=5, max_size=30)


class World:
    """The ledger of one example and a plain model of every batch's buckets and flows."""

    def __init__(self, db: Database) -> None:
        self.db, self.app = db, "g" + uuid.uuid4().hex[:10]
        self.batches: list[int] = []
        self.stock: dict[int, dict[str, int]] = {}
        self.flow: dict[int, int] = {}  # received + produced - shipped - consumed
        self.docs = 0
        self.done: dict[str, int] = {}

    def _post(self, kind: str, lines: list[MoveLine], doc: Doc | None = None, reason: str | None = None) -> None:
        self.done[kind] = self.done.get(kind, 0) + 1
        with self.db.write() as c:
            post(c, self.app, LG, kind, lines, doc=doc, reason=reason)

    def _dims(self, b: int) -> dict[str, Any]:
        return {"item": b % 3 + 1, "warehouse": 1, "batch": b}

    def _pick(self, i: int) -> int | None:
        return self.batches[i % len(self.batches)] if self.batches else None

    def _doc(self, entity: str) -> Doc:
        self.docs += 1
        return Doc(entity, self.docs)

    def _new(self) -> int:
        b = len(self.batches) + 1
        self.batches.append(b)
        self.stock[b] = dict.fromkeys(STOCK_BUCKETS, 0)
        self.flow[b] = 0
        return b

    def receive(self, qty: int) -> None:
        b = self._new()
        self._post("receipt", [MoveLine(self._dims(b), qty)], self._doc("purchase_order"))
        self.stock[b]["on_hand"] += qty
        self.flow[b] += qty

    def ship(self, i: int, qty: int) -> None:
        b = self._pick(i)
        if b is None or self.stock[b]["on_hand"] < qty:
            return
        self._post("ship", [MoveLine(self._dims(b), qty)], self._doc("sales_order"))
        self.stock[b]["on_hand"] -= qty
        self.flow[b] -= qty

    def produce(self, takes: list[tuple[int, int]], out: int, into: int | None) -> None:
        need: dict[int, int] = {}
        for i, q in takes:
            b = self._pick(i)
            if b is not None:
                need[b] = need.get(b, 0) + q
        need = {b: q for b, q in need.items() if self.stock[b]["on_hand"] >= q}
        if not need:
            return
        target = self._pick(into) if into is not None else None
        target = target if target is not None else self._new()
        doc = self._doc("work_order")
        self._post("ship", [MoveLine(self._dims(b), q) for b, q in need.items()], doc)
        self._post("receipt", [MoveLine(self._dims(target), out)], doc)
        for b, q in need.items():
            self.stock[b]["on_hand"] -= q
            self.flow[b] -= q
        self.stock[target]["on_hand"] += out
        self.flow[target] += out

    def quarantine(self, i: int, qty: int) -> None:
        b = self._pick(i)
        if b is None or self.stock[b]["on_hand"] < qty:
            return
        self._post("quarantine", [MoveLine(self._dims(b), qty)])
        self.stock[b]["on_hand"] -= qty
        self.stock[b]["quarantine"] += qty

    def scrap(self, i: int, qty: int) -> None:
        blocked = [b for b in self.batches if self.stock[b]["quarantine"] > 0]
        if not blocked:
            return
        b = blocked[i % len(blocked)]
        qty = min(qty, self.stock[b]["quarantine"])
        self._post("scrap", [MoveLine(self._dims(b), qty)], reason="spoiled")
        self.stock[b]["quarantine"] -= qty
        self.flow[b] -= qty

    def walk(self, b: int, direction: str) -> Walk:
        with self.db.read() as c:
            return walk(c, self.app, LG, SPEC, b, direction, max_depth=1000, max_nodes=10_000)


def _check(world: World) -> None:
    ups: dict[str, Walk] = {}
    downs: dict[str, Walk] = {}
    for b in world.batches:
        downs[str(b)] = world.walk(b, "down")
        ups[str(b)] = world.walk(b, "up")
    for x, down in downs.items():
        assert not down.truncated and len(down.nodes) <= len(world.batches)
        for y in down.nodes:
            assert x in ups[y].nodes, f"{y} is below {x} but going up from {y} misses {x}"
        for y in ups[x].nodes:
            assert x in downs[y].nodes, f"{y} is above {x} but going down from {y} misses {x}"
        node = down.nodes[x]
        flows = sum(f.units for f in (*node.received.values(), *node.produced.values())) - sum(
            f.units for f in (*node.shipped.values(), *node.consumed.values()))
        stock = sum(node.stock.values())
        model = world.stock[int(x)]
        assert stock == sum(model.values()) == flows == world.flow[int(x)], (x, node, model)
        assert {bucket: u for (_wh, bucket), u in node.stock.items()} == {k: v for k, v in model.items() if v}
        assert all(f.units > 0 for f in node.shipped.values())


def test_trace_down_and_up_are_each_others_round_trip(system_db: Database) -> None:
    reached: dict[str, int] = {}

    # Three chains two generations deep always run (random draws reached depth 2 in only
    # 2 of 30 examples once, failing the coverage check below by chance).
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(first=st.lists(st.integers(5, 30), min_size=2, max_size=3), steps=ops)
    @example(first=[10, 10], steps=[("produce", [(0, 2)], 5, None), ("produce", [(2, 1)], 3, None),
                                    ("ship", 3, 1), ("receive", 4), ("quarantine", 1, 2)])
    @example(first=[20, 8, 6], steps=[("produce", [(0, 3), (1, 2)], 6, None), ("produce", [(3, 2)], 4, None),
                                      ("produce", [(4, 1)], 2, None), ("ship", 5, 1), ("scrap", 2, 1)])
    @example(first=[12, 12], steps=[("produce", [(1, 4)], 8, None), ("produce", [(2, 3)], 5, 0),
                                    ("ship", 0, 2), ("produce", [(0, 1)], 2, None), ("quarantine", 2, 1)])
    def run(first: list[int], steps: list[Any]) -> None:
        world = World(system_db)
        for qty in first:
            world.receive(qty)
        for op, *args in steps:
            getattr(world, op)(*args)
        _check(world)
        for kind, n in world.done.items():
            reached[kind] = reached.get(kind, 0) + n
        deep = max(max((n.depth for n in world.walk(b, "down").nodes.values()), default=0) for b in world.batches)
        reached["depth>=2"] = reached.get("depth>=2", 0) + (deep >= 2)

    run()
    # The run reached the interesting states: shipments, productions, quarantines,
    # write-offs and genealogies at least two generations deep.
    assert all(reached.get(k, 0) >= 5 for k in ("ship", "receipt", "quarantine")) and reached.get("depth>=2", 0) >= 3 and reached.get("scrap", 0) >= 2, reached


def test_a_cycle_ends_and_both_batches_see_each_other(system_db: Database) -> None:
    """Rework into an existing batch: 1 -> 2 -> 1. Each walk visits both once."""
    world = World(system_db)
    world.receive(10)
    world.produce([(0, 4)], 4, None)   # batch 2 from batch 1
    world.produce([(1, 2)], 2, 0)      # back into batch 1 from batch 2
    for b in (1, 2):
        for direction in ("down", "up"):
            assert set(world.walk(b, direction).nodes) == {"1", "2"}
    _check(world)

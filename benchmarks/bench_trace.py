"""Batch trace and recall over a big movement log (DESIGN 16, issue 19).

Builds a food app and bulk-inserts ``--movements`` ledger movements (default 1,000,000):

- a genealogy four generations deep: batch R is received, shipped to customers and
  consumed by 4 work orders, each producing a batch that is again shipped and consumed by
  4 work orders, and so on (1 + 4 + 16 + 64 + 256 = 341 batches, their documents real
  records);
- a batch Q shipped to 10,000 customers (10,000 sales orders);
- noise: other batches with receipts, shipments, holds and releases up to the total.

Then it measures, in the same run:

- ``trace_down_4gen``: :func:`jimu.runtime.stock.genealogy.walk` down from R (one query
  for the frontier's balances, one for their movements, one per producing entity, per
  generation) and the full API answer (``trace_answer``: labels and access as admin),
  against the baseline: one hand-written recursive CTE that finds the same batches and
  returns their movements (checked to reach the same 341 batches);
- ``recall_10k_customers``: ``recall_batch`` of Q as a manager (walk, 10,000-line recall
  record, quarantine, inbox), against the read-only walk of Q as the baseline.

Prints one JSON line per figure. ``--pg URL`` runs on PostgreSQL (a fresh schema, dropped
afterwards) instead of SQLite::

    python benchmarks/bench_trace.py
    python benchmarks/bench_trace.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jimu.platform.actor import Actor  # noqa: E402
from jimu.platform.ledger import as_ledger  # noqa: E402
from jimu.platform.ledger.tables import balance, movement  # noqa: E402
from jimu.runtime.access import AccessPolicy  # noqa: E402
from jimu.runtime.context import Jimu  # noqa: E402
from jimu.runtime.stock.batch_trace import open_trace, trace_answer  # noqa: E402
from jimu.runtime.stock.genealogy import walk  # noqa: E402
from jimu.runtime.stock.recall import recall_batch  # noqa: E402
from jimu.templates_market.installer import install_template  # noqa: E402

APP = "bench"
FAN, GENERATIONS, SHIPS_PER_NODE, RECALL_CUSTOMERS = 4, 4, 5, 10_000
UNIT = 10_000  # one unit at the stock ledger's scale 4
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Loader:
    """Bulk rows for the ledger tables and the app's record tables."""

    def __init__(self, jimu: Jimu) -> None:
        self.jimu = jimu
        self.rt = jimu.apps.get(APP)
        self.lg = as_ledger(self.rt.spec.ledger("stock"))
        self.moves: list[dict[str, Any]] = []
        self.stock: dict[int, int] = {}
        self.held: dict[int, int] = {}
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.count = 0
        self.seq: dict[str, int] = {}

    def next_id(self, entity: str) -> int:
        self.seq[entity] = self.seq.get(entity, 0) + 1
        return self.seq[entity]

    def record(self, entity: str, rid: int, **values: Any) -> None:
        self.records.setdefault(entity, []).append({"id": rid, "created_at": NOW, "updated_at": NOW, **values})

    def move(self, batch: int, kind: str, on_hand: int, doc: tuple[str, int] | None, reserved: int = 0) -> None:
        dims = {"item": 1, "warehouse": 1, "batch": batch}
        self.moves.append({"at": NOW, "user": None, "app": APP, "ledger": "stock", "key": self.lg.key(dims),
                           "dims": dims, "kind": kind, "d_on_hand": on_hand, "d_reserved": reserved,
                           "d_in_transit": 0, "d_on_order": 0, "d_quarantine": 0, "unit_cost": None,
                           "doc_entity": doc[0] if doc else None, "doc_id": str(doc[1]) if doc else None,
                           "doc_line": None, "transition": None, "reason": None, "reservation_id": None})
        self.stock[batch] = self.stock.get(batch, 0) + on_hand
        if reserved:
            self.held[batch] = self.held.get(batch, 0) + reserved
        self.count += 1
        if len(self.moves) >= 20_000:
            self.flush_moves()

    def flush_moves(self) -> None:
        if self.moves:
            with self.jimu.db.write() as c:
                c.execute(movement.insert(), self.moves)
            self.moves = []

    def customer_order(self, batch: int, units: int) -> None:
        cust = self.next_id("customer")
        self.record("customer", cust, name=f"C{cust:06d}")
        so = self.next_id("sales_order")
        self.record("sales_order", so, customer=cust, number=f"SO-{so:07d}", state="shipped")
        self.move(batch, "ship", -units, ("sales_order", so))

    def finish(self) -> None:
        self.flush_moves()
        rows = [{"app": APP, "ledger": "stock", "key": self.lg.key(d), "dims": d, **self.lg.slots(d),
                 "on_hand": units, "reserved": self.held.get(b, 0), "in_transit": 0, "on_order": 0, "quarantine": 0}
                for b, units in self.stock.items() for d in [{"item": 1, "warehouse": 1, "batch": b}]]
        with self.jimu.db.write() as c:
            for i in range(0, len(rows), 20_000):
                c.execute(balance.insert(), rows[i:i + 20_000])
            for entity, recs in self.records.items():
                table = self.rt.tables(entity)
                for i in range(0, len(recs), 20_000):
                    c.execute(table.insert(), recs[i:i + 20_000])


def build(jimu: Jimu, total: int) -> dict[str, Any]:
    ld = Loader(jimu)
    ld.record("item", 1, sku="FL-1", name="Flour")
    ld.record("warehouse", 1, name="Main", confirm_code="1")
    ld.record("supplier", 1, name="Mill")

    def new_batch() -> int:
        b = ld.next_id("batch")
        ld.record("batch", b, item=1, batch_no=f"B{b:07d}")
        return b

    root = new_batch()
    po = ld.next_id("purchase_order")
    ld.record("purchase_order", po, supplier=1, warehouse=1, number=f"PO-{po:07d}", state="received")
    ld.move(root, "receipt", 1000 * UNIT, ("purchase_order", po))
    frontier = [root]
    for _gen in range(GENERATIONS):
        nxt = []
        for b in frontier:
            for _ in range(SHIPS_PER_NODE):
                ld.customer_order(b, 10 * UNIT)
            for _ in range(FAN):
                wo = ld.next_id("work_order")
                child = new_batch()
                ld.record("work_order", wo, product=1, qty=1000, warehouse=1, number=f"WO-{wo:07d}", state="completed")
                ld.move(b, "ship", -100 * UNIT, ("work_order", wo))
                ld.move(child, "receipt", 1000 * UNIT, ("work_order", wo))
                nxt.append(child)
        frontier = nxt
    for b in frontier:
        for _ in range(SHIPS_PER_NODE):
            ld.customer_order(b, 10 * UNIT)
    tree = ld.seq["batch"]
    recall_root = new_batch()
    po = ld.next_id("purchase_order")
    ld.record("purchase_order", po, supplier=1, warehouse=1, number=f"PO-{po:07d}", state="received")
    ld.move(recall_root, "receipt", 2 * RECALL_CUSTOMERS * UNIT, ("purchase_order", po))
    for _ in range(RECALL_CUSTOMERS):
        ld.customer_order(recall_root, UNIT)
    noise = 100_000
    while ld.count < total:
        noise += 1
        ld.move(noise, "receipt", 100 * UNIT, ("purchase_order", 1_000_000 + noise))
        for j in range(min(16, total - ld.count)):
            if j % 4 == 3:
                ld.move(noise, "reserve", 0, ("sales_order", 5_000_000 + noise * 20 + j), reserved=UNIT)
            elif j % 4 == 0 and j:
                ld.move(noise, "release", 0, ("sales_order", 5_000_000 + noise * 20 + j - 1), reserved=-UNIT)
            else:
                ld.move(noise, "ship", -UNIT, ("sales_order", 5_000_000 + noise * 20 + j))
    ld.finish()
    return {"root": root, "tree": tree, "recall_root": recall_root, "movements": ld.count}


def baseline_cte(jimu: Jimu, root: int) -> tuple[set[str], int]:
    """The same walk as one recursive query: batches reached through work orders, then all
    their movements."""
    pg = jimu.db.dialect == "postgresql"
    batch_of = "o.dims->>'batch'" if pg else "CAST(json_extract(o.dims, '$.batch') AS TEXT)"
    sql = f"""
        WITH RECURSIVE tree(batch, depth) AS (
          SELECT CAST(:root AS TEXT), 0
          UNION
          SELECT {batch_of}, t.depth + 1 FROM tree t
          JOIN jimu_ledger_balance b ON b.app = :app AND b.ledger = 'stock' AND b.d3 = t.batch
          JOIN jimu_ledger_movement c ON c.app = :app AND c.ledger = 'stock' AND c.key = b.key
               AND c.doc_entity = 'work_order' AND c.d_on_hand < 0
          JOIN jimu_ledger_movement o ON o.app = :app AND o.doc_entity = c.doc_entity AND o.doc_id = c.doc_id
               AND o.d_on_hand > 0
          WHERE t.depth < {GENERATIONS})
        SELECT b.d3, m.id, m.kind, m.d_on_hand, m.doc_entity, m.doc_id FROM jimu_ledger_movement m
        JOIN jimu_ledger_balance b ON b.app = m.app AND b.ledger = m.ledger AND b.key = m.key
        WHERE m.app = :app AND m.ledger = 'stock' AND b.d3 IN (SELECT batch FROM tree)"""
    with jimu.db.read() as c:
        rows = c.execute(sa.text(sql), {"root": str(root), "app": APP}).all()
    return {r[0] for r in rows}, len(rows)


def _ms(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(round(0.99 * (len(samples) - 1))))]
    return {"p50_ms": round(statistics.median(samples) * 1000, 1), "p99_ms": round(p99 * 1000, 1)}


def timed(fn: Any, runs: int) -> tuple[list[float], Any]:
    out, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t0)
    return out, result


def run(url: str, total: int, runs: int, backend: str) -> None:
    jimu = Jimu.open(url)
    try:
        install_template(jimu, APP, "food", {"approvals": False}, sample_data=False)
        jimu.users.create("mgr", "mgr-pass-123", ["manager"])
        t0 = time.perf_counter()
        world = build(jimu, total)
        load_s = time.perf_counter() - t0
        if backend == "postgresql":
            with jimu.db.write() as c:
                c.exec_driver_sql("ANALYZE")
        else:
            with jimu.db.write() as c:
                c.exec_driver_sql("ANALYZE")
        rt = jimu.apps.get(APP)
        lg = as_ledger(rt.spec.ledger("stock"))
        admin = AccessPolicy.for_actor(jimu, APP, Actor("admin", ("admin",)))
        ctx, _batch = open_trace(admin, world["root"])

        def walk_down() -> Any:
            with jimu.db.read() as c:
                return walk(c, APP, lg, rt.spec, world["root"], "down", max_depth=GENERATIONS)

        walk_down()
        baseline_cte(jimu, world["root"])  # warm both
        mine, w = timed(walk_down, runs)
        full, answer = timed(lambda: trace_answer(ctx, world["root"], "down", max_depth=GENERATIONS), runs)
        base, (base_batches, base_rows) = timed(lambda: baseline_cte(jimu, world["root"]), runs)
        assert set(w.nodes) == base_batches and len(w.nodes) == world["tree"], (len(w.nodes), len(base_batches))
        assert answer["batches"] == world["tree"]
        print(json.dumps({"bench": "trace_down_4gen", "db": backend, "movements": world["movements"],
                          "batches": len(w.nodes), "queries_per_walk": w.queries, "runs": runs, "walk": _ms(mine),
                          "api_answer": _ms(full), "baseline": "one recursive CTE + movements", "baseline_ms": _ms(base),
                          "baseline_rows": base_rows, "target_p99_ms": 200, "load_s": round(load_s, 1)}), flush=True)

        def walk_q() -> Any:
            with jimu.db.read() as c:
                return walk(c, APP, lg, rt.spec, world["recall_root"], "down")

        read, wq = timed(walk_q, 3)
        mgr = AccessPolicy.for_actor(jimu, APP, Actor("mgr", ("manager",)))
        t0 = time.perf_counter()
        rec = recall_batch(mgr, world["recall_root"], "bench recall")
        recall_s = time.perf_counter() - t0
        assert rec["customers_count"] == RECALL_CUSTOMERS, rec["customers_count"]
        print(json.dumps({"bench": "recall_10k_customers", "db": backend, "customers": rec["customers_count"],
                          "lines": len(rec.get("lines") or []), "seconds": round(recall_s, 2), "target_s": 5,
                          "baseline": "read-only walk of the same batch", "baseline_s": round(min(read), 3)}),
              flush=True)
    finally:
        jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--movements", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--pg", help="PostgreSQL URL (a fresh schema is created and dropped)")
    args = ap.parse_args()
    if args.pg:
        schema = "bench_trace_" + uuid.uuid4().hex[:8]
        admin = sa.create_engine(args.pg)
        with admin.begin() as c:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in args.pg else "?"
        try:
            run(f"{args.pg}{sep}options=-csearch_path%3D{schema}", args.movements, args.runs, "postgresql")
        finally:
            with admin.begin() as c:
                c.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args.movements, args.runs, "sqlite")


if __name__ == "__main__":
    main()

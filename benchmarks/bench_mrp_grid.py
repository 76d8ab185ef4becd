"""The planner's grid of one item (issue 21, ``GET /reports/mrp-grid``) on bench_mrp's
generated factory (10,000 items over 5 BOM levels, 50,000 demand lines, 52 weekly
buckets): the time to answer one item's grid, p50 and p95 over items drawn from every
level (:func:`jimu.runtime.mrp.grid.item_grid` under a purchasing caller's policy: the
BOM structure, the item's documents, its parents' stored lines, the re-netting, the
run's lines and exceptions of the item, labels and links).

Baseline in the same run: the full ``calculate`` of that run (what the grid would cost if
it were computed by re-running MRP). Wall and CPU time (CPU is the steadier figure on a
shared machine). Prints one JSON line per figure.

    python benchmarks/bench_mrp_grid.py [--items 10000] [--demands 50000] [--samples 60]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import backends, drop_pg_schema, emit, percentile  # noqa: E402
from benchmarks.bench_mrp import START, _load_app, generate  # noqa: E402


def grid_figures(data: dict, backend: str, url: str, samples: int) -> None:
    from jimu.platform.actor import Actor
    from jimu.runtime.access import AccessPolicy
    from jimu.runtime.context import Jimu
    from jimu.runtime.mrp.grid import item_grid, open_run
    from jimu.runtime.workflow.engine import WorkflowEngine

    jimu = Jimu.open(url)
    try:
        app = _load_app(jimu, data)
        buyer = Actor("buyer", ("purchasing",))
        run = jimu.records.create("mfg", "mrp_run", {"warehouse": app["warehouse"], "run_date": START,
                                                     "horizon_days": 364, "bucket": "week"}, actor=buyer)
        t0, c0 = time.perf_counter(), time.process_time()
        WorkflowEngine(jimu).fire("mfg", "mrp_run", run["id"], "calculate", actor=buyer)
        full, full_cpu = time.perf_counter() - t0, time.process_time() - c0
        policy = AccessPolicy.for_actor(jimu, "mfg", buyer)
        stored = open_run(policy, run["id"])
        rnd = random.Random(11)
        ids = list(app["ids"].values())
        picked = rnd.sample(ids, min(samples, len(ids)))
        item_grid(policy, stored, picked[0])  # warm the app and the connection pool
        times, cpu, orders = [], [], 0
        for item in picked:
            t0, c0 = time.perf_counter(), time.process_time()
            g = item_grid(policy, stored, item)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            orders += len(g["planned_orders"])
            assert g["matches_run"], item
        emit(f"mrp grid of one item, p50 ({backend})", percentile(times, 50), "s",
             f"mrp_run calculate, the same run ({backend})", full, backend=backend, samples=len(times),
             p95_s=round(percentile(times, 95), 4), max_s=round(max(times), 4), planned_orders_seen=orders,
             cpu_p50_s=round(percentile(cpu, 50), 4), cpu_p95_s=round(percentile(cpu, 95), 4),
             calculate_cpu_s=round(full_cpu, 2),
             load_average=round(os.getloadavg()[0], 1))
    finally:
        jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--demands", type=int, default=50_000)
    ap.add_argument("--samples", type=int, default=60)
    args = ap.parse_args()
    data = generate(args.items, args.demands)
    for backend, url, schema in backends():
        try:
            grid_figures(data, backend, url, args.samples)
        finally:
            if schema:
                drop_pg_schema(schema)


if __name__ == "__main__":
    main()

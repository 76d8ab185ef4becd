"""Stocktake figures (issue 18): ``start`` + ``post`` of a count of N lines (default 5,000)
with M movements (default 1,000 stock adjustments) posted during the count, against
posting N plain adjustment lines through the ledger in the same run (the baseline).

The standard template is installed without sample data; N items get opening stock in one
warehouse (one receipt posting, not timed). Then, timed separately:

- ``stocktake.start``: an empty stocktake's ``start`` (one line per item in stock, the
  book figure frozen on each);
- ``stocktake.post``: after M adjustment documents during the count and every line
  typed and submitted (not timed), ``post`` (the book at posting per line, the variance
  adjustments, the state change);
- ``stocktake.start_plus_post``: their sum, the figure with the target (< 3 s);
- the baseline ``ledger.adjust_plain``: one ``adjust`` posting of N lines, each +1, in
  one transaction (the primitive a count's post ends in).

After the post every on_hand must equal its count (checked; the run fails otherwise).
Each figure also carries ``cpu_s``, this process's CPU time (on SQLite all of the work;
on PostgreSQL the server's share is not in it) and the 1-minute load average, so a run on
a shared, loaded machine can still be read.
Prints one JSON line per figure and backend. SQLite always; PostgreSQL with
``JIMU_TEST_PG_URL``.

    python benchmarks/bench_stocktake.py [--lines 5000] [--movements 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import backends, drop_pg_schema, emit  # noqa: E402
from jimu.platform.actor import SYSTEM  # noqa: E402
from jimu.platform.ledger import MoveLine, as_ledger, balances, post  # noqa: E402
from jimu.runtime.context import Jimu  # noqa: E402
from jimu.runtime.workflow import WorkflowEngine  # noqa: E402
from jimu.templates_market.installer import install_template  # noqa: E402

APP = "standard"
TARGET_S = 3.0


def run(backend: str, url: str, n: int, moves: int) -> None:
    jimu = Jimu.open(url)
    try:
        install_template(jimu, APP, "standard", sample_data=False)
        rec = jimu.records
        wh = rec.create(APP, "warehouse", {"name": "Bench", "confirm_code": "B1"})["id"]
        wh2 = rec.create(APP, "warehouse", {"name": "Baseline", "confirm_code": "B2"})["id"]
        rec.bulk_insert(APP, "item", [{"sku": f"S{i:05d}", "name": f"Item {i}", "unit": "个"} for i in range(n)])
        with jimu.db.read() as c:
            rt = jimu.apps.get(APP, c)
            lg = as_ledger(rt.spec.ledger("stock"))
            table = rt.tables("item")
            items = list(c.execute(sa.select(table.c.id).order_by(table.c.id)).scalars())
        with jimu.db.write() as c:
            post(c, APP, lg, "receipt", [MoveLine({"item": i, "warehouse": wh}, 20) for i in items])
            post(c, APP, lg, "receipt", [MoveLine({"item": i, "warehouse": wh2}, 20) for i in items])

        t0, c0 = time.perf_counter(), time.process_time()
        with jimu.db.write() as c:
            post(c, APP, lg, "adjust", [MoveLine({"item": i, "warehouse": wh2}, 1) for i in items], reason="bench")
        plain, plain_cpu = time.perf_counter() - t0, time.process_time() - c0

        engine = WorkflowEngine(jimu)
        doc = rec.create(APP, "stocktake", {"warehouse": wh})
        t0, c0 = time.perf_counter(), time.process_time()
        started = engine.fire(APP, "stocktake", doc["id"], "start", actor=SYSTEM)
        t_start, cpu_start = time.perf_counter() - t0, time.process_time() - c0
        assert len(started["stocktake_line"]) == n, len(started["stocktake_line"])

        for k in range(moves):  # documents during the count: the book moves under the counters
            rec.create(APP, "stock_adjustment", {"item": items[k % n], "warehouse": wh, "qty": "-1",
                                                 "reason": "damage"})
        counts = {i: Decimal(17 + (j % 5)) for j, i in enumerate(items)}  # 17..21 on the shelf
        rows = [{"id": ln["id"], "counted_qty": str(counts[ln["item"]])} for ln in started["stocktake_line"]]
        rec.update(APP, "stocktake", doc["id"], {"stocktake_line": rows})
        engine.fire(APP, "stocktake", doc["id"], "submit_count", actor=SYSTEM)

        t0, c0 = time.perf_counter(), time.process_time()
        engine.fire(APP, "stocktake", doc["id"], "post", actor=SYSTEM)
        t_post, cpu_post = time.perf_counter() - t0, time.process_time() - c0

        with jimu.db.read() as c:
            on_hand = {b["item"]: b["on_hand"] for b in balances(c, APP, lg, warehouse=wh)}
        wrong = [i for i in items if Decimal(str(on_hand.get(i, on_hand.get(str(i), 0)))) != counts[i]]
        assert not wrong, f"{len(wrong)} items off their count after post, e.g. {wrong[:3]}"
        total = t_start + t_post
        extra = {"backend": backend, "lines": n, "movements_during_count": moves}
        load = round(os.getloadavg()[0], 1)
        extra = {**extra, "load_avg_1m": load}
        emit("stocktake.start", t_start, "s", cpu_s=round(cpu_start, 3), **extra)
        emit("stocktake.post", t_post, "s", cpu_s=round(cpu_post, 3), **extra)
        emit("stocktake.start_plus_post", total, "s", "ledger.adjust_plain (one posting of the same number of lines)",
             plain, target_s=TARGET_S, met=total < TARGET_S, cpu_s=round(cpu_start + cpu_post, 3),
             baseline_cpu_s=round(plain_cpu, 3), **extra)
        emit("ledger.adjust_plain", plain, "s", cpu_s=round(plain_cpu, 3), **extra)
    finally:
        jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--movements", type=int, default=1000)
    args = ap.parse_args()
    for backend, url, schema in backends():
        try:
            run(backend, url, args.lines, args.movements)
        finally:
            if schema:
                drop_pg_schema(schema)


if __name__ == "__main__":
    main()

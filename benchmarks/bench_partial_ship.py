"""Partial shipments (issue 18): what the per-line plan costs a ``ship``.

Orders of ``--lines`` lines are shipped through the workflow engine (the transition, the
plan of each line's rest or of the ``lines`` input, the shipped_qty writes, the postings
out of the reservations) in three ways, in the same run:

- ``full``: ``ship`` with no ``lines`` input (every line's rest, DESIGN 15 behaviour) —
  the baseline;
- ``partial``: ``ship`` naming every line with half of its quantity (the order stays
  partially_shipped);
- ``rest``: the second ``ship`` of those orders, again without input (the rest).

Figures are the median milliseconds per ship. Prints JSON lines; SQLite always,
PostgreSQL with JIMU_TEST_PG_URL.

    python benchmarks/bench_partial_ship.py [--orders 30] [--lines 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import backends, drop_pg_schema, emit  # noqa: E402

APP = "bench"


def setup(jimu: Any, n_orders: int, n_lines: int) -> tuple[list[dict[str, Any]], Any]:
    from jimu.cli.basics import ensure_demo_users
    from jimu.platform.actor import Actor
    from jimu.runtime.workflow.engine import WorkflowEngine
    from jimu.templates_market.installer import install_template

    ensure_demo_users(jimu)
    install_template(jimu, APP, "standard", sample_data=False)
    rec = jimu.records
    wh = rec.create(APP, "warehouse", {"name": "仓", "confirm_code": "1"})["id"]
    cust = rec.create(APP, "customer", {"name": "客户"})["id"]
    items = [rec.create(APP, "item", {"sku": f"B-{i}", "name": f"商品{i}", "sale_price": "2.00"})["id"]
             for i in range(n_lines)]
    for it in items:
        rec.create(APP, "stock_adjustment", {"item": it, "warehouse": wh, "qty": "100000", "reason": "opening"})
    eng = WorkflowEngine(jimu)
    sales, manager = Actor("sales", ("sales",)), Actor("manager", ("manager",))
    orders = []
    for _ in range(3 * n_orders):
        so = rec.create(APP, "sales_order", {"customer": cust, "warehouse": wh,
                                             "lines": [{"item": it, "qty": "4"} for it in items]}, actor=sales)
        eng.fire(APP, "sales_order", so["id"], "submit", {}, sales)
        eng.fire(APP, "sales_order", so["id"], "approve", {}, manager)
        orders.append(so)
    return orders, eng


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def run(name: str, url: str, n_orders: int, n_lines: int) -> None:
    from jimu.platform.actor import Actor
    from jimu.runtime.context import Jimu

    jimu = Jimu.open(url)
    try:
        orders, eng = setup(jimu, n_orders, n_lines)
        wh = Actor("warehouse", ("warehouse",))
        base = {"warehouse_confirm_code": "1", "logistics_no": "SF"}
        full = [timed(lambda so=so: eng.fire(APP, "sales_order", so["id"], "ship", base, wh))
                for so in orders[:n_orders]]
        half = orders[n_orders:2 * n_orders]
        partial = [timed(lambda so=so: eng.fire(APP, "sales_order", so["id"], "ship", {
            **base, "lines": [{"line": ln["id"], "qty": "2"} for ln in so["lines"]]}, wh)) for so in half]
        rest = [timed(lambda so=so: eng.fire(APP, "sales_order", so["id"], "ship", base, wh)) for so in half]
        from jimu.platform.ledger import verify

        ok = verify(jimu.db, APP) == []
        b = statistics.median(full)
        emit(f"ship_full_{n_lines}_lines_ms", b, "ms", backend=name, orders=n_orders, verified=ok)
        emit(f"ship_partial_{n_lines}_lines_ms", statistics.median(partial), "ms", "ship_full", b, backend=name)
        emit(f"ship_rest_{n_lines}_lines_ms", statistics.median(rest), "ms", "ship_full", b, backend=name)
    finally:
        jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=30)
    ap.add_argument("--lines", type=int, default=20)
    args = ap.parse_args()
    for name, url, schema in backends():
        try:
            run(name, url, args.orders, args.lines)
        finally:
            if schema:
                drop_pg_schema(schema)


if __name__ == "__main__":
    main()

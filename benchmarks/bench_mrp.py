"""MRP figures (issue 21): a generated factory of 10,000 items over 5 BOM levels, 50,000
demand lines and 52 weekly buckets.

- engine alone (``jimu.runtime.mrp.engine``): the full time-phased run, its peak Python
  memory (tracemalloc, in a second pass), and a net change after one new order line;
  baseline in the same run: the old single-bucket netting (one gross figure per item,
  net = gross - stock - on order, exploded level by level, no dates), same data;
- end to end through the ``mrp_run`` transitions (``calculate``, then ``replan`` after one
  new sales order) on SQLite, and PostgreSQL with JIMU_TEST_PG_URL: loading with
  set-based queries, planning, bulk-writing the lines, the transition's own reads.
  ``calculate`` is timed on the wall clock (its CPU beside it: the lines are stored by
  another thread or the server while the rest is planned); ``replan`` in CPU.

Targets: full run < 10 s, net change < 0.5 s. Prints one JSON line per figure.

    python benchmarks/bench_mrp.py [--items 10000] [--demands 50000] [--no-e2e] [--backend postgresql]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import backends, drop_pg_schema, emit  # noqa: E402
from jimu.runtime.mrp.engine import (  # noqa: E402
    Calendar,
    Component,
    Demand,
    PlanItem,
    Planner,
    Receipt,
    Structure,
    low_level_codes,
)

START = date(2026, 1, 5)
LEVELS = 5


def generate(n_items: int, n_demands: int, seed: int = 7) -> dict[str, Any]:
    """Items in 5 levels (10 % products ... 30 % raw), each made item with a BOM of 3-4
    components from the next levels; demand on products and some sub-assemblies over a
    year; open purchase and work orders as scheduled receipts."""
    rnd = random.Random(seed)
    shares = [0.10, 0.15, 0.20, 0.25, 0.30]
    bounds, start = [], 0
    for s in shares:
        bounds.append((start, start + int(n_items * s)))
        start += int(n_items * s)
    bounds[-1] = (bounds[-1][0], n_items)
    items, boms = {}, {}
    for lvl, (lo, hi) in enumerate(bounds):
        for i in range(lo, hi):
            iid = i + 1
            raw = lvl == LEVELS - 1
            items[iid] = PlanItem(iid, on_hand=D(rnd.randint(0, 60)), safety_stock=D(rnd.choice([0, 0, 5, 10])),
                                  lead_time_days=rnd.choice([0, 3, 7, 14, 21]),
                                  min_order_qty=D(rnd.choice([0, 0, 10, 50])) if raw else D(0),
                                  order_multiple=D(rnd.choice([0, 0, 5, 10, 25])) if raw else D(0),
                                  supplier=rnd.randint(1, 50) if raw else None)
            if not raw:
                comps: dict[int, Component] = {}
                for _ in range(rnd.randint(3, 4)):
                    to = lvl + 1 if rnd.random() < 0.8 or lvl + 2 >= LEVELS else lvl + 2
                    clo, chi = bounds[to]
                    c = rnd.randint(clo, chi - 1) + 1
                    comps[c] = Component(c, D(rnd.randint(1, 4)), D(rnd.choice(["0", "0", "0.02", "0.05"])))
                boms[iid] = Structure(iid, D(1), tuple(comps.values()))
    sellable = list(range(1, bounds[1][1] + 1))  # products and level-1 spare parts
    demands = [Demand(rnd.choice(sellable[:bounds[0][1]] if rnd.random() < 0.85 else sellable), D(rnd.randint(1, 20)),
                      START + timedelta(days=rnd.randint(-3, 360)), f"SO-{k // 5:06d}") for k in range(n_demands)]
    raws = range(bounds[-1][0] + 1, n_items + 1)
    receipts = [Receipt(rnd.choice(raws), D(rnd.randint(10, 200)), START + timedelta(days=rnd.randint(0, 120)),
                        f"PO-{k:06d}") for k in range(n_items // 2)]
    receipts += [Receipt(rnd.randint(1, bounds[2][1]), D(rnd.randint(1, 30)), START + timedelta(days=rnd.randint(0, 60)),
                         f"WO-{k:06d}") for k in range(n_items // 10)]
    return {"items": items, "boms": boms, "demands": demands, "receipts": receipts, "sellable": sellable}


def old_single_bucket(data: dict[str, Any]) -> int:
    """The netting MRP did before issue 21 (one bucket, no dates, no safety stock), over
    the same data: returns the number of lines."""
    boms, items = data["boms"], data["items"]
    levels = low_level_codes(boms)
    gross: dict[int, D] = {}
    on_order: dict[int, D] = {}
    for d in data["demands"]:
        gross[d.item] = gross.get(d.item, D(0)) + d.qty
    for r in data["receipts"]:
        on_order[r.item] = on_order.get(r.item, D(0)) + r.qty
    by_level: dict[int, list[int]] = {}
    for i in items:
        by_level.setdefault(levels.get(i, 0), []).append(i)
    lines = 0
    for lvl in sorted(by_level):
        for item in by_level[lvl]:
            if item not in gross:
                continue
            net = max(D(0), gross[item] - items[item].on_hand - on_order.get(item, D(0)))
            lines += 1
            bom = boms.get(item)
            if bom is not None and net > 0:
                for c in bom.components:
                    gross[c.item] = gross.get(c.item, D(0)) + net * c.qty / bom.output_qty
    return lines


def engine_figures(data: dict[str, Any], cal: Calendar) -> dict[str, float]:
    """Prints the engine's figures; returns its CPU seconds (full run, median net change),
    the baselines of the end-to-end figures of the same process."""
    gc.collect()
    started = time.perf_counter()
    lines = old_single_bucket(data)
    base = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    plan = Planner(cal, data["items"], data["boms"], data["demands"], data["receipts"])
    results = plan.run()
    full, full_cpu = time.perf_counter() - started, time.process_time() - cpu
    orders = sum(len(r.orders) for r in results.values())
    exceptions = sum(len(r.exceptions) for r in results.values())
    emit("engine: full time-phased run (10k items, 5 levels, 52 weekly buckets)", full, "s",
         "old single-bucket netting, same data", base, cpu_s=round(full_cpu, 3), planned_orders=orders,
         exceptions=exceptions, old_lines=lines, load_average=round(os.getloadavg()[0], 1), target="< 10 s")
    # net change: one new order line for a product with the deepest structure below it
    rnd = random.Random(3)
    times: list[float] = []
    cpus: list[float] = []
    reached: list[int] = []
    for _ in range(20):
        item = rnd.choice(data["sellable"][:len(data["sellable"]) // 2])
        extra = Demand(item, D(rnd.randint(5, 50)), START + timedelta(days=rnd.randint(0, 300)), "SO-NEW")
        plan.set_demands(item, [*plan.demands.get(item, []), extra])
        t0, c0 = time.perf_counter(), time.process_time()
        reached.append(len(plan.replan({item})))
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    times.sort()
    cpus.sort()
    emit("engine: net change after one new order line (median of 20)", times[len(times) // 2], "s",
         "engine: full time-phased run", full, cpu_s=round(cpus[len(cpus) // 2], 4), max_s=round(times[-1], 4),
         items_replanned_median=sorted(reached)[len(reached) // 2], target="< 0.5 s")
    del plan, results
    gc.collect()
    tracemalloc.start()
    Planner(cal, data["items"], data["boms"], data["demands"], data["receipts"]).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    emit("engine: peak Python memory of a full run (tracemalloc)", peak / 2**20, "MiB",
         "process max RSS so far", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"full": full, "full_cpu": full_cpu, "net_cpu": cpus[len(cpus) // 2]}


def _load_app(jimu: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The generated factory as records of a discrete manufacturing app (bulk: records for
    heads, Core inserts for child rows, as an import would)."""
    import sqlalchemy as sa

    from jimu.platform.schema import column_name
    from jimu.templates_market.installer import install_template

    install_template(jimu, "mfg", "discrete_manufacturing", sample_data=False)
    rec = jimu.records
    wh = rec.create("mfg", "warehouse", {"name": "Plant", "confirm_code": "1"})["id"]
    cust = rec.create("mfg", "customer", {"name": "C"})["id"]
    sups = [rec.create("mfg", "supplier", {"name": f"S{i}"})["id"] for i in range(50)]
    items = data["items"]
    rec.bulk_insert("mfg", "item", [
        {"sku": f"I{i:05d}", "name": f"Item {i}", "safety_stock": it.safety_stock, "lead_time_days": it.lead_time_days,
         "min_order_qty": it.min_order_qty, "order_multiple": it.order_multiple,
         "default_supplier": sups[it.supplier - 1] if it.supplier else None} for i, it in items.items()])
    rt = jimu.apps.get("mfg")
    at = jimu_now()

    def child_rows(entity: str, rows: list[dict[str, Any]]) -> None:
        ent = rt.spec.entity(entity)
        cols = {f.name: column_name(f) for f in ent.fields}
        out = [{**{cols[k]: v for k, v in r.items() if k in cols}, "_parent_id": r["_parent_id"], "_idx": r["_idx"],
                "version": 1, "created_at": at, "updated_at": at} for r in rows]
        with jimu.db.write() as c:
            for i in range(0, len(out), 5000):
                c.execute(rt.tables(entity).insert(), out[i:i + 5000])

    with jimu.db.read() as c:
        t = rt.tables("item")
        ids = {int(sku[1:]): iid for iid, sku in c.execute(sa.select(t.c.id, t.c.sku))}
    boms = list(data["boms"].values())
    rec.bulk_insert("mfg", "bom", [{"product": ids[b.product], "qty": b.output_qty, "name": "B"} for b in boms])
    with jimu.db.write() as c:
        t = rt.tables("bom")
        c.execute(sa.update(t).values(state="active"))
        bom_ids = {p: i for i, p in c.execute(sa.select(t.c.id, t.c.product))}
    child_rows("bom_line", [{"_parent_id": bom_ids[ids[b.product]], "_idx": k, "item": ids[c.item], "qty": c.qty,
                             "scrap_rate": c.scrap_rate} for b in boms for k, c in enumerate(b.components)])
    docs: dict[str, list[Demand]] = {}
    for d in data["demands"]:
        docs.setdefault(d.source, []).append(d)
    heads = list(docs.items())
    rec.bulk_insert("mfg", "sales_order", [{"customer": cust, "warehouse": wh, "delivery_date": ds[0].on}
                                           for _, ds in heads])
    with jimu.db.read() as c:
        t = rt.tables("sales_order")
        so_ids = [i for (i,) in c.execute(sa.select(t.c.id).order_by(t.c.id))]
    child_rows("sales_order_line", [{"_parent_id": so_ids[k], "_idx": j, "item": ids[d.item], "qty": d.qty,
                                    "price": D(1)} for k, (_, ds) in enumerate(heads) for j, d in enumerate(ds)])
    pos = [r for r in data["receipts"] if r.source.startswith("PO")]
    rec.bulk_insert("mfg", "purchase_order", [{"supplier": sups[0], "warehouse": wh, "expected_date": r.on}
                                              for r in pos])
    with jimu.db.read() as c:
        t = rt.tables("purchase_order")
        po_ids = [i for (i,) in c.execute(sa.select(t.c.id).order_by(t.c.id))]
    child_rows("purchase_order_line", [{"_parent_id": po_ids[k], "_idx": 0, "item": ids[r.item], "qty": r.qty,
                                        "price": D(1)} for k, r in enumerate(pos)])
    return {"warehouse": wh, "customer": cust, "ids": ids}


def _server_ticks(pid: int) -> int | None:
    """CPU clock ticks (user + system) of the PostgreSQL backend ``pid`` so far, when the
    server runs on this machine (else None)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


class Statements:
    """Counts the statements a piece of work sends to the database: every ``execute``,
    ``executemany`` and ``COPY`` on the driver's cursors (SQLAlchemy's and the raw ones of
    the bulk paths) while :attr:`on`. On PostgreSQL each is at least one round trip, a
    figure the machine's load does not move. On SQLite an ``executemany`` counts once.

    PostgreSQL on this machine: :attr:`server_s` is the CPU time the server's backends of
    the engine's connections spent meanwhile (``/proc/<pid>/stat``, 10 ms ticks): the
    server's side of the work, which the client's CPU time leaves out and which wall time
    under load does not show."""

    def __init__(self, engine: Any) -> None:
        self.on, self.count = False, 0
        self.server_s: float | None = None
        self._pids: set[int] = set()
        self._start: dict[int, int | None] = {}
        if engine.dialect.name != "postgresql":
            import sqlalchemy as sa

            sa.event.listen(engine, "before_cursor_execute", self._sqlalchemy)
            self._raw = False
            return
        import psycopg
        import sqlalchemy as sa

        counter = self

        class Counting(psycopg.Cursor):  # type: ignore[type-arg]
            def execute(self, *a: Any, **kw: Any) -> Any:
                counter.count += counter.on
                return super().execute(*a, **kw)

            def executemany(self, *a: Any, **kw: Any) -> Any:
                counter.count += counter.on
                return super().executemany(*a, **kw)

            def copy(self, *a: Any, **kw: Any) -> Any:
                counter.count += counter.on
                return super().copy(*a, **kw)

        def checkout(dbapi_conn: Any, *_: Any) -> None:
            dbapi_conn.cursor_factory = Counting
            pid = int(dbapi_conn.info.backend_pid)
            self._pids.add(pid)
            if self.on and pid not in self._start:
                self._start[pid] = _server_ticks(pid)

        sa.event.listen(engine, "checkout", checkout)
        self._raw = True

    def _sqlalchemy(self, *_: Any) -> None:
        self.count += self.on

    def __enter__(self) -> Statements:
        self.on, self.count = True, 0
        self._start = {pid: _server_ticks(pid) for pid in self._pids}
        return self

    def __exit__(self, *_: Any) -> None:
        self.on = False
        spent = [(_server_ticks(pid), t) for pid, t in self._start.items()]
        known = [(now, t) for now, t in spent if now is not None and t is not None]
        self.server_s = (sum(now - t for now, t in known) / os.sysconf("SC_CLK_TCK")
                         if known and len(known) == len(spent) else None)


def analyze_app_tables(jimu: Any) -> None:
    """PostgreSQL: ``ANALYZE`` the loaded tables, as autovacuum would have done long before
    anyone planned on them (the test server runs with autovacuum off, so without this
    every query of the run would be planned on no statistics at all)."""
    if jimu.db.engine.dialect.name != "postgresql":
        return
    rt = jimu.apps.get("mfg")
    with jimu.db.write() as c:
        names = [c.dialect.identifier_preparer.format_table(t) for t in rt.tables.metadata.sorted_tables]
        c.exec_driver_sql("ANALYZE " + ", ".join(names))


def jimu_now() -> Any:
    from jimu.core.clock import now

    return now()


def e2e_figures(data: dict[str, Any], backend: str, url: str, engine: dict[str, float]) -> None:
    """``calculate`` (wall seconds, CPU beside: its lines are stored in parallel with the
    planning, so its CPU is not its duration) and ``replan`` (CPU seconds: the machine is
    shared and wall time carries the other processes' load) through the workflow engine,
    against the engine alone on the same data in the same process."""
    from jimu.platform.actor import Actor
    from jimu.runtime.context import Jimu
    from jimu.runtime.workflow.engine import WorkflowEngine

    jimu = Jimu.open(url)
    try:
        t0 = time.perf_counter()
        app = _load_app(jimu, data)
        analyze_app_tables(jimu)
        load = time.perf_counter() - t0
        statements = Statements(jimu.db.engine)
        buyer = Actor("buyer", ("purchasing",))
        eng = WorkflowEngine(jimu)
        run = jimu.records.create("mfg", "mrp_run", {"warehouse": app["warehouse"], "run_date": START,
                                                     "horizon_days": 364, "bucket": "week"}, actor=buyer)
        t0, c0 = time.perf_counter(), time.process_time()
        done = eng.fire("mfg", "mrp_run", run["id"], "calculate", actor=buyer)
        full, full_cpu = time.perf_counter() - t0, time.process_time() - c0
        lines = done["planned_orders"]
        t0 = time.perf_counter()
        from jimu.runtime.mrp import data as loader

        with jimu.db.read() as c:
            rt = jimu.apps.get("mfg", c)
            w = loader.load_world(c, rt, app["warehouse"], START)
        load_only = time.perf_counter() - t0
        # wall, not CPU: the lines are stored by a thread of their own (SQLite) or the server
        # (PostgreSQL) while the run is planned, so the process's CPU exceeds the time taken
        emit(f"end to end: mrp_run calculate, wall ({backend})", full, "s",
             "engine alone: full time-phased run, wall (same process)", engine["full"],
             backend=backend, cpu_s=round(full_cpu, 2), lines=lines, exceptions=done["exception_count"],
             loading_inputs_alone_s=round(load_only, 2), demand_lines=len(w.demands),
             load_average=round(os.getloadavg()[0], 1), setup_s=round(load, 2), target="< 10 s")
        product = app["ids"][data["sellable"][0]]
        so = jimu.records.create("mfg", "sales_order", {"customer": app["customer"], "warehouse": app["warehouse"],
                                                        "delivery_date": START + timedelta(days=40),
                                                        "lines": [{"item": product, "qty": 7, "price": 1}]})
        t0, c0 = time.perf_counter(), time.process_time()
        with statements:
            after = eng.fire("mfg", "mrp_run", run["id"], "replan", inputs={"changed_document": so["number"]},
                             actor=buyer)
        net, net_cpu = time.perf_counter() - t0, time.process_time() - c0
        emit(f"end to end: mrp_run replan after one new order, CPU ({backend})", net_cpu, "s",
             "engine alone: net change after one new order line, CPU (same process)", engine["net_cpu"],
             backend=backend, wall_s=round(net, 3), lines_after=after["planned_orders"],
             statements=statements.count, server_cpu_s=statements.server_s, load_average=round(os.getloadavg()[0], 1), target="< 0.5 s")
        # four more new orders, each for another product: one figure is a single sample
        cpus, walls, counts, servers = [net_cpu], [net], [statements.count], [statements.server_s]
        for k in range(1, 5):
            so = jimu.records.create("mfg", "sales_order", {
                "customer": app["customer"], "warehouse": app["warehouse"],
                "delivery_date": START + timedelta(days=40 + 7 * k),
                "lines": [{"item": app["ids"][data["sellable"][k]], "qty": 7, "price": 1}]})
            t0, c0 = time.perf_counter(), time.process_time()
            with statements:
                eng.fire("mfg", "mrp_run", run["id"], "replan", inputs={"changed_document": so["number"]}, actor=buyer)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            counts.append(statements.count)
            servers.append(statements.server_s)
        emit(f"end to end: mrp_run replan, median of 5 new orders (5 products), CPU ({backend})",
             sorted(cpus)[2], "s", "engine alone: net change after one new order line, CPU (same process)",
             engine["net_cpu"], backend=backend, cpu_s=[round(c, 3) for c in cpus],
             wall_s=[round(w, 3) for w in walls], statements=counts,
             server_cpu_s=None if None in servers else servers, load_average=round(os.getloadavg()[0], 1), target="< 0.5 s")
    finally:
        jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--demands", type=int, default=50_000)
    ap.add_argument("--no-e2e", action="store_true")
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], help="end to end on this database only")
    args = ap.parse_args()
    data = generate(args.items, args.demands)
    cal = Calendar(START, 364, 7)
    engine = engine_figures(data, cal)
    if args.no_e2e:
        return
    for backend, url, schema in backends():
        try:
            if args.backend in (None, backend):
                e2e_figures(data, backend, url, engine)
        finally:
            if schema:
                drop_pg_schema(schema)
    emit("process max RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MiB", pid=os.getpid())


if __name__ == "__main__":
    main()

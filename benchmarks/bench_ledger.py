"""Ledger figures: reservations/s on one hot item against a bare guarded UPDATE loop in the
same run (also as CPU time per reservation), and the time verify() takes over N movements.

Prints one JSON line per figure: {"figure", "value", "unit", "baseline", "baseline_value",
"ratio", "backend"}. SQLite always; PostgreSQL with --pg-url or JIMU_TEST_PG_URL.

    python benchmarks/bench_ledger.py [--reservations 3000] [--movements 1000000] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from jimu.platform.db import Database, make_engine
from jimu.platform.ledger import Ledger, receipt, reserve, verify
from jimu.platform.store.bootstrap import upgrade_system_tables

STOCK = Ledger("stock", ("item", "warehouse"), scale=3)
HOT = {"item": 1, "warehouse": 10}


def emit(figure: str, value: float, unit: str, baseline: str | None, baseline_value: float | None,
         backend: str, higher_is_better: bool = True) -> None:
    ratio = None
    if baseline_value:
        ratio = round(value / baseline_value if higher_is_better else baseline_value / value, 3)
    print(json.dumps({"figure": figure, "value": round(value, 3), "unit": unit, "baseline": baseline,
                      "baseline_value": None if baseline_value is None else round(baseline_value, 3),
                      "ratio": ratio, "backend": backend}), flush=True)


@contextmanager
def database(backend: str, pg_url: str | None) -> Iterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            yield db
            db.dispose()
        return
    assert pg_url
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_url else "?"
    db = Database(f"{pg_url}{sep}options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def rate(n: int, step: Callable[[], None]) -> tuple[float, float]:
    """(steps per wall second, CPU microseconds per step) over ``n`` steps after a warm-up."""
    for _ in range(min(50, n)):  # warm up pools and statement caches
        step()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1e6


def bench_reservations(db: Database, backend: str, n: int) -> None:
    with db.write() as c:
        receipt(c, "bench", STOCK, HOT, n * 10)
        c.exec_driver_sql("CREATE TABLE bench_bare (id INTEGER PRIMARY KEY, on_hand BIGINT, reserved BIGINT)")
        c.exec_driver_sql(f"INSERT INTO bench_bare VALUES (1, {n * 10 * 1000}, 0)")
    bare_sql = sa.text("UPDATE bench_bare SET reserved = reserved + :n WHERE id = 1 AND on_hand - reserved >= :n")

    def bare() -> None:
        with db.write() as c:
            assert c.execute(bare_sql, {"n": 1000}).rowcount == 1

    def ledger() -> None:
        with db.write() as c:
            reserve(c, "bench", STOCK, HOT, 1)

    # Interleave the two loops so background noise hits both alike.
    bare_runs, ledger_runs = [], []
    for _ in range(3):
        bare_runs.append(rate(n // 3, bare))
        ledger_runs.append(rate(n // 3, ledger))
    b, ledg = max(r for r, _ in bare_runs), max(r for r, _ in ledger_runs)
    emit("ledger_reservations_per_s_hot_item", ledg, "reservations/s", "bare_guarded_update_per_s", b, backend)
    # The same loops in this process's CPU time (steadier on a shared machine; leaves out
    # waits such as SQLite's checkpoint fsyncs, which the wall-clock figure above includes).
    emit("ledger_reservation_cpu_us_hot_item", min(c for _, c in ledger_runs), "us/reservation",
         "bare_guarded_update_cpu_us", min(c for _, c in bare_runs), backend, higher_is_better=False)


def fill_movements(db: Database, n: int, keys: int = 1000) -> None:
    cols = "at, app, ledger, key, dims, kind, d_on_hand, d_reserved, d_in_transit, d_on_order, d_quarantine"
    if db.is_sqlite:
        body = (f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) "
                f"SELECT '2026-01-01 00:00:00.000000', 'bench', 'stock', "
                f"'[\"' || mod(n, {keys}) || '\", \"10\"]', '{{\"item\": ' || mod(n, {keys}) || ', \"warehouse\": 10}}', "
                f"'receipt', CASE WHEN mod(n, 3) = 0 THEN -1 ELSE 2 END, 0, 0, 0, 0 FROM s")
    else:
        body = (f"SELECT timestamptz '2026-01-01', 'bench', 'stock', "
                f"'[\"' || mod(n, {keys}) || '\", \"10\"]', ('{{\"item\": ' || mod(n, {keys}) || ', \"warehouse\": 10}}')::json, "
                f"'receipt', CASE WHEN mod(n, 3) = 0 THEN -1 ELSE 2 END, 0, 0, 0, 0 FROM generate_series(1, {n}) AS n")
    with db.write() as c:
        c.exec_driver_sql(f"INSERT INTO jimu_ledger_movement ({cols}) {body}")
        dims = "'{}'" if db.is_sqlite else "'{}'::json"
        c.exec_driver_sql(
            "INSERT INTO jimu_ledger_balance (app, ledger, key, dims, on_hand, reserved, in_transit, on_order, "
            f"quarantine) SELECT app, ledger, key, {dims}, SUM(d_on_hand), 0, 0, 0, 0 FROM jimu_ledger_movement "
            "WHERE app = 'bench' GROUP BY app, ledger, key")
        if not db.is_sqlite:
            c.exec_driver_sql("ANALYZE jimu_ledger_movement")


def bench_verify(db: Database, backend: str, n: int) -> None:
    fill_movements(db, n)
    start = time.perf_counter()
    diffs = verify(db, "bench")
    took = time.perf_counter() - start
    assert diffs == [], diffs[:3]
    emit(f"ledger_verify_s_{n}_movements", took, "s", "target_s", 30.0, backend, higher_is_better=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reservations", type=int, default=3000)
    parser.add_argument("--movements", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=os.environ.get("JIMU_TEST_PG_URL"))
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.pg_url else [])
    for backend in backends:
        with database(backend, args.pg_url) as db:
            upgrade_system_tables(db)
            bench_reservations(db, backend, args.reservations)
        with database(backend, args.pg_url) as db:
            upgrade_system_tables(db)
            bench_verify(db, backend, args.movements)


if __name__ == "__main__":
    main()

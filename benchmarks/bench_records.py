"""Records: 100k inserts through the record service vs raw SQLAlchemy Core on the same
table, and single-row create latency (p50/p99).

Usage: python benchmarks/bench_records.py [--rows 100000] [--singles 500]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import backends, drop_pg_schema, emit, percentile  # noqa: E402

from jimu.core.clock import now  # noqa: E402
from jimu.runtime.context import Jimu  # noqa: E402

SPEC = {"name": "bench", "entities": [{"name": "item", "fields": [
    {"name": "sku", "type": "text", "unique": True},
    {"name": "name", "type": "text"},
    {"name": "cost_price", "type": "money"},
    {"name": "qty", "type": "decimal"},
    {"name": "active", "type": "boolean"},
]}, {"name": "item_raw", "fields": [
    {"name": "sku", "type": "text", "unique": True},
    {"name": "name", "type": "text"},
    {"name": "cost_price", "type": "money"},
    {"name": "qty", "type": "decimal"},
    {"name": "active", "type": "boolean"},
]}]}


def rows(n: int, prefix: str) -> list[dict[str, object]]:
    return [{"sku": f"{prefix}{i:07d}", "name": f"商品{i}", "cost_price": f"{i % 1000}.25", "qty": f"{i % 97}.5",
             "active": i % 2 == 0} for i in range(n)]


def run(backend: str, url: str, n: int, singles: int) -> None:
    jimu = Jimu.open(url)
    jimu.store.create_app("bench")
    jimu.store.save_draft("bench", SPEC)
    jimu.store.publish("bench")
    rt = jimu.apps.get("bench")
    data = rows(n, "S")

    t0 = time.perf_counter()
    jimu.records.bulk_insert("bench", "item", data)
    service_s = time.perf_counter() - t0

    table = rt.tables("item_raw")
    at = now()
    raw_rows = [{**r, "version": 1, "created_at": at, "updated_at": at} for r in rows(n, "R")]
    t0 = time.perf_counter()
    with jimu.db.write() as c:
        for i in range(0, len(raw_rows), 2000):
            c.execute(table.insert().values(raw_rows[i:i + 2000]))
    raw_s = time.perf_counter() - t0
    emit("records.bulk_insert_rows_per_s", n / service_s, "rows/s", "raw Core insert().values()", n / raw_s,
         backend=backend, rows=n, target="ratio >= 0.5")
    many_rows = [{**r, "version": 1, "created_at": at, "updated_at": at} for r in rows(n, "M")]
    t0 = time.perf_counter()
    with jimu.db.write() as c:
        for i in range(0, len(many_rows), 2000):
            c.execute(table.insert(), many_rows[i:i + 2000])
    many_s = time.perf_counter() - t0
    emit("records.bulk_insert_rows_per_s", n / service_s, "rows/s", "raw Core executemany insert()", n / many_s,
         backend=backend, rows=n, target="ratio >= 0.5")

    latencies = []
    for i in range(singles):
        t0 = time.perf_counter()
        jimu.records.create("bench", "item", {"sku": f"X{i:06d}", "name": "单条", "cost_price": "9.99", "qty": "1"})
        latencies.append((time.perf_counter() - t0) * 1000)
    raw_lat = []
    for i in range(singles):
        t0 = time.perf_counter()
        with jimu.db.write() as c:
            c.execute(table.insert().values(sku=f"Y{i:06d}", name="单条", cost_price="9.99", qty="1", version=1,
                                            created_at=now(), updated_at=now()))
        raw_lat.append((time.perf_counter() - t0) * 1000)
    emit("records.create_p50", percentile(latencies, 50), "ms", "raw single insert p50", percentile(raw_lat, 50),
         backend=backend)
    emit("records.create_p99", percentile(latencies, 99), "ms", "raw single insert p99", percentile(raw_lat, 99),
         backend=backend)
    jimu.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=500)
    args = parser.parse_args()
    for backend, url, schema in backends():
        try:
            run(backend, url, args.rows, args.singles)
        finally:
            if schema:
                drop_pg_schema(schema)


if __name__ == "__main__":
    main()

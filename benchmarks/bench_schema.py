"""Schema evolution: add a field with a default to a table of 1,000,000 rows (target < 1 s
on SQLite and PostgreSQL). The baseline is a plain ``ALTER TABLE ... ADD COLUMN`` of the
same column on a copy of the table, in the same run.

Usage: python benchmarks/bench_schema.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import backends, drop_pg_schema, emit  # noqa: E402

from jimu.runtime.context import Jimu  # noqa: E402

SPEC = {"name": "bench", "entities": [{"name": "item", "fields": [
    {"name": "sku", "type": "text"}, {"name": "qty", "type": "decimal"}]}]}


def fill(jimu: Jimu, table: str, n: int) -> None:
    with jimu.db.write() as c:
        if jimu.db.is_sqlite:
            c.execute(sa.text(
                f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
                f"INSERT INTO {table} (version, created_at, updated_at, sku, qty) "
                "SELECT 1, '2026-11-30 00:00:00', '2026-11-30 00:00:00', 'SKU' || i, i % 100 FROM s"))
        else:
            c.execute(sa.text(
                f"INSERT INTO {table} (version, created_at, updated_at, sku, qty) "
                f"SELECT 1, now(), now(), 'SKU' || i, i % 100 FROM generate_series(1, {n}) AS i"))


def run(backend: str, url: str, n: int) -> None:
    jimu = Jimu.open(url)
    jimu.store.create_app("bench")
    jimu.store.save_draft("bench", SPEC)
    jimu.store.publish("bench")
    fill(jimu, "app_bench__item", n)
    with jimu.db.write() as c:
        c.execute(sa.text("CREATE TABLE raw_copy AS SELECT * FROM app_bench__item"))

    jimu.store.put_field("bench", "item", "safety_stock", {"type": "integer", "default": 10, "label": "安全库存"})
    t0 = time.perf_counter()
    result = jimu.store.publish("bench")
    jimu_s = time.perf_counter() - t0
    assert result.published

    t0 = time.perf_counter()
    with jimu.db.write() as c:
        c.execute(sa.text("ALTER TABLE raw_copy ADD COLUMN safety_stock BIGINT DEFAULT 10"))
    raw_s = time.perf_counter() - t0
    with jimu.db.read() as c:
        count = c.execute(sa.text("SELECT COUNT(*) FROM app_bench__item WHERE safety_stock = 10")).scalar_one()
    assert count == n, count
    emit("schema.add_field_with_default_s", jimu_s, "s", "plain ALTER TABLE ADD COLUMN", raw_s, backend=backend,
         rows=n, target="< 1 s")
    jimu.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    for backend, url, schema in backends():
        try:
            run(backend, url, args.rows)
        finally:
            if schema:
                drop_pg_schema(schema)


if __name__ == "__main__":
    main()

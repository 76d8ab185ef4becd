"""Movements route figure (issue 19): ``GET .../ledgers/stock/movements?batch=`` over a
food app holding 200,000 movements of 2,000 batches, against ``GET .../balances?batch=`` of
the same batches in the same run (the route a caller used before: one row per balance).

The data is bulk-loaded straight into the ledger tables (balance rows of 2,000 batches over
200 items and 2 warehouses; movements of 20,000 sales orders and 5,000 purchase orders that
exist as records, so the per-row document check has real rows to find). Figures: p50/p99
of one page (limit 50) for admin, and for sales, who may not read purchase orders (the
route skips those rows and reads on). In-process Starlette TestClient; prints JSON lines;
SQLite always, PostgreSQL with JIMU_TEST_PG_URL.

    python benchmarks/bench_movements.py [--movements 200000] [--queries 60]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import backends, drop_pg_schema, emit, percentile  # noqa: E402

APP = "food"


def load(jimu: Any, n_moves: int, seed: int = 19) -> list[int]:
    """Bulk-load the app; returns the batch ids."""
    from jimu.platform.ledger import as_ledger
    from jimu.platform.ledger.tables import balance, movement

    rnd = random.Random(seed)
    rt = jimu.apps.get(APP)
    now = datetime.now(UTC)
    sys_cols = {"version": 1, "created_at": now, "updated_at": now, "created_by": "bench", "updated_by": "bench"}
    with jimu.db.write() as c:
        c.execute(rt.tables("warehouse").insert(), [{**sys_cols, "name": f"仓{i}", "confirm_code": str(i)} for i in (1, 2)])
        c.execute(rt.tables("item").insert(), [{**sys_cols, "sku": f"SKU-{i:04d}", "name": f"商品{i}"} for i in range(200)])
        c.execute(rt.tables("customer").insert(), [{**sys_cols, "name": "客户"}])
        c.execute(rt.tables("supplier").insert(), [{**sys_cols, "name": "供应商"}])
    ids = {e: [r[0] for r in jimu.db.engine.connect().execute(rt.tables(e).select().with_only_columns(
        rt.tables(e).c.id))] for e in ("warehouse", "item", "customer", "supplier")}
    batches = [{**sys_cols, "item": ids["item"][i % 200], "batch_no": f"B{i:05d}", "quality_status": "released",
                "expiry_date": (now + timedelta(days=30 + i % 300)).date()} for i in range(2000)]
    with jimu.db.write() as c:
        c.execute(rt.tables("batch").insert(), batches)
        c.execute(rt.tables("sales_order").insert(), [
            {**sys_cols, "number": f"SO-{i:06d}", "customer": ids["customer"][0], "warehouse": ids["warehouse"][0],
             "state": "shipped"} for i in range(20000)])
        c.execute(rt.tables("purchase_order").insert(), [
            {**sys_cols, "number": f"PO-{i:06d}", "supplier": ids["supplier"][0], "warehouse": ids["warehouse"][0],
             "state": "received"} for i in range(5000)])
    with jimu.db.engine.connect() as c:
        batch_rows = [(r[0], r[1]) for r in c.execute(rt.tables("batch").select().with_only_columns(
            rt.tables("batch").c.id, rt.tables("batch").c.item))]
        so = [r[0] for r in c.execute(rt.tables("sales_order").select().with_only_columns(rt.tables("sales_order").c.id))]
        po = [r[0] for r in c.execute(rt.tables("purchase_order").select().with_only_columns(
            rt.tables("purchase_order").c.id))]
    lg = as_ledger(rt.spec.ledger("stock"))
    keys = []
    with jimu.db.write() as c:
        rows = []
        for bid, item in batch_rows:
            for wh in ids["warehouse"]:
                dims = {"item": item, "warehouse": wh, "batch": bid}
                key, _ = lg.key_texts(dims)
                keys.append((key, dims))
                rows.append({"app": APP, "ledger": "stock", "key": key, "dims": dims, **lg.slots(dims),
                             "on_hand": 100_0000})
        c.execute(balance.insert(), rows)
    at = now - timedelta(days=90)
    for start in range(0, n_moves, 20000):
        rows = []
        for i in range(start, min(n_moves, start + 20000)):
            key, dims = keys[rnd.randrange(len(keys))]
            receipt = rnd.random() < 0.3
            rows.append({"at": at + timedelta(seconds=i * 30), "user": "bench", "app": APP, "ledger": "stock",
                         "key": key, "dims": dims, "kind": "receipt" if receipt else "ship",
                         "d_on_hand": 1_0000 if receipt else -1_0000,
                         "doc_entity": "purchase_order" if receipt else "sales_order",
                         "doc_id": str(rnd.choice(po if receipt else so)), "doc_line": None})
        with jimu.db.write() as c:
            c.execute(movement.insert(), rows)
    return [b for b, _ in batch_rows]


def timed(client: Any, url: str, headers: dict[str, str], params: list[dict[str, Any]]) -> list[float]:
    out = []
    for p in params:
        t0 = time.perf_counter()
        r = client.get(url, params=p, headers=headers)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
    return out


def run(name: str, url: str, a: argparse.Namespace) -> None:
    from starlette.testclient import TestClient

    from jimu.runtime.api.app import create_app
    from jimu.runtime.context import Jimu
    from jimu.templates_market.installer import install_template

    jimu = Jimu.open(url)
    try:
        install_template(jimu, APP, "food", {"approvals": False}, sample_data=False)
        for user in ("admin", "sales"):
            jimu.users.create(user, user, [user])
        t0 = time.perf_counter()
        batches = load(jimu, a.movements)
        load_s = time.perf_counter() - t0
        rnd = random.Random(7)
        params = [{"batch": rnd.choice(batches), "limit": 50} for _ in range(a.queries)]
        with TestClient(create_app(jimu)) as client:
            tok = {u: client.post("/api/auth/token", json={"username": u, "password": u}).json()["access_token"]
                   for u in ("admin", "sales")}
            for user in ("admin", "sales"):
                h = {"Authorization": f"Bearer {tok[user]}"}
                base = f"/api/apps/{APP}/ledgers/stock"
                timed(client, base + "/movements", h, params[:5])  # warm
                moves = timed(client, base + "/movements", h, params)
                bal = timed(client, base + "/balances", h, [{"batch": p["batch"]} for p in params])
                for pct in (50, 99):
                    emit(f"movements_by_batch_p{pct}_{user}", percentile(moves, pct), "ms",
                         f"balances_by_batch_p{pct}", percentile(bal, pct), backend=name, movements=a.movements,
                         load_s=round(load_s, 1))
    finally:
        jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--movements", type=int, default=200000)
    ap.add_argument("--queries", type=int, default=60)
    a = ap.parse_args()
    for name, url, schema in backends():
        try:
            run(name, url, a)
        finally:
            if schema:
                drop_pg_schema(schema)


if __name__ == "__main__":
    main()

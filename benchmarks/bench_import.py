"""Spreadsheet import (issue 22): rows per second of ``POST .../import`` against the record
service's bulk insert of the same rows, in the same run (target ratio ≥ 0.5).

An XLSX of ``--rows`` rows (text, money, decimal, date, phone, choice by label, link by
warehouse name) is generated with openpyxl ``write_only``. Figures:

- ``bulk_insert_rows_per_s`` (baseline): :meth:`RecordService.bulk_insert` of the rows
  already typed (ids for links, choice values), into an empty item table;
- ``import_rows_per_s``: :func:`run_import` of the kept preview (cells read as the target
  fields' types, links resolved, unique values checked, then the same bulk insert) into an
  empty item table of a second, identical app;
- ``preview_rows_per_s``: reading the XLSX and inferring the columns (reported alone; the
  ratio above does not include it), and ``end_to_end_rows_per_s`` for both together.

Prints JSON lines; SQLite always, PostgreSQL with JIMU_TEST_PG_URL.

    python benchmarks/bench_import.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import backends, drop_pg_schema, emit  # noqa: E402

ITEM = {"name": "item", "title_field": "name", "search_fields": ["sku", "name"], "fields": [
    {"name": "sku", "type": "text", "required": True, "unique": True, "label": {"zh": "商品编码", "en": "SKU"}},
    {"name": "name", "type": "text", "required": True, "label": {"zh": "商品名称", "en": "Name"}},
    {"name": "unit_price", "type": "money", "label": {"zh": "单价", "en": "Unit price"}},
    {"name": "qty", "type": "decimal", "options": {"precision": 18, "scale": 2}, "label": {"zh": "数量", "en": "Qty"}},
    {"name": "made_on", "type": "date", "label": {"zh": "生产日期", "en": "Made on"}},
    {"name": "phone", "type": "phone", "label": {"zh": "联系电话", "en": "Phone"}},
    {"name": "kind", "type": "choice", "label": {"zh": "类型", "en": "Kind"}, "options": {"choices": [
        {"value": "goods", "label": {"zh": "商品", "en": "Goods"}},
        {"value": "service", "label": {"zh": "服务", "en": "Service"}}]}},
    {"name": "warehouse", "type": "link", "options": {"entity": "warehouse"}, "label": {"zh": "仓库", "en": "Warehouse"}},
]}
WAREHOUSE = {"name": "warehouse", "title_field": "name", "fields": [{"name": "name", "type": "text", "required": True}]}
HEADERS = ["商品编码", "商品名称", "单价", "数量", "生产日期", "联系电话", "类型", "仓库"]
MAPPING = {"shang_pin_bian_ma": "sku", "shang_pin_ming_cheng": "name", "dan_jia": "unit_price", "shu_liang": "qty",
           "sheng_chan_ri_qi": "made_on", "lian_xi_dian_hua": "phone", "lei_xing": "kind", "cang_ku": "warehouse"}


def cells(i: int) -> list[Any]:
    day = date(2026, 1, 1) + timedelta(days=i % 365)
    return [f"S{i:07d}", f"商品{i}", (i % 1000) / 4, i % 7 + 0.5, day if i % 2 else day.strftime("%Y/%m/%d"),
            f"138{i:08d}", "商品" if i % 3 else "服务", "主仓" if i % 2 else "二仓"]


def workbook(n: int) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADERS)
    for i in range(n):
        ws.append(cells(i))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def make_app(jimu: Any, app: str) -> dict[str, int]:
    jimu.store.create_app(app, {"zh": app, "en": app})
    jimu.store.put_element(app, "entity", "warehouse", WAREHOUSE)
    jimu.store.put_element(app, "entity", "item", ITEM)
    jimu.store.publish(app)
    return {name: jimu.records.create(app, "warehouse", {"name": name})["id"] for name in ("主仓", "二仓")}


def typed(i: int, wh: dict[str, int]) -> dict[str, Any]:
    c = cells(i)
    made = c[4] if isinstance(c[4], date) else date(2026, 1, 1) + timedelta(days=i % 365)
    return {"sku": c[0], "name": c[1], "unit_price": str(c[2]), "qty": str(c[3]), "made_on": made.isoformat(),
            "phone": c[5], "kind": "goods" if c[6] == "商品" else "service", "warehouse": wh[c[7]]}


def run(name: str, url: str, n: int) -> None:
    from jimu.platform.actor import Actor
    from jimu.runtime.access import AccessPolicy
    from jimu.runtime.context import Jimu
    from jimu.runtime.intel.import_preview import make_preview
    from jimu.runtime.intel.import_read import read_sheet
    from jimu.runtime.intel.import_run import run_import

    jimu = Jimu.open(url)
    try:
        data = workbook(n)
        wh_a = make_app(jimu, "bench_bulk")
        make_app(jimu, "bench_import")
        admin = Actor("admin", ("admin",))
        rows = [typed(i, wh_a) for i in range(n)]
        t0 = time.perf_counter()
        done = jimu.records.bulk_insert("bench_bulk", "item", rows, actor=admin)
        bulk = time.perf_counter() - t0
        assert done == n
        policy = AccessPolicy.for_actor(jimu, "bench_import", admin)
        t0 = time.perf_counter()
        preview = make_preview(policy, read_sheet("items.xlsx", data))
        prev = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = run_import(policy, {"preview_id": preview.id, "entity": "item", "mapping": MAPPING})
        imp = time.perf_counter() - t0
        assert out["created"] == n, out
        emit("bulk_insert_rows_per_s", n / bulk, "rows/s", backend=name, rows=n)
        emit("import_rows_per_s", n / imp, "rows/s", "bulk_insert_rows_per_s", n / bulk, backend=name, rows=n)
        emit("preview_rows_per_s", n / prev, "rows/s", backend=name, rows=n, xlsx_bytes=len(data))
        emit("end_to_end_rows_per_s", n / (prev + imp), "rows/s", "bulk_insert_rows_per_s", n / bulk, backend=name,
             rows=n)
    finally:
        jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    args = ap.parse_args()
    for name, url, schema in backends():
        try:
            run(name, url, args.rows)
        finally:
            if schema:
                drop_pg_schema(schema)


if __name__ == "__main__":
    main()

"""Benchmarks of the expression language; prints one JSON object per line.

* evaluations/s of a 5-term formula on a cached compiled expression vs Python's native
  ``eval`` of the same code object (target: at most 10x slower);
* a row filter over N rows (``--rows``, default 1,000,000; SQLite file in a temp dir)
  compiled to SQL vs loading the rows and evaluating in Python;
* EXPLAIN QUERY PLAN of a filter on an indexed field.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from jimu.platform.db import Database
from jimu.platform.expressions import Env, compile_expression
from jimu.platform.schema.columns import AppTables
from jimu.platform.specs import AppSpec

APP = AppSpec.model_validate({"name": "bench", "entities": [{"name": "item", "fields": [
    {"name": "price", "type": "money"}, {"name": "qty", "type": "integer"}, {"name": "discount", "type": "decimal"},
    {"name": "shipping", "type": "money"}, {"name": "rebate", "type": "money"},
    {"name": "owner", "type": "user", "indexed": True}, {"name": "cost_price", "type": "money", "indexed": True},
]}]})
FORMULA = "price * qty * (1 - discount) + shipping - rebate"
NOW = datetime(2026, 3, 15, tzinfo=UTC)


def emit(figure: str, value: float, unit: str, baseline: str | None = None,
         baseline_value: float | None = None) -> None:
    ratio = (baseline_value / value if unit.endswith("/s") else value / baseline_value) \
        if baseline_value else None
    print(json.dumps({"figure": figure, "value": round(value, 3), "unit": unit, "baseline": baseline,
                      "baseline_value": None if baseline_value is None else round(baseline_value, 3),
                      "ratio": None if ratio is None else round(ratio, 2)}))


def bench_formula(n: int = 200_000) -> None:
    record: dict[str, Any] = {"price": Decimal("12.50"), "qty": 7, "discount": Decimal("0.05"),
                              "shipping": Decimal("8.00"), "rebate": Decimal("1.25")}
    ce = compile_expression(FORMULA, APP, "item")
    env = Env(now=NOW)
    assert ce.evaluate(record, env) == eval(FORMULA, {}, record)  # noqa: S307
    code = compile(FORMULA, "<native>", "eval")
    start = time.perf_counter()
    for _ in range(n):
        eval(code, {}, record)  # noqa: S307
    native = n / (time.perf_counter() - start)
    evaluate = ce.evaluate
    start = time.perf_counter()
    for _ in range(n):
        evaluate(record, env)
    ours = n / (time.perf_counter() - start)
    emit("formula_5_terms_evaluations", ours, "evals/s", "python_native_eval", native)
    start = time.perf_counter()
    for i in range(2000):
        compile_expression(f"{FORMULA} + {i}", APP, "item")
    emit("compile_parse_check_build", 2000 / (time.perf_counter() - start), "compiles/s")


def bench_filter(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        tables = AppTables(APP)
        tables.metadata.create_all(db.engine)
        t = tables("item")
        batch: list[dict[str, Any]] = []
        with db.write() as conn:
            for i in range(rows):
                batch.append({"created_at": NOW, "updated_at": NOW, "price": Decimal(i % 997) / 4, "qty": i % 13,
                              "discount": Decimal("0.1"), "shipping": Decimal(3), "rebate": Decimal(0),
                              "owner": f"u{i % 50}", "cost_price": Decimal(i % 10_000)})
                if len(batch) == 20_000:
                    conn.execute(sa.insert(t), batch)
                    batch = []
            if batch:
                conn.execute(sa.insert(t), batch)
        source = 'owner == $user and cost_price >= 9990 and qty > 3'
        ce = compile_expression(source, APP, "item", purpose="row_filter")
        env = Env(user="u7", now=NOW)
        stmt = sa.select(t.c.id).where(ce.to_sql(tables, env))
        start = time.perf_counter()
        with db.read() as conn:
            sql_ids = [r[0] for r in conn.execute(stmt)]
        sql_s = time.perf_counter() - start
        cols = [t.c.id, t.c.owner, t.c.cost_price, t.c.qty]
        start = time.perf_counter()
        py_ids = []
        with db.read() as conn:
            for row in conn.execute(sa.select(*cols)):
                if ce.test({"owner": row.owner, "cost_price": row.cost_price, "qty": row.qty}, env):
                    py_ids.append(row.id)
        py_s = time.perf_counter() - start
        assert sorted(sql_ids) == sorted(py_ids), (len(sql_ids), len(py_ids))
        emit(f"row_filter_{rows}_rows_sql", sql_s * 1000, "ms", "load_rows_and_evaluate_in_python", py_s * 1000)
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        with db.read() as conn:
            plan = [str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
        print(json.dumps({"figure": "explain_query_plan", "value": plan, "unit": "sqlite plan", "sql": sql,
                          "baseline": None, "baseline_value": None, "ratio": None}, ensure_ascii=False))
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--evals", type=int, default=200_000)
    args = parser.parse_args()
    bench_formula(args.evals)
    bench_filter(args.rows)


if __name__ == "__main__":
    main()

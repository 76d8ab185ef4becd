"""Shared helpers for the benchmark scripts: JSON lines, temp databases, percentiles."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from typing import Any

import sqlalchemy as sa

__all__ = ["emit", "sqlite_url", "pg_url", "fresh_pg_schema", "percentile", "backends"]


def emit(figure: str, value: float, unit: str, baseline: str | None = None, baseline_value: float | None = None,
         **extra: Any) -> None:
    """Print one JSON line: the figure, and the baseline it is compared to in the same run."""
    row: dict[str, Any] = {"figure": figure, "value": round(value, 4), "unit": unit}
    if baseline is not None and baseline_value is not None:
        row["baseline"] = baseline
        row["baseline_value"] = round(baseline_value, 4)
        row["ratio"] = round(value / baseline_value, 4) if baseline_value else None
    row.update(extra)
    print(json.dumps(row, ensure_ascii=False))
    sys.stdout.flush()


def sqlite_url() -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='jimu-bench-')}/bench.db"


def pg_url() -> str | None:
    return os.environ.get("JIMU_TEST_PG_URL")


def fresh_pg_schema() -> tuple[str, str] | None:
    """(url with search_path, schema) in a new schema, or None without PostgreSQL."""
    base = pg_url()
    if not base:
        return None
    schema = "bench_" + uuid.uuid4().hex[:10]
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_pg_schema(schema: str) -> None:
    base = pg_url()
    assert base
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def backends() -> list[tuple[str, str, str | None]]:
    """[(name, url, pg schema to drop)] — SQLite always, PostgreSQL when JIMU_TEST_PG_URL is set."""
    out: list[tuple[str, str, str | None]] = [("sqlite", sqlite_url(), None)]
    pg = fresh_pg_schema()
    if pg:
        out.append(("postgresql", pg[0], pg[1]))
    return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]



"""Time to install the food template with sample data into a new app (SQLite), and to
upgrade a unit in it; baseline: the same tables with plain SQLAlchemy ``create_all`` and the
same rows inserted with Core. Prints one JSON line per figure."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from jimu.platform.schema import AppTables
from jimu.runtime.context import Jimu
from jimu.templates_market.catalog import default_catalog
from jimu.templates_market.installer import install_template
from jimu.templates_market.lifecycle import upgrade_cbu


def _emit(figure: str, value: float, unit: str, baseline: str, baseline_value: float) -> None:
    print(json.dumps({"figure": figure, "value": round(value, 4), "unit": unit, "baseline": baseline,
                      "baseline_value": round(baseline_value, 4),
                      "ratio": round(value / baseline_value, 2) if baseline_value else None}, ensure_ascii=False))


def _dump_rows(jimu: Any, spec: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row of every entity table, as stored (the rows the baseline re-inserts)."""
    tables = AppTables(spec)
    out = {}
    with jimu.db.read() as conn:
        for ent in spec.entities:
            out[ent.name] = [dict(r) for r in conn.execute(sa.select(tables(ent.name))).mappings()]
    return out


def _baseline(spec: Any, rows: dict[str, list[dict[str, Any]]], folder: Path) -> float:
    """create_all of the same tables + Core inserts of the same rows (one transaction)."""
    engine = sa.create_engine(f"sqlite:///{folder / 'baseline.db'}")
    tables = AppTables(spec)
    started = time.perf_counter()
    with engine.begin() as conn:
        metadata = tables(spec.entities[0].name).metadata
        for ent in spec.entities:
            tables(ent.name)
        metadata.create_all(conn)
        for ent in spec.entities:
            if rows.get(ent.name):
                conn.execute(tables(ent.name).insert(), rows[ent.name])
    engine.dispose()
    return time.perf_counter() - started


def main(runs: int = 3) -> None:
    default_catalog()  # manifests parsed once, as in a running server
    install_times, upgrade_times, base_times = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            jimu = Jimu.open(f"sqlite:///{Path(tmp) / 'jimu.db'}")
            started = time.perf_counter()
            result = install_template(jimu, "food", "food", sample_data=True)
            install_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            upgrade_cbu(jimu, "food", "sales_order", params={"vp_threshold": 8000})
            upgrade_times.append(time.perf_counter() - started)
            spec = jimu.apps.get("food").spec
            dumped = _dump_rows(jimu, spec)
            jimu.close()
            base_times.append(_baseline(spec, dumped, Path(tmp)))
    rows = sum(result.sample_rows.values())
    base = statistics.median(base_times)
    _emit(f"install food template + {rows} sample rows (SQLite)", statistics.median(install_times), "s",
          "SQLAlchemy create_all + Core insert of the same rows", base)
    _emit("upgrade sales_order in the food app (three-way merge + publish)", statistics.median(upgrade_times), "s",
          "SQLAlchemy create_all + Core insert of the same rows", base)


if __name__ == "__main__":
    main()

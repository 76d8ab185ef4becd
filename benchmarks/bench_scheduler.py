"""Scheduler and workflow figures, one JSON line each.

- time for 15,000 due timers to fire with 1 and 2 scheduler workers (processes), on
  SQLite and (with JIMU_TEST_PG_URL) PostgreSQL; baseline: Odoo's reported ~300 s for 15k
  scheduled actions (target < 30 s);
- transition throughput on one hot record vs many records (4 threads).

Run: ``python benchmarks/bench_scheduler.py [--jobs 15000]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ODOO_15K_SECONDS = 300.0


def emit(figure: str, value: float, unit: str, baseline: str | None = None, baseline_value: float | None = None,
         **extra: Any) -> None:
    row: dict[str, Any] = {"figure": figure, "value": round(value, 4), "unit": unit, "baseline": baseline,
                           "baseline_value": baseline_value,
                           "ratio": round(value / baseline_value, 4) if baseline_value else None, **extra}
    print(json.dumps(row, ensure_ascii=False), flush=True)


def sqlite_url() -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='jimu-bench-')}/bench.db"


def pg_url() -> str | None:
    base = os.environ.get("JIMU_TEST_PG_URL")
    if not base:
        return None
    schema = "b_" + uuid.uuid4().hex[:10]
    eng = sa.create_engine(base)
    with eng.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    eng.dispose()
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def seed(url: str, n: int) -> None:
    from jimu.core import clock
    from jimu.runtime.context import Jimu
    from jimu.runtime.workflow.tables import jobs

    jimu = Jimu.open(url)
    at = clock.now()
    rows = [{"kind": "notify", "app": "bench", "due_at": at - timedelta(seconds=1), "status": "pending",
             "attempts": 0, "payload": {"app": "bench", "user": f"u{i % 50}", "title": f"timer {i}"},
             "created_at": at} for i in range(n)]
    with jimu.db.write() as c:
        for i in range(0, n, 2000):
            c.execute(jobs.insert(), rows[i:i + 2000])
    jimu.close()


def worker(url: str, name: str) -> None:
    from jimu.core import clock
    from jimu.runtime.context import Jimu
    from jimu.runtime.scheduler import run_due_jobs

    jimu = Jimu.open(url, upgrade=False)
    while run_due_jobs(jimu, clock.now(), name, 500) or _claimable(jimu):
        pass
    jimu.close()


def _claimable(jimu: Any) -> bool:
    from jimu.runtime.workflow.tables import jobs

    with jimu.db.read() as c:
        return c.execute(sa.select(jobs.c.id).where(jobs.c.status == "pending").limit(1)).first() is not None


def bench_timers(backend: str, url: str, n: int, workers: int) -> None:
    seed(url, n)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=worker, args=(url, f"w{i}")) for i in range(workers)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    from jimu.runtime.context import Jimu
    from jimu.runtime.workflow.tables import inbox

    jimu = Jimu.open(url, upgrade=False)
    with jimu.db.read() as c:
        fired = int(c.execute(sa.select(sa.func.count()).select_from(inbox)).scalar_one())
    jimu.close()
    emit(f"scheduler.fire_{n}_due_timers.{backend}.{workers}_worker", elapsed, "s", "odoo_reported_15k_cron",
         ODOO_15K_SECONDS, fired=fired, per_second=round(n / elapsed, 1), includes_process_start=True)


TOGGLE = {"name": "toggle", "entity": "doc", "states": [{"name": "a", "initial": True}, {"name": "b"}],
          "transitions": [{"name": "go", "from": ["a"], "to": "b"}, {"name": "back", "from": ["b"], "to": "a"}]}


def bench_transitions(backend: str, url: str, per_thread: int = 150, threads: int = 4) -> None:
    from jimu.core.errors import TransitionNotAllowed, VersionConflict
    from jimu.platform.actor import SYSTEM
    from jimu.runtime.context import Jimu
    from jimu.runtime.workflow import WorkflowEngine

    jimu = Jimu.open(url)
    jimu.store.create_app("tb", "tb")
    jimu.store.save_draft("tb", {"name": "tb", "entities": [{"name": "doc", "fields": [
        {"name": "title", "type": "text"},
        {"name": "state", "type": "choice", "options": {"choices": ["a", "b"]}}]}], "workflows": [TOGGLE]})
    jimu.store.publish("tb")
    engine = WorkflowEngine(jimu)
    hot = jimu.records.create("tb", "doc", {"title": "hot"})["id"]
    many = [[jimu.records.create("tb", "doc", {"title": f"d{t}-{i}"})["id"] for i in range(per_thread)]
            for t in range(threads)]

    def run(ids: list[int]) -> None:
        for rid in ids:
            for _ in range(50):
                try:
                    state = jimu.records.get("tb", "doc", rid)["state"]
                    engine.fire("tb", "doc", rid, "go" if state == "a" else "back", {}, SYSTEM)
                    break
                except (VersionConflict, TransitionNotAllowed):
                    continue

    for label, plan in (("hot_record", [[hot] * per_thread for _ in range(threads)]), ("many_records", many)):
        ts = [threading.Thread(target=run, args=(ids,)) for ids in plan]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        elapsed = time.perf_counter() - t0
        emit(f"workflow.transitions_per_second.{label}.{backend}", threads * per_thread / elapsed, "transitions/s",
             threads=threads, transitions=threads * per_thread)
    jimu.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=15000)
    args = ap.parse_args()
    backends: list[tuple[str, Any]] = [("sqlite", sqlite_url)]
    if os.environ.get("JIMU_TEST_PG_URL"):
        backends.append(("pg", pg_url))
    for backend, make in backends:
        for workers in (1, 2):
            bench_timers(backend, make(), args.jobs, workers)
        bench_transitions(backend, make())


if __name__ == "__main__":
    main()

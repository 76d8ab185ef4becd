"""Scheduler processes, 10,000 due timers: each fires exactly once, also when one
process is SIGKILLed holding leased jobs and another takes them over after the lease expires.

Mutations this catches: ``claim_jobs`` without ``lease_until < now`` (a dead worker's jobs
are never claimed again: the takeover never happens and the survivors never finish);
``claim_jobs`` ignoring leases altogether (the stalled jobs are taken before their lease
expires: ``done_at < lease_until``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.runtime.context import Jimu
from jimu.runtime.workflow.tables import inbox, jobs
from tests.runtime.scheduler._workers import run_worker, seed_jobs

N = 10_000
LIMIT = 200


def _rows(url: str, stmt: Any) -> list[dict[str, Any]]:
    jimu = Jimu.open(url, upgrade=False)
    with jimu.db.read() as c:
        rows = [dict(r) for r in c.execute(stmt).mappings()]
    jimu.close()
    return rows


def _done(url: str) -> int:
    return len(_rows(url, sa.select(jobs.c.id).where(jobs.c.status == "done")))


def _stalled(url: str) -> list[dict[str, Any]]:
    """The jobs the stalled worker A holds: leased under its ``A-stalled:`` token, not done."""
    return _rows(url, sa.select(jobs.c.id, jobs.c.lease_until, jobs.c.payload)
                 .where(jobs.c.status == "pending", jobs.c.lease_owner.like("A-stalled:%")))


def _join_all(procs: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(timeout=max(0.1, deadline - time.monotonic()))
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        os.kill(p.pid, signal.SIGKILL)
        p.join()
    assert not alive, "workers never finished: the dead worker's leased jobs were not taken over"
    assert all(p.exitcode == 0 for p in procs)


@pytest.mark.slow
def test_two_processes_fire_each_job_once_and_survive_a_kill(db_url):
    seed_jobs(db_url, N)
    ctx = mp.get_context("spawn")
    a = ctx.Process(target=run_worker, args=(db_url, "A", 2.0, LIMIT, 1.0, N // 5))
    b = ctx.Process(target=run_worker, args=(db_url, "B", 2.0, LIMIT))
    # B starts once A stalled: started together, B alone could fire every job before A
    # (spawned under load) reached its stall point. B and C then run side by side.
    a.start()
    deadline = time.monotonic() + 60
    held: list[dict[str, Any]] = []
    while not held and time.monotonic() < deadline and a.is_alive():
        time.sleep(0.05)
        held = _stalled(db_url)
    assert a.is_alive(), f"worker A exited ({a.exitcode}) before it stalled"
    b.start()
    os.kill(a.pid, signal.SIGKILL)  # it holds ``held`` under a live lease
    a.join()
    assert len(held) == LIMIT, "worker A never stalled holding a claimed batch"
    c = ctx.Process(target=run_worker, args=(db_url, "C", 2.0, LIMIT))
    c.start()
    _join_all([b, c], 60)

    after = {r["id"]: r for r in _rows(db_url, sa.select(jobs).where(jobs.c.id.in_([h["id"] for h in held])))}
    for h in held:
        row = after[h["id"]]
        assert row["status"] == "done" and row["done_by"] in ("B", "C"), row
        assert row["done_at"] >= h["lease_until"], "taken over before the dead worker's lease expired"
    titles = Counter(r["title"] for r in _rows(db_url, sa.select(inbox.c.title)))
    assert all(titles[h["payload"]["title"]] == 1 for h in held), "a taken-over job fired more or less than once"
    assert len(titles) == N and set(titles.values()) == {1}, "every job fired exactly once"
    assert Counter(r["status"] for r in _rows(db_url, sa.select(jobs.c.status))) == {"done": N}
    by = Counter(r["done_by"] for r in _rows(db_url, sa.select(jobs.c.done_by)))
    # A fired its share before it stalled; the survivors B and C (started together, either
    # may win every claim) fired the rest.
    assert by["A"] >= N // 5 and by["B"] + by["C"] == N - by["A"], by

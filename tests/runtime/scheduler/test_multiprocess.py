"""Two scheduler processes, 10,000 due timers: each fires exactly once, also when one
process is SIGKILLed mid-run and another takes over after its lease expires."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from jimu.runtime.context import Jimu
from jimu.runtime.workflow.tables import inbox, jobs
from tests.runtime.scheduler._workers import run_worker, seed_jobs

N = 10_000


def _check(url: str) -> dict[str, int]:
    jimu = Jimu.open(url, upgrade=False)
    with jimu.db.read() as c:
        titles = Counter(c.execute(sa.select(inbox.c.title)).scalars())
        status = Counter(c.execute(sa.select(jobs.c.status)).scalars())
        by = Counter(c.execute(sa.select(jobs.c.done_by)).scalars())
    jimu.close()
    assert len(titles) == N and set(titles.values()) == {1}, "every job fired exactly once"
    assert status == {"done": N}
    return dict(by)


def _done(url: str) -> int:
    jimu = Jimu.open(url, upgrade=False)
    with jimu.db.read() as c:
        n = int(c.execute(sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == "done")).scalar_one())
    jimu.close()
    return n


@pytest.mark.slow
def test_two_processes_fire_each_job_once_and_survive_a_kill(db_url):
    seed_jobs(db_url, N)
    ctx = mp.get_context("spawn")
    a = ctx.Process(target=run_worker, args=(db_url, "A", 2.0))
    b = ctx.Process(target=run_worker, args=(db_url, "B", 2.0))
    a.start()
    b.start()
    deadline = time.monotonic() + 60
    while _done(db_url) < N // 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(a.pid, signal.SIGKILL)  # mid-run: its claimed, uncommitted jobs must come back
    a.join()
    c = ctx.Process(target=run_worker, args=(db_url, "C", 2.0))
    c.start()
    for p in (b, c):
        p.join(timeout=120)
        assert p.exitcode == 0
    by = _check(db_url)
    assert by.get("B", 0) > 0 and by.get("C", 0) + by.get("B", 0) + by.get("A", 0) == N

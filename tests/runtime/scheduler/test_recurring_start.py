"""Recurring jobs start on a real server without the test clock: the scheduler loop queues
a schedule automation's ticks itself (at start and after a publish), and two workers fire
each occurrence once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from jimu.core import clock
from jimu.runtime.api import create_app
from jimu.runtime.events.tables import events
from jimu.runtime.scheduler import loop as sched_loop
from jimu.runtime.scheduler import schedule_job
from jimu.runtime.server import serve_in_thread
from jimu.runtime.stock.sweeps import JOB_KIND as PERIODIC
from jimu.runtime.workflow.tables import jobs

SPEED = 60.0  # clock seconds per real second: a PT1M schedule ticks every real second


class FastClock(clock.Clock):
    """Runs ``SPEED`` times faster than real time, from just before a minute boundary."""

    def __init__(self) -> None:
        real = datetime.now(UTC)
        self._base = real.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=-20)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=(time.monotonic() - self._t0) * SPEED)


def _auto(name: str) -> dict[str, Any]:
    return {"name": name, "entity": "item", "trigger": {"type": "schedule", "every": "PT1M"}, "actions": []}


def _ticks(jimu: Any, name: str) -> Counter[tuple[str, str | None]]:
    """(tick, record) -> how many ``schedule.fired`` events the automation emitted."""
    with jimu.db.read() as c:
        rows = c.execute(sa.select(events.c.data, events.c.record).where(events.c.kind == "schedule.fired")).all()
    return Counter((str(d["tick"]), r) for d, r in rows if (d or {}).get("automation") == name)


def _wait(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return bool(cond())


def test_scheduled_automation_fires_on_a_real_server_once_per_tick_without_the_test_clock(shop, monkeypatch):
    """A served app with a PT1M schedule (on a clock 60x fast) fires tick after tick with no
    ``POST /api/admin/clock``, each tick once although two scheduler workers run (the
    server's own and a second loop); an automation published while they run starts too.

    Mutations caught: the loop not calling ``ensure_recurring`` (no tick is ever queued:
    the bug this guards, the test clock's ``run_due`` being the only caller); the loop
    ensuring only at its first tick and not after a publish (the second automation never
    fires within the test)."""
    monkeypatch.delenv("JIMU_TEST_CLOCK", raising=False)
    item = shop.records.create("shop", "item", {"sku": "A", "name": "a"})
    shop.store.put_element("shop", "automation", "every_min", _auto("every_min"))
    shop.store.publish("shop", author="admin")
    previous = clock.set_clock(FastClock())
    try:
        with serve_in_thread(create_app(shop, background=True), timeout=15) as base:
            assert httpx.get(f"{base}/api/health", timeout=5).status_code == 200
            # a second worker; its short fallback poll keeps the fast clock's ticks on time
            stop = sched_loop.start_scheduler(shop, interval=0.2, worker_id="second")
            try:
                assert _wait(lambda: len(_ticks(shop, "every_min")) >= 3, 12), _ticks(shop, "every_min")
                shop.store.put_element("shop", "automation", "late", _auto("late"))
                shop.store.publish("shop", author="admin")
                assert _wait(lambda: len(_ticks(shop, "late")) >= 2, 8), _ticks(shop, "late")
            finally:
                stop()
    finally:
        clock.set_clock(previous)
    for name in ("every_min", "late"):
        fired = _ticks(shop, name)
        assert set(fired.values()) == {1}, fired  # each occurrence once
        assert {r for _, r in fired} == {str(item["id"])}
    with shop.db.read() as c:
        pending = c.execute(sa.select(jobs.c.name, sa.func.count()).where(
            jobs.c.kind == "automation.schedule", jobs.c.status == "pending").group_by(jobs.c.name)).all()
    assert dict(pending) == {"every_min": 1, "late": 1}  # one next tick queued per automation


def test_a_recurring_job_key_is_held_by_one_pending_job(jimu):
    """Two queueings of one recurring job's key leave one pending job (the unique pending
    key with ON CONFLICT DO NOTHING), and the key is free again once that job is done.
    Mutation caught: ``schedule_job`` inserting keyed jobs without ON CONFLICT DO NOTHING
    (an IntegrityError) or the index not unique (two pending jobs)."""
    due = clock.now() + timedelta(minutes=5)
    with jimu.db.write() as c:
        first = schedule_job(c, PERIODIC, due, name="t", key=f"{PERIODIC}:t")
        again = schedule_job(c, PERIODIC, due, name="t", key=f"{PERIODIC}:t")
    assert first > 0 and again == 0
    with jimu.db.write() as c:
        c.execute(sa.update(jobs).where(jobs.c.id == first).values(status="done"))
        nxt = schedule_job(c, PERIODIC, due + timedelta(minutes=5), name="t", key=f"{PERIODIC}:t")
    assert nxt > first
    with jimu.db.read() as c:
        assert c.execute(sa.select(sa.func.count()).where(jobs.c.key == f"{PERIODIC}:t",
                                                          jobs.c.status == "pending")).scalar() == 1

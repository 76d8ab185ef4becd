"""At-least-once delivery with idempotent consumers: a consumer that fails leaves its
event to be retried with backoff; the consumers (and automations) that already applied
it are not run again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.runtime.events.dispatcher import RETRY_BASE, register_consumer, run_once, unregister_consumer
from jimu.runtime.events.tables import automation_runs, event_consumers, events

NOTE = {"name": "note_wh", "entity": "item", "trigger": {"type": "created"},
        "actions": [{"type": "create_record", "entity": "warehouse", "values": {"name": "CONCAT('for ', sku)"}}]}


@pytest.fixture
def consumers_under_test() -> Any:
    names: list[str] = []

    def add(name: str, fn: Any, **kw: Any) -> None:
        names.append(name)
        register_consumer(name, fn, **kw)

    yield add
    for n in names:
        unregister_consumer(n)


def _warehouses(jimu: Any) -> list[str]:
    return sorted(r["name"] for r in jimu.records.list("shop", "warehouse", limit=100).data)


def _pending(jimu: Any) -> int:
    """Undispatched events about items (the consumers' own writes emit warehouse events)."""
    with jimu.db.read() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(events)
                             .where(events.c.dispatched_at.is_(None), events.c.entity == "item")).scalar_one())


def test_a_consumer_failing_once_is_retried_with_backoff_and_applies_once(shop, manual_clock, consumers_under_test):
    """``flaky`` writes then fails on its first call (its write rolls back with it);
    ``steady`` and the automation succeed at once. The event stays undispatched until the
    backoff has passed, then only ``flaky`` runs again: every effect exists exactly once.
    Mutation: restore the old dispatcher (mark dispatched before the consumers, swallow
    their exceptions) and ``flaky`` never applies; drop the ``done`` check of the retry
    and ``steady``'s warehouse and the automation's appear twice."""
    calls = {"flaky": 0, "steady": 0}

    def flaky(jimu: Any, conn: Any, event: Any) -> None:
        if event["kind"] != "record.created" or event["entity"] != "item":
            return
        calls["flaky"] += 1
        jimu.records.create("shop", "warehouse", {"name": "flaky"}, conn=conn)
        if calls["flaky"] == 1:
            raise RuntimeError("receiver down")

    def steady(jimu: Any, conn: Any, event: Any) -> None:
        if event["kind"] == "record.created" and event["entity"] == "item":
            calls["steady"] += 1
            jimu.records.create("shop", "warehouse", {"name": "steady"}, conn=conn)

    consumers_under_test("flaky", flaky)
    consumers_under_test("steady", steady)
    shop.store.put_element("shop", "automation", NOTE["name"], NOTE)
    shop.store.publish("shop", author="admin")
    shop.records.create("shop", "item", {"sku": "S1", "name": "one"})
    start = manual_clock.now()
    run_once(shop, start)
    assert _warehouses(shop) == ["for S1", "steady"] and _pending(shop) == 1
    with shop.db.read() as c:
        row = c.execute(sa.select(event_consumers).where(event_consumers.c.consumer == "flaky")).mappings().one()
    assert row["status"] == "failed" and row["attempts"] == 1 and "receiver down" in row["last_error"]
    run_once(shop, manual_clock.advance(RETRY_BASE / 2))  # still backing off
    assert calls["flaky"] == 1 and _pending(shop) == 1
    run_once(shop, manual_clock.advance(RETRY_BASE))
    assert calls == {"flaky": 2, "steady": 1} and _pending(shop) == 0
    assert _warehouses(shop) == ["flaky", "for S1", "steady"]
    run_once(shop, manual_clock.advance(timedelta(hours=1)))
    assert _warehouses(shop) == ["flaky", "for S1", "steady"]
    with shop.db.read() as c:
        assert c.execute(sa.select(automation_runs.c.status)).scalars().all() == ["ok"]


def test_an_app_that_fails_to_load_keeps_its_automations_for_the_retry(shop, manual_clock, monkeypatch):
    """engine.py used to catch every exception loading the app and return 0: the event
    was marked dispatched and its automations never ran. Now only "not published" means
    "no automations"; any other failure is retried. Mutation: put back ``except
    Exception: return 0`` in ``run_automations`` and the warehouse is never created."""
    shop.store.put_element("shop", "automation", NOTE["name"], NOTE)
    shop.store.publish("shop", author="admin")
    shop.records.create("shop", "item", {"sku": "S2", "name": "two"})
    real = shop.apps.get
    broken = {"left": 1}

    def flaky_get(name: str, conn: Any = None) -> Any:
        if conn is None and broken["left"]:  # the automation consumer loads the app on its own
            broken["left"] -= 1
            raise OSError("spec storage unavailable")
        return real(name, conn)

    monkeypatch.setattr(shop.apps, "get", flaky_get)
    run_once(shop, manual_clock.now())
    assert _warehouses(shop) == [] and _pending(shop) == 1
    run_once(shop, manual_clock.advance(RETRY_BASE * 2))
    assert _warehouses(shop) == ["for S2"] and _pending(shop) == 0


@pytest.fixture
def still_clock(manual_clock: Any) -> Any:
    """A clock that moves only when advanced (``manual_clock`` also follows wall time)."""
    from jimu.core import clock as clock_mod

    clock = clock_mod.ManualClock(frozen=manual_clock.now())
    previous = clock_mod.set_clock(clock)
    yield clock
    clock_mod.set_clock(previous)


def test_a_consumer_that_always_fails_gives_up_after_max_attempts(shop, still_clock, consumers_under_test):
    """A poisoned event is retried with growing delays, then given up (``dead``) so it is
    not retried forever; the other consumers applied it once. Mutation: make
    ``retry_delay`` constant and the attempts come faster than the backoff allows. The
    clock stands still between steps: one following wall time let more than the 1 s
    margin below pass on a loaded machine (load 25) and a retry came due early."""
    manual_clock = still_clock
    from jimu.runtime.events.dispatcher import MAX_ATTEMPTS, retry_delay

    def broken(jimu: Any, conn: Any, event: Any) -> None:
        raise ValueError("never works")

    consumers_under_test("broken", broken)
    shop.records.create("shop", "item", {"sku": "S3", "name": "three"})
    run_once(shop, manual_clock.now())
    for attempt in range(1, MAX_ATTEMPTS):
        run_once(shop, manual_clock.advance(retry_delay(attempt) - timedelta(seconds=1)))
        with shop.db.read() as c:
            attempts = c.execute(sa.select(event_consumers.c.attempts)
                                 .where(event_consumers.c.consumer == "broken")).scalar_one()
        assert attempts == attempt  # not before its time
        run_once(shop, manual_clock.advance(timedelta(seconds=2)))
    with shop.db.read() as c:
        row = c.execute(sa.select(event_consumers).where(event_consumers.c.consumer == "broken")).mappings().one()
    assert row["status"] == "dead" and row["attempts"] == MAX_ATTEMPTS
    assert _pending(shop) == 0
    assert retry_delay(2) == 2 * retry_delay(1)

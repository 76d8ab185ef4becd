"""The dispatcher skips consumers with nothing to do for an event (``wants``) without
changing what a retry sees: an event dispatched in the same transaction needs no
processed-marker; one left undispatched gets the skipped consumers' markers."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from jimu.runtime.events.dispatcher import register_consumer, run_once, unregister_consumer
from jimu.runtime.events.tables import event_consumers, events


@pytest.fixture
def broken_consumer() -> Any:
    calls: list[str] = []

    def broken(jimu: Any, conn: Any, event: Any) -> None:
        calls.append(event["id"])
        raise RuntimeError("script host down")

    register_consumer("broken", broken, transactional=False,
                      wants=lambda jimu, conn, event: event["entity"] == "item")
    yield calls
    unregister_consumer("broken")


def _markers(jimu: Any) -> list[tuple[str, str]]:
    with jimu.db.read() as c:
        return sorted((r.consumer, r.status) for r in c.execute(
            sa.select(event_consumers.c.consumer, event_consumers.c.status)
            .select_from(event_consumers.join(events, events.c.id == event_consumers.c.event_id))
            .where(events.c.entity == "item")))


def _pending(jimu: Any) -> int:
    with jimu.db.read() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(events)
                             .where(events.c.dispatched_at.is_(None))).scalar_one())


@pytest.fixture
def quiet_consumer() -> Any:
    """A transactional consumer that wants nothing but has no ``at_emit``: record events
    are then written undispatched and go through the dispatcher's pass."""
    register_consumer("quiet", lambda jimu, conn, event: None, wants=lambda jimu, conn, event: False)
    yield
    unregister_consumer("quiet")


def _dispatched(jimu: Any) -> list[tuple[str, bool]]:
    with jimu.db.read() as c:
        return [(r.entity, r.dispatched_at is not None) for r in c.execute(
            sa.select(events.c.entity, events.c.dispatched_at).where(events.c.kind == "record.created")
            .order_by(events.c.seq))]


def test_an_event_nobody_wants_is_written_dispatched(shop, manual_clock):
    """No outgoing webhook, no automation: the event is written already dispatched (its
    ``at``), the dispatcher's pass finds nothing to claim, and no processed-marker is
    written for it. Mutation: answer True in ``settled_at_emit`` and the pass dispatches
    the event (1, not 0)."""
    shop.records.create("shop", "item", {"sku": "S1", "name": "one"})
    assert _dispatched(shop) == [("item", True)]
    assert run_once(shop, manual_clock.now())["dispatched"] == 0
    assert _pending(shop) == 0 and _markers(shop) == []


def test_an_event_a_consumer_may_want_is_left_to_the_dispatcher(shop, manual_clock):
    """What keeps a record event undispatched: an active outgoing webhook of the app
    (judged by the INSERT), an automation it triggers (an item automation leaves the
    warehouse events settled), a consumer without ``at_emit``. Mutations: drop the
    webhook check from the settled INSERT (the hooked item is written dispatched and its
    delivery is never queued); skip automations in ``settled_at_emit`` (the automation's
    item is written dispatched and the automation never runs)."""
    from jimu.runtime.events.tables import deliveries, webhooks

    at = manual_clock.now()
    with shop.db.write() as c:
        c.execute(webhooks.insert().values(app="shop", name="out", direction="out", url="http://127.0.0.1:9/h",
                                           format="json", role="admin", kinds=["record.created"], entities=["item"],
                                           active=True, created_at=at))
    shop.records.create("shop", "item", {"sku": "H1", "name": "hooked"})
    shop.records.create("shop", "warehouse", {"name": "also hooked: any active hook of the app"})
    assert _dispatched(shop) == [("item", False), ("warehouse", False)]
    run_once(shop, manual_clock.now())
    with shop.db.read() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar_one() == 1
    with shop.db.write() as c:
        c.execute(webhooks.update().values(active=False))
    shop.records.create("shop", "warehouse", {"name": "no hook"})
    note = {"name": "note_item", "entity": "item", "trigger": {"type": "created"},
            "actions": [{"type": "create_record", "entity": "warehouse", "values": {"name": "CONCAT('for ', sku)"}}]}
    shop.store.put_element("shop", "automation", note["name"], note)
    shop.store.publish("shop", author="admin")
    shop.records.create("shop", "item", {"sku": "A1", "name": "automated"})
    shop.records.create("shop", "warehouse", {"name": "not automated"})
    assert _dispatched(shop)[2:] == [("warehouse", True), ("item", False), ("warehouse", True)]
    run_once(shop, manual_clock.now())
    assert "for A1" in {r["name"] for r in shop.records.list("shop", "warehouse", limit=100).data}
    assert _pending(shop) == 0


def test_a_consumer_without_at_emit_keeps_record_events_for_the_pass(shop, manual_clock, quiet_consumer):
    """A consumer registered without ``at_emit`` (a plug-in's own): its record events
    are written undispatched and handed to it by the dispatcher (here it wants none, so
    one pass dispatches them with no marker). Mutation: treat a missing ``at_emit`` as
    False in ``settled_at_emit`` and the event is written dispatched."""
    shop.records.create("shop", "item", {"sku": "S1", "name": "one"})
    assert _dispatched(shop) == [("item", False)]
    assert run_once(shop, manual_clock.now())["dispatched"] == 1
    assert _pending(shop) == 0 and _markers(shop) == []


def test_a_skipped_consumer_is_marked_done_when_its_event_waits_for_a_retry(shop, manual_clock, broken_consumer):
    """``broken`` (outside the transaction) fails on an item event that no webhook wants:
    the event stays undispatched, and the skipped ``webhooks`` consumer gets its ``done``
    marker (bulk INSERT) as if it had run and found nothing, so the retry treats it as
    before. An event ``broken`` does not want (a warehouse) is dispatched at once.
    Mutation: drop the bulk marker INSERT and the ``webhooks`` marker is missing."""
    shop.records.create("shop", "item", {"sku": "S1", "name": "one"})
    shop.records.create("shop", "warehouse", {"name": "w"})
    run_once(shop, manual_clock.now())
    assert len(broken_consumer) == 1 and _pending(shop) == 1
    assert _markers(shop) == [("broken", "failed"), ("webhooks", "done")]


def test_send_due_with_nothing_due_opens_no_write_transaction(shop, manual_clock, monkeypatch):
    """A dispatcher pass with no delivery due answers from a read (on SQLite a write
    transaction takes the database's write lock, which every create waits on).
    Mutation: drop the read pre-check in ``webhooks._claim`` and one write is opened."""
    from jimu.runtime.events import webhooks

    writes: list[int] = []
    real = shop.db.write

    def counting(*a: Any, **kw: Any) -> Any:
        writes.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(shop.db, "write", counting)
    assert webhooks.send_due(shop, manual_clock.now()) == 0
    assert writes == []


def _count_transactions(jimu: Any, monkeypatch: Any) -> dict[str, int]:
    counts = {"write": 0, "read": 0}
    for kind in counts:
        real = getattr(jimu.db, kind)

        def counting(*a: Any, _real: Any = real, _kind: str = kind, **kw: Any) -> Any:
            counts[_kind] += 1
            return _real(*a, **kw)

        monkeypatch.setattr(jimu.db, kind, counting)
    return counts


def test_a_pass_claims_and_dispatches_in_one_write_transaction(shop, manual_clock, monkeypatch, quiet_consumer):
    """Three events nobody wants: the claim, the consumers' pre-checks and the dispatched
    mark are one write transaction (on SQLite each write transaction takes the write lock
    every create waits on), and every event is dispatched with no lease left behind.
    Mutation: claim in its own transaction first (as ``claim_events`` does) and two
    writes are counted."""
    from jimu.runtime.events.dispatcher import dispatch_pending

    for sku in ("S1", "S2", "S3"):
        shop.records.create("shop", "item", {"sku": sku, "name": sku})
    counts = _count_transactions(shop, monkeypatch)
    assert dispatch_pending(shop, manual_clock.now()) >= 3
    assert counts["write"] == 1
    assert _pending(shop) == 0
    with shop.db.read() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(events)
                         .where(events.c.lease_owner.is_not(None))).scalar_one() == 0


def test_an_event_left_for_a_consumer_outside_the_transaction_is_leased(shop, manual_clock, broken_consumer):
    """An item event ``broken`` still has to handle leaves the claiming transaction
    leased (so no other worker takes it while ``broken`` runs), then gets its retry time.
    Mutation: drop the lease UPDATE in ``_dispatch_chunk``: ``_finish`` (guarded by the
    lease owner) then writes no retry time and the event is claimed again at once."""
    from jimu.runtime.events.dispatcher import retry_delay

    shop.records.create("shop", "item", {"sku": "S1", "name": "one"})
    at = manual_clock.now()
    run_once(shop, at)
    with shop.db.read() as c:
        row = c.execute(sa.select(events.c.lease_until, events.c.dispatched_at)
                        .where(events.c.entity == "item")).one()
    assert row.dispatched_at is None and row.lease_until == at + retry_delay(1)
    run_once(shop, at)  # not due again before its retry time
    assert len(broken_consumer) == 1


def test_a_dispatcher_tick_with_nothing_to_do_is_one_read(shop, manual_clock, monkeypatch):
    """The thread's pass (dispatch, then when to wake next) with nothing to claim (the
    record event was written already dispatched) and no webhook delivery due: one read,
    which finds nothing claimable and reads the next delivery time and the next lease
    expiry (one statement); no write transaction (on SQLite the lock every create waits
    on), ``send_due`` not called. A pass that has an event to claim still claims it.
    Mutations: drop the read pre-check in ``_dispatch_chunk`` (a write is counted); read
    the two times in their own transaction, or call ``send_due`` every tick (a second
    read is counted)."""
    from jimu.runtime.events import dispatcher, webhooks

    shop.records.create("shop", "item", {"sku": "S1", "name": "one"})
    sent: list[int] = []
    monkeypatch.setattr(webhooks, "send_due", lambda *a, **kw: sent.append(1) or 0)
    counts = _count_transactions(shop, monkeypatch)
    assert dispatcher._tick(shop, dispatcher.DEFAULT_LEASE) is None
    assert counts == {"write": 0, "read": 1} and sent == []
    assert _pending(shop) == 0
    with shop.db.write() as c:  # one left to dispatch
        c.execute(events.update().values(dispatched_at=None))
    assert dispatcher._tick(shop, dispatcher.DEFAULT_LEASE) is None
    assert _pending(shop) == 0 and counts["write"] == 2  # the claim's, besides the UPDATE above


def test_a_tick_after_a_failed_consumer_wakes_for_the_retry(shop, manual_clock, broken_consumer):
    """When a consumer outside the transaction ran (here ``broken`` fails), ``_finish``
    moves the event's lease to its retry time after the dispatch transaction committed:
    the times read inside that transaction would be stale (the 60 s lease), so the tick
    reads them again and wakes at the retry time. Mutation: use the in-transaction times
    even when consumers ran outside it (drop ``not rest`` in ``_dispatch_chunk``) and the
    tick answers the lease's end instead of the retry time."""
    from jimu.runtime.events import dispatcher

    shop.records.create("shop", "item", {"sku": "S1", "name": "one"})
    nxt = dispatcher._tick(shop, dispatcher.DEFAULT_LEASE)
    assert len(broken_consumer) == 1
    assert nxt is not None and nxt <= manual_clock.now() + dispatcher.retry_delay(1)


"""The in-process hub: one rendering per access profile and event however many streams
share it, immediate wake-up on a local commit, and a clean stop when the Jimu context
closes (no poller left reading a dropped database, quiet backoff on repeated errors)."""

from __future__ import annotations

import logging
import threading
import time

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.runtime.events import hub as hub_mod
from jimu.runtime.events import sse as sse_mod
from jimu.runtime.events.hub import Hub, get_hub
from tests.runtime.events.helpers import SSEReader, serve


def _wait(pred, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


def test_one_rendering_per_profile_and_event(api, monkeypatch):
    """Five streams of one caller and two of another: each event is rendered once per
    caller, yet every stream gets its own caller's view."""
    calls: list[tuple[str, int]] = []
    real = sse_mod.render_event

    def counting(policy, row):
        calls.append((policy.actor.username, int(row["seq"])))
        return real(policy, row)

    monkeypatch.setattr(sse_mod, "render_event", counting)
    jimu = api.jimu
    with serve(create_app(jimu)) as base:
        url = f"{base}/api/apps/shop/events"
        wh = [SSEReader(f"{url}?access_token={api.token('warehouse')}") for _ in range(5)]
        sales = [SSEReader(f"{url}?access_token={api.token('sales')}") for _ in range(2)]
        assert _wait(lambda: get_hub(jimu.db).subscribers == 7)
        a1 = api.ids["items"]["A-1"]
        jimu.records.update("shop", "item", a1, {"cost_price": "45678.00", "name": "Bolt Y"})
        jimu.records.update("shop", "item", a1, {"name": "Bolt Z"})
        for r in wh:
            got = [r.get()[2] for _ in range(2)]
            assert [{c["field"] for c in d["changes"]} for d in got] == [{"name"}, {"name"}]  # cost hidden
        for r in sales:
            got = [r.get()[2] for _ in range(2)]
            assert {c["field"]: c["new"] for c in got[0]["changes"]} == {"cost_price": "46000", "name": "Bolt Y"}
        for r in (*wh, *sales):
            r.close()
        get_hub(jimu.db).stop()  # ends the streams, so the server stops at once
    seqs = sorted({s for _, s in calls})
    assert len(seqs) == 2
    assert sorted(calls) == sorted((who, s) for who in ("sales", "warehouse") for s in seqs)


def test_local_commit_wakes_the_hub_without_waiting_for_the_poll(api):
    jimu = api.jimu
    hub = get_hub(jimu.db)
    hub.poll = 30.0  # only a commit can wake it in time
    hub.wake()
    with serve(create_app(jimu)) as base:
        reader = SSEReader(f"{base}/api/apps/shop/events?access_token={api.token('warehouse')}")
        assert _wait(lambda: hub.subscribers == 1)
        t = time.perf_counter()
        jimu.records.update("shop", "item", api.ids["items"]["A-1"], {"name": "fast"})
        _, kind, data, at = reader.get(timeout=3.0)
        assert kind == "record.updated" and data["changes"][0]["new"] == "fast"
        assert at - t < 1.0
        reader.close()
        get_hub(jimu.db).stop()  # ends the streams, so the server stops at once


def test_closing_jimu_stops_the_hub_and_ends_streams(backend, make_db_url, caplog):
    """After ``Jimu.close()`` the hub's thread is gone, and the database's wake-up watcher
    (a file watch on SQLite, the LISTEN connection on PostgreSQL) with it, so dropping the test schema afterwards cannot make a poller log errors."""
    caplog.set_level(logging.DEBUG, logger="jimu.events.hub")
    jimu = Jimu.open(make_db_url(backend))
    hub = get_hub(jimu.db)
    from jimu.platform import wakeup

    assert hub.alive and len(hub._threads) == 1
    assert wakeup.watching(jimu.db.engine)  # the database's watcher (file stat / LISTEN) runs for it
    assert get_hub(jimu.db) is hub
    stream_ended = threading.Event()

    import asyncio

    async def stream() -> None:
        sub = hub.subscribe("shop")
        assert await asyncio.wait_for(sub.queue.get(), 10) is hub_mod.CLOSED
        stream_ended.set()

    runner = threading.Thread(target=asyncio.run, args=(stream(),))
    runner.start()
    assert _wait(lambda: hub.subscribers == 1)
    jimu.close()
    assert hub.stopped and not hub.alive
    runner.join(5)
    assert stream_ended.is_set()
    assert all(h is not hub for h in hub_mod._hubs.values())
    # a closed hub no longer reacts to commits of the engine
    assert hub.wake not in wakeup._callbacks.get((id(jimu.db.engine), "events"), [])
    assert not wakeup.watching(jimu.db.engine)  # its last subscriber left: the watcher ended too
    # what a test's teardown does next: the outbox goes away; nothing polls it any more
    import sqlalchemy as sa

    with jimu.db.engine.begin() as c:
        c.execute(sa.text("DROP TABLE jimu_event"))
    jimu.db.dispose()
    time.sleep(wakeup.FILE_POLL + 0.5)
    assert [r.getMessage() for r in caplog.records if r.name == "jimu.events.hub"] == []


def test_repeated_read_errors_back_off_and_log_once(jimu, caplog, monkeypatch):
    attempts: list[float] = []
    failing = [True]

    hub = Hub(jimu.db, poll=0.01)
    real_read = hub._read

    def read():
        attempts.append(time.monotonic())
        if failing[0]:
            raise RuntimeError("relation jimu_event does not exist")
        return real_read()

    monkeypatch.setattr(hub_mod, "MAX_BACKOFF", 0.16)
    monkeypatch.setattr(hub, "_read", read)
    monkeypatch.setattr(Hub, "BACKOFF", 0.01)
    caplog.set_level(logging.DEBUG, logger="jimu.events.hub")
    hub.start()
    try:
        for _ in range(50):  # commits keep waking it: the backoff must not shorten
            hub.wake()
            time.sleep(0.01)
        assert _wait(lambda: hub.failures >= 5)
        n = len(attempts)
        assert n < 12, n  # a 10 ms poll without backoff would have read ~50 times
        gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
        assert gaps[-1] >= 0.1  # grew to the cap
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "retrying with backoff" in warnings[0].getMessage()
        failing[0] = False
        assert _wait(lambda: hub.failures == 0)
        assert any("reads again" in r.getMessage() for r in caplog.records)
    finally:
        hub.stop()
    assert not hub.alive


def test_stopped_hub_closes_new_subscribers(jimu):
    import asyncio
    import threading

    hub = get_hub(jimu.db)
    hub.stop()

    async def go() -> list[object]:
        return [await hub.subscribe("shop").queue.get() for _ in range(3)]

    # A loop of its own in a thread: a browser test earlier in this worker may have left
    # Playwright's event loop running in the main thread, where asyncio.run() refuses.
    got: list[object] = []
    runner = threading.Thread(target=lambda: got.extend(asyncio.run(go())))
    runner.start()
    runner.join(10)
    assert got == [hub_mod.CLOSED] * 3
    assert get_hub(jimu.db) is not hub  # a new one starts on demand
    get_hub(jimu.db).stop()

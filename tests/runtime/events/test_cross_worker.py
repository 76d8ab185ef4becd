"""Events reach the SSE subscribers of another worker (issue 24): two Jimu contexts on one
database stand for two ``jimu serve --workers`` processes; a commit through one reaches a
live subscriber of the other's hub through the database's wake-up watcher (PostgreSQL
LISTEN/NOTIFY, the SQLite WAL's change), not through the hub's 10 s fallback read."""

from __future__ import annotations

import asyncio
import time

from jimu.runtime.context import Jimu
from jimu.runtime.events import emit
from jimu.runtime.events.hub import Batch, get_hub


def test_a_commit_in_one_worker_reaches_a_subscriber_of_the_other(db_url: str) -> None:
    """Mutation caught: the hub not subscribing to the ``events`` wake-up (it reads only
    on its fallback poll, 10 s later), or a watcher that never fires."""
    reader, writer = Jimu.open(db_url), Jimu.open(db_url)
    try:
        hub = get_hub(reader.db)

        async def follow() -> tuple[Batch, float]:
            sub = hub.subscribe("t")
            await asyncio.sleep(0.3)  # the watcher has taken its first look
            with writer.db.write() as c:
                emit(c, "t", "record.created", entity="x", record=7, version=1)
            t0 = time.perf_counter()
            item = await asyncio.wait_for(sub.queue.get(), 5)
            assert isinstance(item, Batch)
            return item, time.perf_counter() - t0

        batch, took = asyncio.run(follow())
        assert [r["record"] for r in batch.rows] == ["7"]
        assert took < 3.0, took
    finally:
        reader.close()
        writer.close()

"""The SSE stream of one caller: replay from the outbox (Last-Event-ID), then live.

Frames: ``id: <seq>``, ``event: record.created|updated|deleted|transitioned|ledger.moved``,
``data: {"entity", "id", "version", "changes"}`` rendered by the caller's rights; a
``: ping`` comment every ``heartbeat`` seconds keeps proxies from closing the stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from jimu.runtime.access import AccessPolicy
from jimu.runtime.events.hub import get_hub
from jimu.runtime.events.outbox import EVENT_KINDS
from jimu.runtime.events.tables import events
from jimu.runtime.events.visibility import render_event

__all__ = ["event_stream", "frame", "REPLAY_LIMIT"]

REPLAY_LIMIT = 1000


def frame(row: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """One SSE frame."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {row['seq']}\nevent: {row['kind']}\ndata: {body}\n\n"


def _replay(policy: AccessPolicy, after: int) -> list[Mapping[str, Any]]:
    with policy.jimu.db.read() as c:
        return [dict(r) for r in c.execute(sa.select(events).where(
            events.c.app == policy.app, events.c.seq > after).order_by(events.c.seq).limit(REPLAY_LIMIT)).mappings()]


async def event_stream(policy: AccessPolicy, last_event_id: int | None, *, heartbeat: float = 15.0,
                       kinds: set[str] | None = None) -> AsyncIterator[str]:
    """The frames for ``policy``'s caller, forever (the server cancels it on disconnect)."""
    hub = get_hub(policy.jimu.db)
    sub = hub.subscribe(policy.app)
    wanted = kinds or set(EVENT_KINDS)
    who = _caller_key(policy)
    sent_upto = 0
    queue = sub.queue
    try:
        yield "retry: 2000\n\n"
        if last_event_id is not None:
            for row in await run_in_threadpool(_replay, policy, last_event_id):
                sent_upto = max(sent_upto, int(row["seq"]))
                out = _render(policy, row, wanted, who)
                if out is not None:
                    yield out
        while True:
            if queue.empty():
                # wait_for wraps the get in a task of its own: only pay for it when idle.
                try:
                    batch = await asyncio.wait_for(queue.get(), heartbeat)
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
            else:
                batch = queue.get_nowait()
            frames = []
            for row in batch:
                if int(row["seq"]) <= sent_upto and last_event_id is not None:
                    continue
                out = _render(policy, row, wanted, who)
                if out is not None:
                    frames.append(out)
            if frames:
                yield "".join(frames)  # one write for a batch of events
    finally:
        hub.unsubscribe(sub)


_cache: dict[tuple[Any, ...], str | None] = {}
_MISS = object()


def _caller_key(policy: AccessPolicy) -> tuple[Any, ...]:
    """Who the stream renders for: streams with the same key share renderings."""
    return (policy.app, policy.rt.version, policy.actor.username, tuple(sorted(policy.actor.roles)),
            tuple(sorted((policy.actor.attrs or {}).items(), key=str)))


def _render(policy: AccessPolicy, row: Mapping[str, Any], wanted: set[str],
            who: tuple[Any, ...] | None = None) -> str | None:
    """The frame for this caller; streams of the same user and roles share one rendering
    (many tabs and terminals of one user cost one render per event)."""
    if row["kind"] not in wanted:
        return None
    key = (row["seq"], *(who if who is not None else _caller_key(policy)))
    hit = _cache.get(key, _MISS)
    if hit is not _MISS:
        return hit
    try:
        data = render_event(policy, row)
    except Exception:  # noqa: BLE001 - a spec changed under an old event: skip it, keep streaming
        data = None
    out = None if data is None else frame(row, data)
    if len(_cache) > 8192:
        _cache.clear()
    _cache[key] = out
    return out

"""The SSE stream of one caller: replay from the outbox (Last-Event-ID), then live.

Frames: ``id: <seq>``, ``event: record.created|updated|deleted|transitioned|ledger.moved``,
``data: {"entity", "id", "version", "changes"}`` rendered by the caller's rights; a
``: ping`` comment after ``heartbeat`` idle seconds keeps proxies from closing the stream.

The stream ends when its credential stops holding or no longer means the same caller
(:class:`~jimu.runtime.events.credentials.StreamCredential`, checked on every heartbeat
and at the token's expiry): the client reconnects and gets 401, or the new rights.

Fan-out cost: the stream is a plain ASGI response whose task waits on its queue (no
per-event timeout task: the heartbeat is one timer per stream that re-arms itself), and
the live frames of a batch are rendered and encoded once per access profile
(:func:`profile_of`) and shared by every stream with that profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Hashable, Mapping
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from jimu.core.clock import now
from jimu.runtime.access import AccessPolicy
from jimu.runtime.events.credentials import StreamCredential
from jimu.runtime.events.hub import CLOSED, Batch, Subscriber, get_hub
from jimu.runtime.events.outbox import EVENT_KINDS
from jimu.runtime.events.tables import events
from jimu.runtime.events.visibility import render_event

log = logging.getLogger(__name__)

__all__ = ["EventStreamResponse", "frame", "profile_of", "render_frame", "REPLAY_LIMIT"]

REPLAY_LIMIT = 1000
_TICK = "tick"  # heartbeat: re-check the credential, ping when idle
_EXPIRY = "expiry"  # the token's expiry time: re-check the credential
_RETRY = b"retry: 2000\n\n"


def frame(row: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """One SSE frame."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {row['seq']}\nevent: {row['kind']}\ndata: {body}\n\n"


def profile_of(policy: AccessPolicy, kinds: frozenset[str]) -> Hashable:
    """What a stream's frames depend on: the app version, the caller (row filters and
    masks may use ``$user`` and the user's attributes), its roles and the kinds it asked
    for. Streams with equal profiles receive the same bytes."""
    actor = policy.actor
    return (policy.app, policy.rt.version, actor.username, tuple(sorted(actor.roles)),
            tuple(sorted((actor.attrs or {}).items(), key=str)), kinds)


def render_frame(policy: AccessPolicy, row: Mapping[str, Any], kinds: frozenset[str]) -> bytes | None:
    """The encoded frame of ``row`` for ``policy``'s caller, or None when it may not see it."""
    if row["kind"] not in kinds:
        return None
    try:
        data = render_event(policy, row)
    except Exception:  # noqa: BLE001 - e.g. a spec changed under an old event: skip it (logged), keep streaming
        log.warning("event %s of app %s could not be rendered for %s; the stream skips it", row.get("id"), policy.app,
                    policy.actor.username, exc_info=True)
        return None
    return None if data is None else frame(row, data).encode()


def _replay(policy: AccessPolicy, after: int) -> list[Mapping[str, Any]]:
    with policy.jimu.db.read() as c:
        return [dict(r) for r in c.execute(sa.select(events).where(
            events.c.app == policy.app, events.c.seq > after).order_by(events.c.seq).limit(REPLAY_LIMIT)).mappings()]


class EventStreamResponse(Response):
    """``text/event-stream`` of what ``policy``'s caller may see, until the client goes
    away, the hub stops (``Jimu.close()``, the server's shutdown) or ``credential`` (the
    request's, when given) stops holding."""

    media_type = "text/event-stream"

    def __init__(self, policy: AccessPolicy, last_event_id: int | None, *, heartbeat: float = 15.0,
                 kinds: set[str] | None = None, credential: StreamCredential | None = None) -> None:
        self.policy = policy
        self.credential = credential
        self.last_event_id = last_event_id
        self.heartbeat = heartbeat
        self.kinds = frozenset(kinds or EVENT_KINDS)
        self.profile = profile_of(policy, self.kinds)
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    def _render(self, row: Mapping[str, Any]) -> bytes | None:
        return render_frame(self.policy, row, self.kinds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = get_hub(self.policy.jimu.db)
        sub = hub.subscribe(self.policy.app)
        loop = asyncio.get_running_loop()
        idle = True

        def beat() -> None:
            sub.queue.put_nowait(_TICK)
            timers[0] = loop.call_later(self.heartbeat, beat)

        timers = [loop.call_later(self.heartbeat, beat)]
        if self.credential is not None and self.credential.expires is not None:
            delay = max(0.0, self.credential.expires - now().timestamp()) + 0.001
            timers.append(loop.call_later(delay, sub.queue.put_nowait, _EXPIRY))
        watcher = asyncio.ensure_future(_watch_disconnect(receive, sub))
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": _RETRY, "more_body": True})
            sent_upto = await self._replay(send)
            while True:
                item = await sub.queue.get()
                if item is CLOSED:
                    break
                if isinstance(item, Batch):
                    body = self._live(item, sent_upto)
                    if not body:
                        continue
                    idle = False
                else:
                    if not await self._holds():
                        break
                    if item is _EXPIRY:
                        continue
                    if not idle:  # frames went out since the last heartbeat
                        idle = True
                        continue
                    body = b": ping\n\n"
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write
        finally:
            for timer in timers:
                timer.cancel()
            watcher.cancel()
            hub.unsubscribe(sub)

    async def _holds(self) -> bool:
        """Whether the stream's credential still holds (cheap: the expiry and a recent
        check of the same credential are known without the database)."""
        if self.credential is None:
            return True
        known = self.credential.cached()
        return known if known is not None else await run_in_threadpool(self.credential.check)

    async def _replay(self, send: Send) -> int:
        """Send what came after Last-Event-ID; returns the last replayed sequence number."""
        if self.last_event_id is None:
            return 0
        sent_upto = 0
        out = []
        for row in await run_in_threadpool(_replay, self.policy, self.last_event_id):
            sent_upto = max(sent_upto, int(row["seq"]))
            f = self._render(row)
            if f:
                out.append(f)
        if out:
            await send({"type": "http.response.body", "body": b"".join(out), "more_body": True})
        return sent_upto

    def _live(self, batch: Batch, sent_upto: int) -> bytes:
        if sent_upto and int(batch.rows[0]["seq"]) <= sent_upto:
            # Overlaps the replay: this stream alone skips what it already sent.
            return b"".join(f for r in batch.rows if int(r["seq"]) > sent_upto and (f := self._render(r)))
        return batch.frames(self.profile, self._render)


async def _watch_disconnect(receive: Receive, sub: Subscriber) -> None:
    with contextlib.suppress(Exception):
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                break
    sub.queue.put_nowait(CLOSED)

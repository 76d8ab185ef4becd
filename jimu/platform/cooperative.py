"""PostgreSQL's round trips waited for on the event loop, not in ``poll``.

Jimu's request code is synchronous and runs on the event loop's thread: a request waiting
for PostgreSQL (a create's two round trips, a list's one) blocked the whole server, and
the requests of the other connections queued behind it (p99 4-7x the baseline's under
wrk, the server at half a core). :func:`run` runs a request's synchronous part in a
greenlet of its own. Inside it, the statements Jimu sends straight through libpq
(:mod:`jimu.platform.pgdirect`'s statements and pipelines, the commit's pipeline of
:mod:`jimu.platform.pgtail`, :mod:`jimu.platform.pgbegin`) call :func:`readable` once
sent: the wait for the answer's first bytes goes to the event loop (``add_reader`` on
the connection's socket) and the greenlet resumes when they arrive; meanwhile the loop
serves other requests, each on a connection of its own. The answer is then read as
before (PostgreSQL sends a message's results together, at its ``Sync``). SQLAlchemy's
asyncio layer works the same way; this is the part of it Jimu needs, without making the
records service asynchronous.

Only those waits give way: a statement through a psycopg cursor blocks as before, so code
that holds a thread lock around SQL (a table created once under a lock) never lets another
request of the same thread run into that lock, and no thread lock is held across those
waits (a psycopg connection's own lock is that connection's request's alone). The
greenlets in flight are bounded (:data:`LIMIT`) well below the pools' size, so a request
blocking the thread for a pooled connection never waits for a greenlet that cannot run.
A cancelled request finishes its round trip blocking (its connection is never left
half-way through an answer), then gets its cancellation.

What it costs and gives is measured in ``benchmarks/README.md`` (session 14): one worker
serves ~1.8x the creates at half the p99, at about the same CPU per request under load;
one request alone pays the loop's turn and the greenlet (~90 µs more CPU here).
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from greenlet import getcurrent, greenlet

__all__ = ["run", "readable", "LIMIT"]

T = TypeVar("T")

#: Requests running in greenlets at once per event loop (the write and read pools hold 30
#: connections each; a request holds one of each at most).
LIMIT = 8

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
#: Requests inside :func:`run` per event loop, those waiting for a slot included.
_entered: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()


class _Request(greenlet):  # type: ignore[misc]
    """A request's greenlet: its waits give way to the event loop (see :func:`readable`)."""

    blocking = False  # set once the request is cancelled: its waits block again


async def run(fn: Callable[..., T], *args: Any, cooperative: bool = True) -> T:
    """``fn(*args)`` with its libpq waits given to the event loop (see the module doc);
    called directly when not ``cooperative`` (SQLite: nothing to wait for)."""
    if not cooperative:
        return fn(*args)
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(LIMIT)
    _entered[loop] = _entered.get(loop, 0) + 1
    try:
        return await _run(slots, fn, args)
    finally:
        _entered[loop] -= 1


async def _run(slots: asyncio.Semaphore, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    async with slots:
        g = _Request(fn, getcurrent())
        g.gr_context = contextvars.copy_context()
        request = g.switch(*args)
        cancelled: BaseException | None = None
        while not g.dead:
            try:
                await request
            except BaseException as exc:  # noqa: BLE001 - cancelled: the wait finishes blocking
                cancelled = exc
                g.blocking = True
            request = g.switch()
        if cancelled is not None:
            raise cancelled
        return request  # type: ignore[no-any-return]


def readable(raw: Any) -> None:
    """Inside :func:`run`: send what waits in ``raw``'s output buffer (``raw``: a psycopg
    connection whose statements were just queued) and give the wait for the first bytes
    of the answer to the event loop. The caller then reads the answer with psycopg's own
    wait as before: PostgreSQL sends a message's results together, at its ``Sync``, so the
    answer is there (one wait on the loop per round trip). Nothing (psycopg's wait does
    it all) outside :func:`run`, when the statements could not all be sent at once, and
    when no other request is inside :func:`run` on this loop once the requests the loop
    has queued have started (one turn of the loop): a request alone has nobody to give
    way to, and a wait in ``poll`` costs less CPU than the wait on the loop (~90 µs
    here)."""
    g = getcurrent()
    if type(g) is not _Request or g.blocking:
        return
    pgconn = raw.pgconn
    if pgconn.flush() != 0:
        return
    loop = asyncio.get_running_loop()
    if _entered.get(loop, 0) < 2:
        g.parent.switch(asyncio.sleep(0))  # PostgreSQL works on the statements meanwhile
        if g.blocking or _entered.get(loop, 0) < 2:
            return
    fd = pgconn.socket
    done = loop.create_future()
    loop.add_reader(fd, _wake, done)
    try:
        g.parent.switch(done)
    finally:
        loop.remove_reader(fd)


def _wake(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)

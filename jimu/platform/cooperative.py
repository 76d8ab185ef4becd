"""PostgreSQL reads, and a write's last round trip, waited for on the event loop, not in ``poll``.

Jimu's request code is synchronous and runs on the event loop's thread: a list waiting for
PostgreSQL blocked the whole server, and the requests of the other connections queued
behind it. :func:`run` runs a request's synchronous part in a greenlet of its own (the
list and create routes). Inside it, the statements Jimu sends straight through libpq
(:mod:`jimu.platform.pgdirect`) on an **autocommit** connection (the read pool) call
:func:`readable` once sent: the wait for the answer's first bytes goes to the event loop
(``add_reader`` on the connection's socket) and the greenlet resumes when they arrive;
meanwhile the loop serves other requests, each on a connection of its own. The answer is
then read as before (PostgreSQL sends a message's results together, at its ``Sync``).
SQLAlchemy's asyncio layer works the same way; this is the part of it Jimu needs, without
making the records service asynchronous.

Only those waits give way. **Never in the middle of a transaction**: a write holds row
locks across its round trips, and another request of the same thread blocking on one of
them (through a cursor, whose waits block the thread) would never let the first resume to
release it (the thread hangs; a first version that let a create's every round trip give
way did, under the SIGKILL test's load of orders sharing an auto-number counter and stock
rows). A statement in autocommit holds no lock past its own end on the server; nor does a
write's last round trip, its last statement and ``COMMIT`` sent together (the create
route, :mod:`jimu.platform.pgtail`): once they are sent the server ends the transaction
and releases its locks without the client, whether the statement succeeds (the
``COMMIT`` commits) or fails (PostgreSQL aborts the transaction at the error and releases
its locks then, not at the client's ``ROLLBACK``). A request of the same thread blocked on
such a lock waits for the server only. No thread lock is held across a
wait (a psycopg connection's own lock is that connection's request's alone); the greenlets
in flight are bounded (:data:`LIMIT`) well below the pools' size, so a request blocking the
thread for a pooled connection never waits for a greenlet that cannot run; a cancelled
request finishes its round trip blocking (its connection is never left half-way through an
answer), then gets its cancellation.

What it costs and gives is measured in ``benchmarks/README.md`` (sessions 14 and 15).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import time
import types
import weakref
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from greenlet import getcurrent, greenlet

__all__ = ["run", "readable", "LIMIT"]

T = TypeVar("T")

#: Requests running in greenlets at once per event loop (the write and read pools hold 30
#: connections each; a request holds one of each at most).
LIMIT = 8
#: Seconds: how often at most a request alone takes a turn of the loop to let the requests
#: it has queued start (:func:`readable`); a turn cost ~40 µs of CPU in a request here
#: (measured inside ``readable``; a bare turn in a micro benchmark ~3 µs).
TURN_GAP = 0.01


class _Loop:
    """What :func:`run` keeps per event loop."""

    __slots__ = ("entered", "running", "queued", "idle", "turned_at", "__weakref__")

    def __init__(self) -> None:
        self.turned_at = -TURN_GAP  # when a request alone last took a turn of the loop (readable)
        self.entered = 0  # requests inside run(), those waiting for a slot included
        self.running = 0  # of which in a greenlet (at most LIMIT)
        self.queued: collections.deque[asyncio.Future[None]] = collections.deque()  # waiting for a slot
        self.idle: list[_Request] = []  # greenlets of ended requests, for the next ones


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = weakref.WeakKeyDictionary()
_last: tuple[Any, _Loop | None] = (None, None)  # the loop looked up last, and its state


def _state(loop: asyncio.AbstractEventLoop) -> _Loop:
    global _last
    last_loop, state = _last
    if last_loop is loop and state is not None:
        return state
    state = _loops.get(loop)
    if state is None:
        state = _loops[loop] = _Loop()
    _last = (loop, state)
    return state


class _Request(greenlet):  # type: ignore[misc]
    """A greenlet that runs requests one after the other (see :func:`run`); its waits give
    way to the event loop (see :func:`readable`). Kept for the next request: a new
    greenlet starts with no frame stack of its own, and Python maps one for it (``mmap``,
    page faults, ``munmap`` when it ends: ~10 µs of CPU a request here)."""

    blocking = False  # set once its request is cancelled: its waits block again

    def __init__(self) -> None:
        super().__init__(self._serve)

    def _serve(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        while True:
            try:
                done = _Done(fn(*args), None)
            except BaseException as exc:  # noqa: BLE001 - raised by run() in the request's task
                done = _Done(None, exc)
            del fn, args
            fn, args = self.parent.switch(done)


class _Done:
    """What a request's greenlet hands back when its request has ended."""

    __slots__ = ("value", "error")

    def __init__(self, value: Any, error: BaseException | None) -> None:
        self.value, self.error = value, error


@types.coroutine
def _turn() -> Generator[None, None, None]:
    """One turn of the event loop (what ``asyncio.sleep(0)`` does)."""
    yield


async def run(fn: Callable[..., T], *args: Any, cooperative: bool = True) -> T:
    """``fn(*args)`` with its libpq waits given to the event loop (see the module doc);
    called directly when not ``cooperative`` (SQLite: nothing to wait for)."""
    if not cooperative:
        return fn(*args)
    loop = asyncio.get_running_loop()
    state = _state(loop)
    state.entered += 1
    try:
        if state.running >= LIMIT:
            slot = loop.create_future()
            state.queued.append(slot)
            try:
                await slot  # handed over by an ending request, running already counted
            except BaseException:
                if slot.done() and not slot.cancelled():
                    _release(state)  # handed over, then cancelled: pass it on
                else:
                    state.queued.remove(slot)
                raise
        else:
            state.running += 1
        try:
            return await _run(state, fn, args)
        finally:
            _release(state)
    finally:
        state.entered -= 1


def _release(state: _Loop) -> None:
    """A slot freed: to the first request waiting for one, else back."""
    while state.queued:
        slot = state.queued.popleft()
        if not slot.done():
            slot.set_result(None)
            return
    state.running -= 1


async def _run(state: _Loop, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    g = state.idle.pop() if state.idle else _Request()
    g.parent = getcurrent()
    g.gr_context = contextvars.copy_context()
    g.blocking = False
    out = g.switch(fn, args)
    cancelled: BaseException | None = None
    while type(out) is not _Done:
        try:
            await (_turn() if out is None else out)
        except BaseException as exc:  # noqa: BLE001 - cancelled: the wait finishes blocking
            cancelled = exc
            g.blocking = True
        out = g.switch()
    g.gr_context = None
    state.idle.append(g)
    if cancelled is not None:
        raise cancelled
    if out.error is not None:
        try:
            raise out.error
        finally:
            out = None  # no cycle through the traceback
    return out.value  # type: ignore[no-any-return]


def readable(raw: Any, *, ending: bool = False) -> None:
    """Inside :func:`run`: send what waits in ``raw``'s output buffer (``raw``: a psycopg
    connection whose statements were just queued) and give the wait for the first bytes
    of the answer to the event loop. The caller then reads the answer with psycopg's own
    wait as before: PostgreSQL sends a message's results together, at its ``Sync``, so the
    answer is there (one wait on the loop per round trip). Nothing (psycopg's wait does
    it all) outside :func:`run`, when the statements could not all be sent at once, and
    when no other request is inside :func:`run` on this loop once the requests the loop
    has queued have started (one turn of the loop, taken at most every ``TURN_GAP``): a
    request alone has nobody to give way to, and a wait in ``poll`` costs less CPU than a
    wait on the loop (~40 µs of CPU in a request here, measured inside this function).
    Under load the requests overlap and wait on the loop without a turn first.

    Only on an autocommit connection, or for the round trip that ends a transaction
    (``ending``: :func:`jimu.platform.pgdirect.pipeline` of a write's last statement and
    its ``COMMIT``), see the module doc."""
    g = getcurrent()
    if type(g) is not _Request or g.blocking or not (raw.autocommit or ending):
        return  # inside a transaction: see the module doc (locks held across the wait)
    pgconn = raw.pgconn
    if pgconn.flush() != 0:
        return
    loop = asyncio.get_running_loop()
    state = _state(loop)
    if state.entered < 2:
        now = time.monotonic()
        if now - state.turned_at < TURN_GAP:
            return
        state.turned_at = now
        g.parent.switch(None)  # one turn of the loop; PostgreSQL works on the statements meanwhile
        if g.blocking or state.entered < 2:
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

"""Ending the open SSE streams when the server is asked to exit.

uvicorn answers SIGINT / SIGTERM by waiting for every open connection to finish and only
then runs the application's lifespan shutdown; an SSE stream never finishes by itself, so
stopping the hub in the lifespan shutdown alone would come too late. While the server
serves, :func:`streams_end_on_exit_signal` puts a handler in front of the server's own:
it stops the hub (every open stream ends, as after ``Jimu.close()``) and then does what
the server's handler does. The handler only starts a thread: stopping the hub takes locks
the interrupted main thread may hold.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from jimu.platform.db import Database
from jimu.runtime.events.hub import stop_hub

__all__ = ["streams_end_on_exit_signal", "EXIT_SIGNALS"]

EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def streams_end_on_exit_signal(db: Database) -> Iterator[None]:
    """While inside: SIGINT / SIGTERM first end ``db``'s open streams, then reach the
    handler installed before (the server's). Does nothing off the main thread (a server in
    a thread, the TestClient) or for a signal without a Python handler to chain to."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    installed: dict[int, tuple[Callable[..., Any], Any]] = {}

    def chain(previous: Callable[[int, FrameType | None], Any]) -> Callable[[int, FrameType | None], Any]:
        def handler(sig: int, frame: FrameType | None) -> Any:
            threading.Thread(target=stop_hub, args=(db,), name="jimu-events-shutdown", daemon=True).start()
            return previous(sig, frame)
        return handler

    for sig in EXIT_SIGNALS:
        previous = signal.getsignal(sig)
        if callable(previous):
            handler = chain(previous)
            signal.signal(sig, handler)
            installed[sig] = (handler, previous)
    try:
        yield
    finally:
        for sig, (handler, previous) in installed.items():
            if signal.getsignal(sig) is handler:  # leave a handler installed after ours alone
                signal.signal(sig, previous)

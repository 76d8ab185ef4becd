"""SQLite WAL checkpoints off the commit path.

In WAL mode SQLite copies the log back into the database file (a checkpoint, with its disk
syncs) inside whichever commit pushes the log past ``wal_autocheckpoint`` pages. A write
that touches several pages (a ledger move writes its balance, movement and index pages)
reaches that threshold proportionally more often, and the commit that trips it waits for
the syncs. Here a daemon thread per database runs ``PRAGMA wal_checkpoint(PASSIVE)`` every
``interval`` seconds on its own connection: passive checkpoints never block readers or
writers, and the log stays small. The connections' own threshold is raised to
:data:`AUTOCHECKPOINT_PAGES` as a backstop (a burst faster than the thread).

Durability is unchanged in kind: with ``synchronous=NORMAL`` a commit survives a process
crash at once and a power loss from the next checkpoint on, now at most ``interval``
seconds later (or at the backstop). ``JIMU_SQLITE_CHECKPOINT=0`` turns the thread off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from pathlib import Path

__all__ = ["AUTOCHECKPOINT_PAGES", "INTERVAL_SECONDS", "Checkpointer", "enabled"]

log = logging.getLogger("jimu.db")

AUTOCHECKPOINT_PAGES = 10_000
INTERVAL_SECONDS = 0.5


def enabled() -> bool:
    """Whether background checkpoints are on (``JIMU_SQLITE_CHECKPOINT``, default on)."""
    return os.environ.get("JIMU_SQLITE_CHECKPOINT", "1") != "0"


class Checkpointer:
    """A background passive checkpoint of the SQLite file ``path``; :meth:`stop` ends it."""

    def __init__(self, path: str, interval: float = INTERVAL_SECONDS) -> None:
        self.path = str(Path(path).resolve())
        self.interval = interval
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jimu-sqlite-checkpoint", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """End the thread (idempotent)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        con: sqlite3.Connection | None = None
        failures = 0
        try:
            while not self._stop.wait(self.interval):
                try:
                    if con is None:
                        # mode=rw: a database deleted meanwhile is never created again.
                        con = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=0,
                                              check_same_thread=False, isolation_level=None)
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
                    failures = 0
                except sqlite3.Error as exc:  # busy, or the file is gone: try again later
                    failures += 1
                    if con is not None and failures >= 3:
                        with contextlib.suppress(sqlite3.Error):
                            con.close()
                        con = None
                    if failures == 3:
                        log.debug("background checkpoint of %s failing: %s", self.path, exc)
        finally:
            if con is not None:
                with contextlib.suppress(sqlite3.Error):
                    con.close()

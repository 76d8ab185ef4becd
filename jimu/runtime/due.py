"""A registry of "what falls due" runners: timers, reservation expiry, sweeps.

Subsystems register a function ``fn(jimu, now)``; the scheduler loop and the test clock
(``POST /api/admin/clock``) call :func:`run_due` after time moves. A runner that fails is
logged and does not stop the others."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["DueRunner", "register_due_runner", "unregister_due_runner", "due_runners", "run_due"]

log = logging.getLogger("jimu.due")

DueRunner = Callable[[Any, datetime], Any]
_runners: list[DueRunner] = []
_lock = threading.Lock()


def register_due_runner(fn: DueRunner) -> DueRunner:
    """Add ``fn(jimu, now)`` to the runners (idempotent); usable as a decorator."""
    with _lock:
        if fn not in _runners:
            _runners.append(fn)
    return fn


def unregister_due_runner(fn: DueRunner) -> None:
    """Remove a runner (tests)."""
    with _lock:
        if fn in _runners:
            _runners.remove(fn)


def due_runners() -> list[DueRunner]:
    """The registered runners, in registration order."""
    with _lock:
        return list(_runners)


def run_due(jimu: Any, now: datetime) -> list[dict[str, Any]]:
    """Call every runner with ``now``; returns one ``{"runner", "ok", "result"|"error"}``
    per runner."""
    out: list[dict[str, Any]] = []
    for fn in due_runners():
        name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
        try:
            result = fn(jimu, now)
            out.append({"runner": name, "ok": True, "result": result if isinstance(result, (int, str, dict, list))
                        or result is None else str(result)})
        except Exception as exc:  # noqa: BLE001 - one failing sweep must not stop the others
            log.exception("due runner %s failed", name)
            out.append({"runner": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]})
    return out

"""Registries of "what falls due": recurring jobs to queue, and due runners.

- *Recurring* (:func:`register_recurring`): ``fn(jimu, now)`` makes sure a recurring job
  (a schedule automation's next tick, a stock task's next run) is queued in ``jimu_job``,
  idempotently (a unique key on the pending job: several workers queue it once). The
  scheduler loop calls :func:`ensure_recurring` when it starts and after each publish
  (see :mod:`jimu.runtime.scheduler.loop`); the queued jobs then fire through the loop's
  leased claims like any timer. No test clock is needed for them to start.
- *Due runners* (:func:`register_due_runner`): ``fn(jimu, now)`` fires what falls due at
  ``now``. The test clock (``POST /api/admin/clock``) calls :func:`run_due` after moving
  time, which first runs :func:`ensure_recurring`, the same step the loop runs.

A function that fails is logged and does not stop the others."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["DueRunner", "register_due_runner", "unregister_due_runner", "due_runners", "run_due",
           "register_recurring", "recurring", "ensure_recurring"]

log = logging.getLogger("jimu.due")

DueRunner = Callable[[Any, datetime], Any]
_runners: list[DueRunner] = []
_recurring: list[DueRunner] = []
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


def register_recurring(fn: DueRunner) -> DueRunner:
    """Add ``fn(jimu, now)``, which queues a kind of recurring job (idempotently), to the
    steps :func:`ensure_recurring` runs (idempotent); usable as a decorator."""
    with _lock:
        if fn not in _recurring:
            _recurring.append(fn)
    return fn


def recurring() -> list[DueRunner]:
    """The registered recurring-job steps, in registration order."""
    with _lock:
        return list(_recurring)


def ensure_recurring(jimu: Any, now: datetime) -> list[dict[str, Any]]:
    """Queue every recurring job that has none pending (the scheduler loop at start and
    after a publish, and the test clock before its runners); one result per step."""
    return _call_all(recurring(), jimu, now)


def run_due(jimu: Any, now: datetime) -> list[dict[str, Any]]:
    """Queue the recurring jobs (:func:`ensure_recurring`), then call every runner with
    ``now``; returns one ``{"runner", "ok", "result"|"error"}`` per step."""
    return _call_all(recurring() + due_runners(), jimu, now)


def _call_all(fns: list[DueRunner], jimu: Any, now: datetime) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for fn in fns:
        name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
        try:
            result = fn(jimu, now)
            out.append({"runner": name, "ok": True, "result": result if isinstance(result, (int, str, dict, list))
                        or result is None else str(result)})
        except Exception as exc:  # noqa: BLE001 - one failing sweep must not stop the others
            log.exception("due runner %s failed", name)
            out.append({"runner": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]})
    return out

"""An injectable clock, so tests move time instead of sleeping.

Everything in Jimu asks ``now()`` from here. Production uses the system clock; tests (and a
server started with ``JIMU_TEST_CLOCK=1``) install a :class:`ManualClock` and advance it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

__all__ = ["Clock", "SystemClock", "ManualClock", "now", "today", "get_clock", "set_clock"]


class Clock:
    """Tells the current time (timezone-aware UTC)."""

    def now(self) -> datetime:
        raise NotImplementedError


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that follows the system clock plus an offset the caller can advance, or
    stands still at a fixed time when ``frozen`` is given."""

    def __init__(self, frozen: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen = frozen
        self._offset = timedelta(0)
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._offset += delta
        return self.now()

    @property
    def offset(self) -> timedelta:
        return self._offset


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    return _clock


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` process-wide; returns the previous one."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def now() -> datetime:
    return _clock.now()


def today() -> date:
    return _clock.now().date()

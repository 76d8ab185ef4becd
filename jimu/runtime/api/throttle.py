"""Failed-login throttling per client address.

The per-user lockout (``auth.login``) stops guessing one user's password; it does not stop
one address trying a password against many usernames (password spraying). This window
counts failed logins per client address: past ``limit`` failures within ``window``
seconds the address gets 429 with ``Retry-After`` until the oldest failure leaves the
window. A success does not clear the address's failures (a sprayer may know one account).

Counts live in the process (a multi-worker deployment throttles per worker, so the
effective limit is ``limit × workers``); the clock is Jimu's, so tests move time.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import HTTPConnection

from jimu.core.clock import now
from jimu.core.errors import TooManyRequests, Unauthenticated
from jimu.platform.auth.users import User
from jimu.runtime.api.auth import jimu_of, login

__all__ = ["LoginThrottle", "IP_LIMIT", "IP_WINDOW_SECONDS", "login_throttle", "throttled_login"]

IP_LIMIT = 20
IP_WINDOW_SECONDS = 300
_MAX_ADDRESSES = 100_000  # bounded memory: the stalest addresses are forgotten first


class LoginThrottle:
    """Failed logins per address within a sliding window."""

    def __init__(self, limit: int = IP_LIMIT, window_seconds: int = IP_WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, address: str | None) -> None:
        """429 (``auth.throttled``, ``retry_after`` seconds) while ``address`` is over the limit."""
        if not address:
            return
        at = now()
        with self._lock:
            seen = self._failures.get(address)
            if seen is None:
                return
            self._expire(seen, at)
            if len(seen) < self.limit:
                return
            wait = max(1, int((seen[0] + self.window - at).total_seconds() + 0.999))
        raise TooManyRequests(f"too many failed logins from this address; try again in {wait} s",
                              code="auth.throttled", extra={"retry_after": wait})

    def failed(self, address: str | None) -> None:
        """Count one failed login from ``address``."""
        if not address:
            return
        at = now()
        with self._lock:
            seen = self._failures.pop(address, None) or deque()
            self._expire(seen, at)
            seen.append(at)
            self._failures[address] = seen  # re-inserted: dict order is staleness order
            if len(self._failures) > _MAX_ADDRESSES:
                del self._failures[next(iter(self._failures))]

    def _expire(self, seen: deque[datetime], at: datetime) -> None:
        while seen and seen[0] <= at - self.window:
            seen.popleft()


def login_throttle(settings: dict[str, Any]) -> LoginThrottle:
    """The failed-login window of one Jimu (settings ``login_ip_limit`` and
    ``login_ip_window_seconds``), shared by every login entry point: the API's token and
    session logins, the screens' and the designer's login forms."""
    throttle = settings.get("_login_throttle")
    if throttle is None:
        throttle = settings.setdefault("_login_throttle", LoginThrottle(
            int(settings.get("login_ip_limit") or IP_LIMIT),
            int(settings.get("login_ip_window_seconds") or IP_WINDOW_SECONDS)))
    return throttle  # type: ignore[no-any-return]


def throttled_login(request: HTTPConnection, username: Any, password: Any) -> User:
    """:func:`jimu.runtime.api.auth.login` behind the per-address window: 429
    (``auth.throttled``) while the caller's address is over the limit, a failure counted
    against it. The address is the peer's, or the forwarded one only when the server was
    told to trust the proxy (``JIMU_TRUSTED_PROXIES``)."""
    jimu = jimu_of(request)
    throttle = login_throttle(jimu.settings)
    address = request.client.host if request.client else None
    throttle.check(address)
    try:
        return login(jimu, username, password)
    except Unauthenticated:
        throttle.failed(address)
        raise

"""The credential behind an open SSE stream, re-checked while the stream is open.

A stream is authenticated once, when it opens, and may then stay open for hours. It must
end when its credential stops holding (the token expired, the user was deactivated or
changed password, the API key was revoked) or no longer stands for the same caller (an
admin changed the user's roles, attributes or manager): the client's EventSource then
reconnects and either gets 401 (the screens show "session expired") or a stream rendered
for the new rights.

:class:`StreamCredential` re-runs the request's own authentication (:func:`optional_actor`
on a copy of the request's scope, so a check follows exactly the rules of a new request)
and compares the caller it finds with the stream's. Streams check on every heartbeat and
at the token's expiry time (by :func:`jimu.core.clock.now`, so tests move time); the
expiry is checked without the database, and the result of a database check is shared
for ``CACHE_SECONDS`` by every stream opened with the same credential (one query per
interval for a user's many tabs, never one per event).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Hashable
from typing import Any

from starlette.requests import HTTPConnection

from jimu.core.clock import now
from jimu.core.errors import PermissionDenied, Unauthenticated
from jimu.platform.actor import Actor
from jimu.runtime.api.auth import credential_of, jimu_of, optional_actor, token_expiry

__all__ = ["StreamCredential", "CACHE_SECONDS", "clear_cache"]

log = logging.getLogger("jimu.events.credentials")
CACHE_SECONDS = 2.0
_UNKNOWN = object()  # the check could not run (database error): keep streaming, check again later
_lock = threading.Lock()
_cache: dict[Hashable, tuple[float, Actor | None]] = {}  # credential -> (checked at, caller or None)
_flights: dict[Hashable, threading.Lock] = {}  # one check at a time per credential


def clear_cache() -> None:
    """Forget every cached check."""
    with _lock:
        _cache.clear()
        _flights.clear()


def _expiry(found: tuple[str, str] | None) -> float | None:
    """The expiry (a POSIX timestamp) a signed token carries; None for API keys. Read
    without checking the signature: the stream was authenticated with it, and the
    database check verifies it again."""
    if found is None:
        return None
    kind, value = found
    if kind == "bearer":
        value = value.partition(" ")[2].strip()
    if kind == "key" or value.startswith("jimu_"):
        return None
    return token_expiry(value)


def _same_caller(a: Actor, b: Actor) -> bool:
    """Whether two actors have the same rights (where the request came from aside)."""
    return dataclasses.replace(a, source=None) == dataclasses.replace(b, source=None)


class StreamCredential:
    """The credential of one stream's request and the caller it authenticated."""

    def __init__(self, conn: HTTPConnection, actor: Actor) -> None:
        self.actor = actor
        self._scope = {k: v for k, v in conn.scope.items() if k != "state"}
        found = credential_of(conn)
        self.expires = _expiry(found)
        self._key: Hashable = (id(jimu_of(conn)), found)

    def expired(self) -> bool:
        """Whether the token's expiry has passed (no database read)."""
        return self.expires is not None and now().timestamp() > self.expires

    def cached(self) -> bool | None:
        """Whether the credential still holds, when that is known without the database
        (expired, or checked less than ``CACHE_SECONDS`` ago); None when :meth:`check`
        must run."""
        if self.expired():
            return False
        with _lock:
            hit = _cache.get(self._key)
        if hit is None or time.monotonic() - hit[0] >= CACHE_SECONDS:
            return None
        return hit[1] is not None and _same_caller(hit[1], self.actor)

    def check(self) -> bool:
        """Whether the credential still holds and means the same caller (blocking: reads
        the database unless another stream of the credential just did)."""
        known = self.cached()
        if known is not None:
            return known
        with _lock:
            flight = _flights.setdefault(self._key, threading.Lock())
        with flight:  # the other streams of this credential wait for this check, then share it
            known = self.cached()
            if known is not None:
                return known
            found = self._authenticate()
            if found is _UNKNOWN:
                return True
            assert found is None or isinstance(found, Actor)
            at = time.monotonic()
            with _lock:
                for key in [k for k, (t, _) in _cache.items() if at - t >= CACHE_SECONDS]:
                    del _cache[key]
                    _flights.pop(key, None)
                _cache[self._key] = (at, found)
                _flights.setdefault(self._key, flight)
        return not self.expired() and found is not None and _same_caller(found, self.actor)

    def _authenticate(self) -> Any:
        """The caller the credential stands for now (None when it no longer holds)."""
        try:
            return optional_actor(HTTPConnection({**self._scope, "state": {}}))
        except (Unauthenticated, PermissionDenied):
            return None
        except Exception:  # noqa: BLE001 - the database is failing: the next heartbeat tries again
            log.debug("re-checking a stream's credential failed", exc_info=True)
            return _UNKNOWN

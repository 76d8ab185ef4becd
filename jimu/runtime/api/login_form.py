"""The browser login form's checks, shared by the screens' ``/login`` and the designer's
``/designer/login``: the same origin, the form's pre-session token (login CSRF), the
per-address throttle and the password, in that order. Each page renders the outcome in
its own look; neither repeats the checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from jimu.core.errors import JimuError, TooManyRequests
from jimu.runtime.api.auth import login_form_ok
from jimu.runtime.api.security import same_origin
from jimu.runtime.api.throttle import throttled_login

__all__ = ["LoginAttempt", "attempt_login"]


@dataclass(frozen=True)
class LoginAttempt:
    """A posted login form's outcome: ``user`` when every check passed; otherwise the
    HTTP ``status``, the ``reason`` (``cross_site``, ``throttled`` or ``failed``) and, when
    throttled, ``retry_after`` seconds. ``next`` is the form's raw ``next`` (None when the
    form was not read: a cross-site post); each page makes it safe for its own paths."""

    user: Any = None
    status: int = 200
    reason: str | None = None
    retry_after: Any = None
    next: str | None = None


async def attempt_login(request: Request) -> LoginAttempt:
    """Run a posted login form through every check (see the module docstring)."""
    if not same_origin(request):
        return LoginAttempt(status=403, reason="cross_site")
    form = await request.form()
    raw_next = form.get("next")
    target = raw_next if isinstance(raw_next, str) else None
    if not login_form_ok(request, form.get("csrf_token")):
        return LoginAttempt(status=403, reason="cross_site", next=target)
    try:
        user = throttled_login(request, str(form.get("username") or ""), str(form.get("password") or ""))
    except TooManyRequests as exc:
        return LoginAttempt(status=429, reason="throttled", retry_after=exc.extra.get("retry_after", 60), next=target)
    except JimuError:
        return LoginAttempt(status=401, reason="failed", next=target)
    return LoginAttempt(user=user, next=target)

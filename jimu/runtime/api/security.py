"""Security headers on every response, and the access-log filter that keeps credentials
out of the log.

The screens' defence in depth against script injection: even if a value escaped its
HTML context, the Content-Security-Policy lets only Jimu's own files run
(``script-src 'self'``, no ``unsafe-inline``, no ``unsafe-eval``; Alpine.js is its CSP
build, JSON reaches scripts in ``<script type="application/json">`` data blocks). Pages
may not be framed (clickjacking), responses are not MIME-sniffed, and the Referer never
carries a Jimu URL (with its query) to another site.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "CSP", "SECURITY_HEADERS", "HSTS", "redact", "RedactAccessLog", "install_log_redaction",
           "same_origin", "safe_next"]

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # htmx adds its indicator <style>; ECharts and the market pages style inline
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Sent on HTTPS responses only (over plain HTTP a browser ignores it anyway).
HSTS = (b"strict-transport-security", b"max-age=31536000")
_NAMES = {name for name, _ in SECURITY_HEADERS} | {HSTS[0]}


class SecurityHeaders:
    """ASGI middleware: adds :data:`SECURITY_HEADERS` to every HTTP response, and
    :data:`HSTS` to HTTPS ones (a header the handler set itself wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*SECURITY_HEADERS, HSTS] if scope.get("scheme") == "https" else SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers} & _NAMES
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_SECRET_PARAM = re.compile(r"((?:^|[?&])(?:access_token|token|password)=)[^&\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` (a request line or URL) with the values of ``access_token=``, ``token=`` and
    ``password=`` query parameters replaced by ``[redacted]``."""
    return _SECRET_PARAM.sub(r"\1[redacted]", text)


class RedactAccessLog(logging.Filter):
    """A logging filter for uvicorn's access log: the request path is logged without
    credentials in its query (the SSE stream may carry ``?access_token=``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_log_redaction() -> None:
    """Attach :class:`RedactAccessLog` to uvicorn's access logger (idempotent)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactAccessLog) for f in logger.filters):
        logger.addFilter(RedactAccessLog())


def same_origin(request: HTTPConnection) -> bool:
    """Whether a browser sent this request from Jimu's own pages: ``Sec-Fetch-Site`` (when
    sent) is ``same-origin`` or ``none`` (typed by the user) and ``Origin`` (when sent)
    names this host. A request carrying neither is not a browser's cross-site request
    (every current browser sends ``Origin`` on a cross-site POST) and passes."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


def safe_next(raw: object, default: str, prefix: str = "/") -> str:
    """``raw`` when it is a same-site relative path under ``prefix`` (``/app/x?y``), else
    ``default``: no scheme, no host, no ``//`` or ``/\\`` (a browser reads both as another
    host), no control characters; used for every ``next=`` redirect."""
    if not isinstance(raw, str) or not raw.startswith(prefix) or len(raw) > 2000:
        return default
    if raw.startswith(("//", "/\\")) or any(ord(ch) < 0x20 or ch in "\\\x7f" for ch in raw):
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return default
    return raw

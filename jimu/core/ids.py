"""Identifiers: event ids, tokens, and the identifier rules for user-defined names."""

from __future__ import annotations

import re
import secrets
import uuid

__all__ = ["new_uid", "new_token", "IDENTIFIER_RE", "is_identifier", "MAX_ID", "MAX_ROW_ID", "parse_id"]

IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_ID = 2**63 - 1
"""The largest id of the platform's BIGINT-keyed tables (events, deliveries, inbox, ledgers)."""
MAX_ROW_ID = 2**31 - 1
"""The largest id of the INTEGER-keyed tables: app records (and link fields), users, API keys."""
_DIGITS_RE = re.compile(r"[0-9]{1,19}")


def parse_id(raw: object, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """A row id from outside (a path segment, a query value, a JSON number, a cursor), or
    None when ``raw`` is not one: ASCII digits only (``str.isdigit`` also admits "²" and
    Arabic-Indic digits, which ``int()`` then refuses), within ``low..high`` (a larger
    value overflows the column or the database driver: a 500, not a 404). Every id from
    outside that reaches SQL goes through here."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _DIGITS_RE.fullmatch(raw):
        value = int(raw)
    else:
        return None
    return value if low <= value <= high else None


def new_uid() -> str:
    """A random, sortable-enough unique id (hex uuid4) for events, deliveries, findings."""
    return uuid.uuid4().hex


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)


def is_identifier(name: str) -> bool:
    """True when ``name`` is a lower-case identifier usable as a column or table name."""
    return bool(IDENTIFIER_RE.match(name))

"""Identifiers: event ids, tokens, and the identifier rules for user-defined names."""

from __future__ import annotations

import re
import secrets
import uuid

__all__ = ["new_uid", "new_token", "IDENTIFIER_RE", "is_identifier"]

IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def new_uid() -> str:
    """A random, sortable-enough unique id (hex uuid4) for events, deliveries, findings."""
    return uuid.uuid4().hex


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)


def is_identifier(name: str) -> bool:
    """True when ``name`` is a lower-case identifier usable as a column or table name."""
    return bool(IDENTIFIER_RE.match(name))

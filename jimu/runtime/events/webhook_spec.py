"""Checking a webhook definition before it is stored: every field typed and bounded, so a
definition can neither break the delivery loop (a negative backoff, ``max_attempts: -1``,
a 27-hour timeout holding a worker) nor reach the database as a 500 (text where a number
goes, a name longer than its column).

Bounds (422 ``webhook.invalid`` with one field error per bad field otherwise):

* ``url`` (outgoing): ``http://`` or ``https://`` with a host, at most 2048 characters, no
  spaces or control characters;
* ``max_attempts``: an integer 1..20; ``backoff``: 0.01..3600 seconds (the first retry's wait,
  doubled each time); ``timeout``: 1..30 s;
* ``name``, ``role``, ``entity``, ``key_field``: text up to 63 characters; ``secret`` up
  to 200; ``kinds``/``entities`` lists of text; ``active`` a boolean.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from jimu.core.errors import FieldError, ValidationError

__all__ = ["check_spec", "BOUNDS", "MAX_URL"]

BOUNDS: dict[str, tuple[float, float]] = {"max_attempts": (1, 20), "backoff": (0.01, 3600), "timeout": (1, 30)}
MAX_URL = 2048
_TEXT = {"name": 63, "role": 63, "entity": 63, "key_field": 63, "secret": 200, "format": 16, "mode": 16,
         "direction": 8}
_MODES = ("create", "upsert", "trigger")


def _number(value: Any) -> float | None:
    """A finite number from JSON: an int, or the text the body decoder keeps decimals as."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(Decimal(value.strip()))
        except (InvalidOperation, ValueError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return "required: an http:// or https:// URL"
    if len(url) > MAX_URL:
        return f"at most {MAX_URL} characters"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "no spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "an http:// or https:// URL with a host"
    return None


def check_spec(body: Mapping[str, Any], formats: tuple[str, ...], kinds: tuple[str, ...]) -> dict[str, Any]:
    """``body`` checked (422 listing every bad field) and normalised: bounded numbers become
    ``int``/``float``. ``formats``/``kinds`` are the accepted payload formats and event
    kinds."""
    errors: list[FieldError] = []
    out = dict(body)

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(field, "invalid", message))

    for field, limit in _TEXT.items():
        value = body.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            bad(field, f"text of at most {limit} characters")
    for field in ("kinds", "entities"):
        value = body.get(field)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 63
                                                                          for v in value)):
            bad(field, "a list of names")
    if "active" in body and not isinstance(body["active"], bool):
        bad("active", "true or false")
    for field, (low, high) in BOUNDS.items():
        if body.get(field) is None:
            out.pop(field, None)  # the column's default applies
            continue
        number = _number(body[field])
        if number is None or not low <= number <= high or (field == "max_attempts" and number != int(number)):
            kind = "an integer" if field == "max_attempts" else "a number"
            bad(field, f"{kind} from {low:g} to {high:g}")
        else:
            out[field] = int(number) if field == "max_attempts" else number
    direction = body.get("direction", "out")
    if direction not in ("out", "in"):
        bad("direction", "one of out, in")
    if direction == "out":
        problem = _url_problem(body.get("url"))
        if problem:
            bad("url", problem)
        if body.get("format", "json") not in formats:
            bad("format", f"one of {', '.join(formats)}")
        unknown = [k for k in body.get("kinds") or [] if k not in kinds]
        if unknown:
            bad("kinds", f"unknown kinds {unknown}")
    elif body.get("mode", "create") not in _MODES:
        bad("mode", f"one of {', '.join(_MODES)}")
    if not isinstance(body.get("name"), str) or not body.get("name"):
        bad("name", "required")
    if not isinstance(body.get("role"), str) or not body.get("role"):
        bad("role", "required: the role whose rights apply")
    if errors:
        first: dict[str, FieldError] = {}
        for e in errors:
            first.setdefault(e.field, e)
        raise ValidationError("invalid webhook", code="webhook.invalid", errors=list(first.values()))
    return out

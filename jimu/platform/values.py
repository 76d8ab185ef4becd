"""Field values: reading input into the Python value of a field type, and back to JSON.

``coerce`` is strict but forgiving where users expect it (numbers given as strings, ISO
dates, "true"/"false"); a value it cannot read raises ``ValueError`` with a message a user
can act on. ``to_json`` renders Decimal as a string (never a float) and dates as ISO 8601.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from jimu.core.ids import MAX_ROW_ID
from jimu.core.money import DecimalInputError, to_decimal
from jimu.platform.specs.fields import FieldSpec

__all__ = ["coerce", "to_json", "parse_duration", "format_duration", "READ_ONLY_TYPES", "is_blank"]

READ_ONLY_TYPES = frozenset({"formula", "auto_number"})
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_RE = re.compile(r"^(https?|ftp)://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{3,32}$")
DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$", re.IGNORECASE
)


def is_blank(value: Any) -> bool:
    """None, an empty or whitespace string, or an empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def parse_duration(value: str) -> int:
    """ISO 8601 duration (days and time parts) to seconds: ``PT48H`` -> 172800."""
    m = DURATION_RE.match(value.strip())
    if not m or value.strip().upper() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {value!r} (e.g. PT48H, P3D, PT30M)")
    d, h, mi, s = (int(m.group(k) or 0) for k in ("d", "h", "m", "s"))
    return ((d * 24 + h) * 60 + mi) * 60 + s


def format_duration(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return out + ("T" + time if time else ("" if days else "T0S"))


COLUMN_LENGTH = {"user": 150, "auto_number": 150, "attachment": 1024, "image": 1024}
"""Characters the column of a text-like type holds (text, email, phone, url, barcode and
choice: ``max_length``, default 255; see ``jimu.platform.schema.columns``)."""


def text_limit(field: FieldSpec, value_type: str | None = None) -> int | None:
    """The most characters a value of ``field`` may have (its column's length), None for
    unbounded types (long text)."""
    t = value_type or field.value_type
    if t in COLUMN_LENGTH:
        return COLUMN_LENGTH[t]
    if t in ("text", "email", "phone", "url", "barcode", "choice"):
        return int(field.options.get("max_length", 255) or 255)
    return None


def _text(field: FieldSpec, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError("expected text")
    text = str(value)
    max_length = text_limit(field) or 0  # past the column's length PostgreSQL refuses the row (a 500)
    if max_length and len(text) > max_length:
        raise ValueError(f"at most {max_length} characters (got {len(text)})")
    return text


def _decimal(field: FieldSpec, value: Any) -> Decimal:
    try:
        d = to_decimal(value)
    except DecimalInputError as exc:
        raise ValueError(str(exc)) from None
    scale, precision = field.scale, field.precision
    exponent = d.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        raise ValueError(f"at most {scale} decimal places")
    if abs(d) >= Decimal(10) ** (precision - scale):
        raise ValueError(f"too large: at most {precision - scale} digits before the decimal point")
    return d


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, int):
        if abs(value) >= 2**63:
            raise ValueError("number too large")
        return value
    try:
        d = to_decimal(value)
    except DecimalInputError:
        raise ValueError("expected a whole number") from None
    if d != d.to_integral_value():
        raise ValueError("expected a whole number")
    if abs(d) >= 2**63:
        raise ValueError("number too large")
    return int(d)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no", "是", "否"):
        return value.strip().lower() in ("true", "1", "yes", "是")
    raise ValueError("expected true or false")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10]) if len(value.strip()) >= 10 else date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("expected a date like 2026-11-30")


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("expected a date-time like 2026-11-30T08:00:00+08:00") from None
    else:
        raise ValueError("expected a date-time like 2026-11-30T08:00:00+08:00")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def coerce(field: FieldSpec, value: Any) -> Any:
    """The stored Python value of ``value`` for ``field`` (None stays None)."""
    if value is None:
        return None
    t = field.value_type if field.type != "formula" else field.value_type
    if t in ("text", "long_text", "barcode", "attachment", "image", "user", "auto_number"):
        if isinstance(value, str) and t != "long_text":
            value = value.strip()
        return _text(field, value) if t in ("text", "barcode") or t in COLUMN_LENGTH else _text_unbounded(value)
    if t == "email":
        text = _text(field, value).strip()
        if text and not EMAIL_RE.match(text):
            raise ValueError("not an email address")
        return text
    if t == "url":
        text = _text(field, value).strip()
        if text and not URL_RE.match(text):
            raise ValueError("not a URL (http://... or https://...)")
        return text
    if t == "phone":
        text = _text(field, value).strip()
        if text and not PHONE_RE.match(text):
            raise ValueError("not a phone number")
        return text
    if t in ("decimal", "money", "percent"):
        return _decimal(field, value)
    if t == "integer":
        return _integer(value)
    if t == "duration":
        return parse_duration(value) if isinstance(value, str) else _integer(value)
    if t == "boolean":
        return _boolean(value)
    if t == "date":
        return _date(value)
    if t == "datetime":
        return _datetime(value)
    if t == "choice":
        choice = str(value) if not isinstance(value, (dict, list, bool)) else None
        if choice is None or choice not in field.choice_values:
            raise ValueError(f"must be one of: {', '.join(field.choice_values)}")
        return choice
    if t == "multi_choice":
        if not isinstance(value, list):
            raise ValueError("expected a list of choices")
        bad = [v for v in value if str(v) not in field.choice_values]
        if bad:
            raise ValueError(f"unknown choice(s) {bad}; allowed: {', '.join(field.choice_values)}")
        return [str(v) for v in value]
    if t == "link":
        if isinstance(value, dict) and "id" in value:
            value = value["id"]
        rid = _integer(value)
        if not 0 < rid <= MAX_ROW_ID:  # the link column is a 32-bit INTEGER on both databases
            raise ValueError("not a record id")
        return rid
    if t == "geo":
        if not (isinstance(value, dict) and {"lat", "lng"} <= set(value)):
            raise ValueError('expected {"lat": ..., "lng": ...}')
        lat, lng = float(value["lat"]), float(value["lng"])
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValueError("latitude or longitude out of range")
        return {"lat": str(value["lat"]), "lng": str(value["lng"])}
    if t == "json":
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError("not JSON-serialisable") from None
        return value
    raise ValueError(f"a {field.type} field takes no direct value")


def _text_unbounded(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError("expected text")
    return str(value)


def to_json(value: Any) -> Any:
    """A JSON-ready form of a stored value: Decimal -> "12.50", date -> ISO string."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value

"""The keyset cursor of record lists: ``[sort value, id]`` as URL-safe base64 JSON.

A cursor comes back from the client, so decoding trusts nothing: the JSON must be a pair,
the id a row id, and the value of the very type the sort column holds (an integer within
64 bits, text without NUL, a boolean, or a tagged decimal/date/date-time); anything else
is 422 ``cursor.invalid``, never a type error or an overflow in the database driver.

A cursor carries the sort value in clear. That is safe because a list may only be sorted
by a field the caller reads in full (:meth:`AccessPolicy.list_sort`): never by a hidden
or masked one, whose value (or order) the cursor would otherwise give away."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from jimu.core.errors import FieldError, ValidationError
from jimu.core.ids import MAX_ID, parse_id
from jimu.platform.specs import EntitySpec

__all__ = ["encode_cursor", "decode_cursor", "sort_kind"]

_SYSTEM_KINDS = {"id": "id", "version": "int", "created_at": "datetime", "updated_at": "datetime",
                 "created_by": "str", "updated_by": "str"}
_FIELD_KINDS = {"integer": "int", "duration": "int", "link": "int", "decimal": "Decimal", "money": "Decimal",
                "percent": "Decimal", "boolean": "bool", "date": "date", "datetime": "datetime"}
MAX_CURSOR = 4096


def sort_kind(ent: EntitySpec, key: str) -> str:
    """The type of the values of sort key ``key``: id, int, str, bool, Decimal, date, datetime."""
    if key in _SYSTEM_KINDS:
        return _SYSTEM_KINDS[key]
    f = ent.field(key)
    return _FIELD_KINDS.get(f.value_type, "str") if f is not None else "str"


def encode_cursor(value: Any, rid: int) -> str:
    """The cursor after the row with sort value ``value`` and id ``rid``."""
    if isinstance(value, (Decimal, datetime, date)):
        value = {"t": type(value).__name__, "v": str(value) if isinstance(value, Decimal) else value.isoformat()}
    raw = orjson.dumps([value, rid])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid() -> ValidationError:
    return ValidationError("invalid cursor", code="cursor.invalid",
                           errors=[FieldError("cursor", "cursor.invalid", "pass next_cursor from the previous page")])


def _value(kind: str, v: Any) -> Any:
    """The decoded sort value, or ValueError when it is not a ``kind`` value."""
    if v is None:
        return None
    if kind in ("int", "id"):
        if isinstance(v, bool) or not isinstance(v, int) or abs(v) > MAX_ID:
            raise ValueError
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            raise ValueError
        return v
    if kind == "str":
        if not isinstance(v, str) or "\x00" in v:
            raise ValueError
        return v
    if not isinstance(v, dict) or v.get("t") != kind or not isinstance(v.get("v"), str) or len(v) != 2:
        raise ValueError
    text = v["v"]
    if kind == "Decimal":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError from None
        if not number.is_finite():
            raise ValueError
        return number
    if kind == "date":
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError
    return moment


def decode_cursor(cursor: str, kind: str, *, nullable: bool = True) -> tuple[Any, int]:
    """(sort value, id) of a cursor for a list sorted by a ``kind`` key (422 otherwise);
    a null value only when the sort column is ``nullable``."""
    if len(cursor) > MAX_CURSOR:
        raise _invalid()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        pair = orjson.loads(raw)
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError
        rid = parse_id(pair[1])
        if rid is None:
            raise ValueError
        value = _value(kind, pair[0])
        if value is None and not nullable:
            raise ValueError
        if kind == "id" and value != rid:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise _invalid() from None
    return value, rid

"""The message format between the parent and a sandbox worker: JSON with tagged
Decimal/date/datetime values. JSON rather than pickle, so a compromised child can never
make the parent execute anything by what it sends."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads", "MAX_MESSAGE"]

MAX_MESSAGE = 4 * 1024 * 1024


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$dec": format(value, "f")}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} values cannot cross the sandbox boundary")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if "$dec" in obj:
            return Decimal(obj["$dec"])
        if "$dt" in obj:
            return datetime.fromisoformat(obj["$dt"])
        if "$d" in obj:
            return date.fromisoformat(obj["$d"])
    return obj


def dumps(msg: Any) -> bytes:
    """Encode one message."""
    return json.dumps(msg, default=_default, ensure_ascii=False).encode()


def loads(data: bytes) -> Any:
    """Decode one message (size-checked by the caller)."""
    return json.loads(data, object_hook=_hook)

"""Hard maxima of a script's limits. An automation's script action may ask for less CPU
or wall-clock time than these, never more: the spec validator refuses a larger (or
non-positive, or non-numeric) value when the draft is saved (422, ``AUT-E005``), and
:func:`script_limits` clamps again at run time, so a spec stored before the check
cannot buy more either."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_CPU", "DEFAULT_WALL", "MAX_CPU", "MAX_WALL", "limit_problems", "script_limits"]

DEFAULT_CPU = 1.0
DEFAULT_WALL = 5.0
MAX_CPU = 5.0
MAX_WALL = 15.0
_KEYS = (("cpu", DEFAULT_CPU, MAX_CPU), ("timeout", DEFAULT_WALL, MAX_WALL))


def _seconds(value: Any) -> float | None:
    """A positive finite number of seconds from a spec value (numbers may be stored as
    decimal text), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        out = float(value)
    except ValueError:
        return None
    return out if math.isfinite(out) and out > 0 else None


def limit_problems(action: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, message) for each of the action's ``cpu``/``timeout`` outside (0, maximum]."""
    out = []
    for key, _default, top in _KEYS:
        if key not in action:
            continue
        value = action[key]
        seconds = _seconds(value)
        if seconds is None or seconds > top:
            out.append((key, f"{key} must be a number of seconds above 0 and at most {top:g} (got {value!r})"))
    return out


def script_limits(action: Mapping[str, Any]) -> tuple[float, float]:
    """(cpu, wall) seconds for a script action: its own values clamped to the maxima,
    the defaults when missing or invalid."""
    out = []
    for key, default, top in _KEYS:
        seconds = _seconds(action.get(key, default))
        out.append(min(default if seconds is None else seconds, top))
    return out[0], out[1]

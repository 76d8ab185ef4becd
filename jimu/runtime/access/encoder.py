"""A compiled row encoder for list pages: database rows straight to the caller's JSON
objects, with the same output as :meth:`AccessPolicy.render_many` on the records those
rows make.

``render_many`` walks a plan per value (a type test, a dict lookup, a branch per field).
A list page repeats that walk for 50 rows of the same shape, so this module writes the
walk out once, as a small Python function per (published spec, role set, entity, listed
columns, ``fields``): one dict display per row, each value converted by what its column
holds. Datetimes and dates are left to orjson (``json_bytes``), which writes them as
``isoformat()`` does; Decimals become fixed-point text here (orjson has no Decimal, and
``str()`` could write an exponent). Masked fields still evaluate their compiled mask on the
row's record, with the caller's environment, exactly as ``render_many`` does.

The generated source holds only indexes and ``repr()`` of field names, never data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jimu.core.errors import ExpressionError
from jimu.platform.db import DecimalType, TZDateTime
from jimu.platform.expressions import Env
from jimu.runtime.records.codec import SYSTEM_FIELDS

if TYPE_CHECKING:
    from jimu.runtime.access.policy import AccessPolicy

__all__ = ["list_encoder"]

Encoder = Callable[[Sequence[Any], Env], list[dict[str, Any]]]


def _mask(compiled: Any, record: dict[str, Any], env: Env, failed: str, to_json: Callable[[Any], Any]) -> Any:
    if compiled is None:
        return failed
    try:
        return to_json(compiled.evaluate(record, env))
    except ExpressionError:
        return failed


def _value_code(i: int, column: sa.Column[Any]) -> str:
    """Python source for the JSON form of the row's value ``i`` (held in ``v{i}``)."""
    v = f"r[{i}]"
    if isinstance(column.type, DecimalType):
        return f"(None if {v} is None else _fmt({v}, 'f') if type({v}) is _D else _json({v}))"
    if isinstance(column.type, TZDateTime | sa.Date):
        # aware datetimes (TZDateTime reads them so) and dates: orjson writes isoformat()
        return f"({v} if type({v}) in _NATIVE and ({v}.__class__ is _date or {v}.tzinfo is not None) else _json({v}))"
    return f"({v} if type({v}) in _PLAIN else _json({v}))"


def _build(policy: AccessPolicy, entity: str, keys: tuple[str, ...], columns: Sequence[sa.Column[Any]],
           fields: tuple[str, ...] | None) -> Encoder:
    from jimu.runtime.access.policy import _MASK_FIELD, _PLAIN, MASK_FAILED, _json

    index = {k: i for i, k in enumerate(keys)}
    items: list[str] = []
    masks: list[Any] = []
    for k in SYSTEM_FIELDS:
        if k in index:
            items.append(f"{k!r}: {_value_code(index[k], columns[index[k]])}")
    wanted = None if fields is None else set(fields)
    for name, how, extra in policy._plan(entity):
        if name not in index or (wanted is not None and name not in wanted):
            continue  # not a listed column (child tables): render_many skips it too
        if how == _MASK_FIELD:
            items.append(f"{name!r}: _mask(_m[{len(masks)}], rec, env, _failed, _json)")
            masks.append(extra)
        else:  # plain or a link's id (lists never carry expanded links here)
            items.append(f"{name!r}: {_value_code(index[name], columns[index[name]])}")
    rec = "        rec = dict(zip(_keys, r))\n" if masks else ""
    source = ("def encode(rows, env):\n"
              "    out = []\n"
              "    for r in rows:\n"
              f"{rec}"
              f"        out.append({{{', '.join(items)}}})\n"
              "    return out\n")
    scope: dict[str, Any] = {"_fmt": format, "_D": Decimal, "_json": _json, "_PLAIN": _PLAIN,
                             "_NATIVE": frozenset({datetime, date}), "_date": date, "_mask": _mask,
                             "_m": masks, "_failed": MASK_FAILED, "_keys": keys}
    exec(compile(source, f"<jimu-list-encoder {policy.app}.{entity}>", "exec"), scope)  # noqa: S102 - generated above
    encode: Encoder = scope["encode"]
    return encode


def list_encoder(policy: AccessPolicy, entity: str, keys: tuple[str, ...], columns: Sequence[sa.Column[Any]],
                 fields: Sequence[str] | None = None) -> Encoder:
    """``encode(rows, env)``: the rows of a list projection (``keys`` name its columns,
    ``columns`` are the columns themselves) as the caller may see them. Cached on the
    runtime per role set, entity, projection and ``fields``: like the render plan, it
    lives as long as the published spec."""
    from jimu.runtime.access.policy import _cached

    wanted = None if fields is None else tuple(fields)
    return _cached(policy.rt, "_jimu_list_encoders", (policy._role_key, entity, keys, wanted),  # type: ignore[no-any-return]
                   lambda: _build(policy, entity, keys, columns, wanted))

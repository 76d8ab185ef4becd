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
row's record, with the caller's environment, exactly as ``render_many`` does, except
the simplest forms (``ROUND(field, n)``, a field, a constant), which run as a closure on
the column's raw value with the same result (:mod:`jimu.runtime.access.maskfast`).

The rows hold decimal and timestamp columns raw (``records.query``: no SQLAlchemy result
processing per value): the encoder writes their JSON text itself, with fast paths for what
the drivers hand over most (SQLite's integers, short floats and timestamp text) and the
column type's own conversion (``read_raw``) for anything else, so the text is the same as
``render_many`` writes for the converted value. A mask's record holds the converted values
of the fields the mask reads (all of them when it follows a link or a child table).

The generated source holds only indexes and ``repr()`` of field names, never data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jimu.core.errors import ExpressionError
from jimu.platform.db import DecimalType, TZDateTime, read_raw
from jimu.platform.expressions import Env
from jimu.runtime.access.maskfast import mask_closure, round_form
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


def decimal_text(type_: DecimalType, dialect: sa.Dialect, to_json: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The JSON text of a decimal column's raw driver value: what ``format(read(v), "f")``
    gives (``read``: the column's conversion, quantized to its scale), without building a
    Decimal for an integer or a float whose shortest repr has at most ``scale`` decimals
    (SQLite's NUMERIC storage of most values): the repr padded with zeros is that text."""
    read = read_raw(type_, dialect)
    scale = type_.scale
    exact = type_._quantum is not None and scale >= 0
    zeros = "0" * max(scale, 0)
    fmt = format
    pg_text = dialect.name == "postgresql"
    quantum = type_._quantum

    def text(v: Any) -> Any:
        kind = type(v)
        if kind is str and pg_text:  # PostgreSQL's numeric as text (``CAST(col AS TEXT)``)
            if exact and plain_numeric(v, scale):
                return v
            v, kind = Decimal(v), Decimal  # another scale, NaN, infinities: as a Decimal would go
        if kind is Decimal and exact and v.is_finite():  # PostgreSQL's numeric: what ``read`` does, inline
            return fmt(v.quantize(quantum, ROUND_HALF_UP), "f")
        if exact:
            if kind is int:
                return f"{v}.{zeros}" if scale else str(v)
            if kind is float and scale:
                r = repr(v)
                dot = r.find(".")
                if dot > 0 and len(r) - dot - 1 <= scale and "e" not in r:
                    return r + zeros[:scale - (len(r) - dot - 1)]
        if v is None:
            return None
        d = read(v)
        return fmt(d, "f") if type(d) is Decimal else to_json(d)

    return text


def plain_numeric(v: str, scale: int) -> bool:
    """Whether PostgreSQL's text of a numeric is already the JSON text of the column's
    value: exactly ``scale`` decimals (what ``NUMERIC(p, scale)`` prints; never an
    exponent), not ``NaN`` or an infinity."""
    if scale:
        return v[-scale - 1:-scale] == "." and v[-1:].isdigit()
    return v[-1:].isdigit() and "." not in v


def timestamp_json(type_: TZDateTime, dialect: sa.Dialect, to_json: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The JSON value of a timestamp column's raw driver value: SQLite's stored text
    (``YYYY-MM-DD HH:MM:SS.ffffff``, naive UTC) rewritten as the ISO 8601 text orjson writes
    for the aware datetime (no fraction when it is zero, ``+00:00``); anything else
    converted by the column's own conversion and left to orjson when aware."""
    read = read_raw(type_, dialect)

    def value(v: Any) -> Any:
        if type(v) is datetime and v.tzinfo is not None:  # PostgreSQL's timestamptz: ``read`` keeps it
            return v
        if type(v) is str and len(v) == 26 and v[10] == " " and v[19] == "." and v[20:].isdigit():
            return f"{v[:10]}T{v[11:19]}+00:00" if v[20:] == "000000" else f"{v[:10]}T{v[11:]}+00:00"
        d = read(v)
        return d if type(d) is datetime and d.tzinfo is not None else to_json(d)

    return value


def _value_code(i: int, column: sa.Column[Any], converters: list[Any], dialect: sa.Dialect,
                to_json: Callable[[Any], Any]) -> str:
    """Python source for the JSON form of the row's value ``i`` (``r[i]``, raw for decimal
    and timestamp columns); a converter it calls is appended to ``converters``."""
    v = f"r[{i}]"
    if isinstance(column.type, DecimalType):
        converters.append(decimal_text(column.type, dialect, to_json))
        call = f"_c[{len(converters) - 1}]({v})"
        scale = column.type.scale
        if dialect.name != "postgresql" or column.type._quantum is None or scale <= 0:
            return call
        # PostgreSQL's text of a NUMERIC(p, scale) is the JSON text: ``plain_numeric`` inline
        return f"({v} if {v}.__class__ is str and {v}[{-scale - 1}:{-scale}] == '.' and {v}[-1:].isdigit() else {call})"
    if isinstance(column.type, TZDateTime):
        converters.append(timestamp_json(column.type, dialect, to_json))
        call = f"_c[{len(converters) - 1}]({v})"
        if dialect.name != "postgresql":
            return call
        # timestamptz: an aware datetime, left to orjson (``timestamp_json``'s first test, inline)
        return f"({v} if {v}.__class__ is _datetime and {v}.tzinfo is not None else {call})"
    if isinstance(column.type, sa.Date):
        # aware datetimes and dates: orjson writes isoformat()
        return f"({v} if type({v}) in _NATIVE and ({v}.__class__ is _date or {v}.tzinfo is not None) else _json({v}))"
    return f"({v} if type({v}) in _PLAIN else _json({v}))"


def _record_code(keys: tuple[str, ...], columns: Sequence[sa.Column[Any]], masks: list[Any],
                 readers: list[Any], dialect: sa.Dialect) -> str:
    """Python source of the record a mask reads: the converted values of the fields the
    masks read (with ``id``), or of every column when one reads beyond the record."""
    wanted: set[str] | None = {"id"}
    for compiled in masks:
        if compiled is None:
            continue
        if not compiled.local or wanted is None:
            wanted = None
            continue
        wanted |= set(compiled.dependencies)
    items = []
    for i, k in enumerate(keys):
        if wanted is not None and k not in wanted:
            continue
        read = raw_reader(columns[i].type, dialect)
        if read is None:
            items.append(f"{k!r}: r[{i}]")
        else:
            readers.append(read)
            items.append(f"{k!r}: _r[{len(readers) - 1}](r[{i}])")
    return "{" + ", ".join(items) + "}"


def raw_reader(type_: Any, dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """``read_raw(type_, dialect)`` with PostgreSQL's Decimals of a scaled decimal column
    quantized inline (what the column's conversion does to them) instead of through
    ``process_result_value`` and ``to_decimal``."""
    read = read_raw(type_, dialect)
    quantum = getattr(type_, "_quantum", None) if isinstance(type_, DecimalType) else None
    if read is None or quantum is None or type_.scale < 0:
        return read
    slow = read
    pg_text = dialect.name == "postgresql"

    def fast(v: Any) -> Any:
        if type(v) is str and pg_text:  # a numeric selected as its text
            v = Decimal(v)
        if type(v) is Decimal and v.is_finite():
            return v.quantize(quantum, ROUND_HALF_UP)
        return slow(v)

    return fast


def _fast_mask(compiled: Any, index: dict[str, int], columns: Sequence[sa.Column[Any]],
               dialect: sa.Dialect) -> tuple[str | None, Callable[[Any], Any]] | None:
    """The mask as a closure on one listed column's raw value (:mod:`maskfast`), or None
    for the general path (a mask that failed to compile, reads an unlisted field, or has
    another form)."""
    from jimu.runtime.access.policy import MASK_FAILED, _json

    if compiled is None or not set(compiled.dependencies) <= set(index):
        return None
    return mask_closure(compiled, lambda f: raw_reader(columns[index[f]].type, dialect), _json, MASK_FAILED)


def _round_text_code(compiled: Any, index: dict[str, int], columns: Sequence[sa.Column[Any]], dialect: sa.Dialect,
                     call: str, quanta: list[Decimal]) -> str | None:
    """Inline source for a ``ROUND(field, n)`` mask over PostgreSQL's text of a
    ``NUMERIC(p, s)`` column (0 <= n <= s): when the text has exactly ``s`` decimals
    (:func:`plain_numeric`) it is a finite Decimal the column's conversion leaves as it is,
    and the closure's answer is ``format(Decimal(text).quantize(10 ** -n), "f")``
    (:func:`maskfast.round_form`); any other value goes to the closure ``call``."""
    form = round_form(compiled)
    if form is None or dialect.name != "postgresql":
        return None
    field, n = form
    type_ = columns[index[field]].type
    if not isinstance(type_, DecimalType) or type_._quantum is None or not 0 <= n <= type_.scale or type_.scale <= 0:
        return None
    from jimu.runtime.access.policy import _json

    if _json(Decimal("-0.50")) != "-0.50":  # the closure's to_json writes Decimals with format(d, "f")
        return None
    quanta.append(Decimal(1).scaleb(-n))
    v, s = f"r[{index[field]}]", type_.scale
    return (f"(_fmt(_D({v}).quantize(_q[{len(quanta) - 1}], rounding=_HU), 'f') if {v}.__class__ is str "
            f"and {v}[{-s - 1}:{-s}] == '.' and {v}[-1:].isdigit() else {call})")


def _build(policy: AccessPolicy, entity: str, keys: tuple[str, ...], columns: Sequence[sa.Column[Any]],
           fields: tuple[str, ...] | None, dialect: sa.Dialect) -> Encoder:
    from jimu.runtime.access.policy import _MASK_FIELD, _PLAIN, MASK_FAILED, _json

    index = {k: i for i, k in enumerate(keys)}
    items: list[str] = []
    masks: list[Any] = []
    converters: list[Any] = []
    readers: list[Any] = []
    quanta: list[Decimal] = []
    for k in SYSTEM_FIELDS:
        if k in index:
            items.append(f"{k!r}: {_value_code(index[k], columns[index[k]], converters, dialect, _json)}")
    wanted = None if fields is None else set(fields)
    for name, how, extra in policy._plan(entity):
        if name not in index or (wanted is not None and name not in wanted):
            continue  # not a listed column (child tables): render_many skips it too
        if how == _MASK_FIELD:
            fast = _fast_mask(extra, index, columns, dialect)
            if fast is not None:  # ROUND(field, n), a field, a constant: a closure on the raw value
                field, fn = fast
                converters.append(fn)
                call = f"_c[{len(converters) - 1}]({'None' if field is None else f'r[{index[field]}]'})"
                inline = _round_text_code(extra, index, columns, dialect, call, quanta)
                items.append(f"{name!r}: {inline or call}")
                continue
            items.append(f"{name!r}: _mask(_m[{len(masks)}], rec, env, _failed, _json)")
            masks.append(extra)
        else:  # plain or a link's id (lists never carry expanded links here)
            items.append(f"{name!r}: {_value_code(index[name], columns[index[name]], converters, dialect, _json)}")
    rec = f"        rec = {_record_code(keys, columns, masks, readers, dialect)}\n" if masks else ""
    source = ("def encode(rows, env):\n"
              "    out = []\n"
              "    for r in rows:\n"
              f"{rec}"
              f"        out.append({{{', '.join(items)}}})\n"
              "    return out\n")
    scope: dict[str, Any] = {"_json": _json, "_PLAIN": _PLAIN, "_c": converters, "_r": readers, "_q": quanta,
                             "_D": Decimal, "_fmt": format, "_HU": ROUND_HALF_UP, "_datetime": datetime,
                             "_NATIVE": frozenset({datetime, date}), "_date": date, "_mask": _mask,
                             "_m": masks, "_failed": MASK_FAILED}
    exec(compile(source, f"<jimu-list-encoder {policy.app}.{entity}>", "exec"), scope)  # noqa: S102 - generated above
    encode: Encoder = scope["encode"]
    return encode


def list_encoder(policy: AccessPolicy, entity: str, keys: tuple[str, ...], columns: Sequence[sa.Column[Any]],
                 fields: Sequence[str] | None = None, *, dialect: sa.Dialect) -> Encoder:
    """``encode(rows, env)``: the rows of a list projection (``keys`` name its columns,
    ``columns`` are the columns themselves; decimal and timestamp values raw from
    ``dialect``'s driver) as the caller may see them. Cached on the runtime per role set,
    entity, projection and ``fields``: like the render plan, it lives as long as the
    published spec."""
    from jimu.runtime.access.policy import _cached

    wanted = None if fields is None else tuple(fields)
    return _cached(policy.rt, "_jimu_list_encoders", (policy._role_key, entity, keys, wanted, dialect.name),  # type: ignore[no-any-return]
                   lambda: _build(policy, entity, keys, columns, wanted, dialect))

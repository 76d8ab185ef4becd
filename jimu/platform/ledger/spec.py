"""The run-time view of a ledger spec: dimensions, keys and exact quantity units."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jimu.core.errors import ValidationError
from jimu.core.money import to_decimal
from jimu.platform.ledger.tables import BUCKETS, COST_SCALE, DIM_SLOTS
from jimu.platform.specs.kinds import LedgerSpec

__all__ = ["Ledger", "Doc", "LedgerLike", "as_ledger", "dim_text", "cost_to_units", "units_to_cost"]


def dim_text(value: Any) -> str | None:
    """The canonical text of one dimension value (record ids 7 and "7" are the same)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(f"a boolean is not a dimension value: {value!r}")
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Doc:
    """The document a move belongs to (entity, record id, line id, transition)."""

    entity: str | None = None
    id: Any = None
    line: Any = None
    transition: str | None = None

    def columns(self) -> dict[str, str | None]:
        """The movement/reservation columns for this document."""
        return {
            "doc_entity": self.entity,
            "doc_id": dim_text(self.id),
            "doc_line": dim_text(self.line),
        }


_PLAIN = frozenset({str, int, type(None)})
_key_texts: dict[tuple[Any, ...], tuple[str, str]] = {}


@dataclass(frozen=True)
class Ledger:
    """A ledger as the move functions need it: name, ordered dimensions, scale, buckets."""

    name: str
    dimensions: tuple[str, ...] = ("item", "warehouse")
    required: tuple[str, ...] = ("item", "warehouse")
    buckets: tuple[str, ...] = BUCKETS
    scale: int = 4
    allow_negative: bool = False

    def __post_init__(self) -> None:
        if len(self.dimensions) > DIM_SLOTS:
            raise ValidationError(f"ledger {self.name}: at most {DIM_SLOTS} dimensions")
        unknown = [b for b in self.buckets if b not in BUCKETS and b != "available"]
        if unknown:
            raise ValidationError(f"ledger {self.name}: unknown buckets {unknown}")
        if not 0 <= self.scale <= 9:
            raise ValidationError(f"ledger {self.name}: scale must be 0..9")

    @classmethod
    def from_spec(cls, spec: LedgerSpec) -> Ledger:
        """Build from a validated :class:`LedgerSpec`."""
        return cls(
            name=spec.name,
            dimensions=tuple(d.name for d in spec.dimensions) or ("item", "warehouse"),
            required=tuple(d.name for d in spec.dimensions if d.required)
            if spec.dimensions
            else ("item", "warehouse"),
            buckets=tuple(spec.buckets),
            scale=spec.scale,
            allow_negative=spec.allow_negative,
        )

    # -- dimensions -------------------------------------------------------------------
    def dims(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The full dimension mapping (missing optional ones None); refuses unknown or
        missing required dimensions."""
        unknown = set(values) - set(self.dimensions)
        if unknown:
            raise ValidationError(f"ledger {self.name}: unknown dimensions {sorted(unknown)}")
        out = {d: values.get(d) for d in self.dimensions}
        missing = [d for d in self.required if out[d] is None]
        if missing:
            raise ValidationError(f"ledger {self.name}: missing dimensions {missing}")
        return out

    def key(self, dims: Mapping[str, Any]) -> str:
        """The balance row key of a full dimension mapping (stable, sortable text)."""
        return json.dumps([dim_text(dims.get(d)) for d in self.dimensions], ensure_ascii=False)

    def key_texts(self, dims: Mapping[str, Any]) -> tuple[str, str]:
        """(:meth:`key`, the ``dims`` JSON column text) of a full dimension mapping. Kept
        per distinct mapping of plain values (str, int, None: equal values, equal text)."""
        items = tuple(dims.items())
        if not _PLAIN.issuperset(map(type, dims.values())):
            return self.key(dims), json.dumps(dict(dims))
        ck = (self.dimensions, items)
        texts = _key_texts.get(ck)
        if texts is None:
            if len(_key_texts) >= 4096:
                _key_texts.clear()
            texts = _key_texts[ck] = (self.key(dims), json.dumps(dict(dims)))
        return texts

    def slots(self, dims: Mapping[str, Any]) -> dict[str, str | None]:
        """The indexed ``d1..dN`` columns for a dimension mapping."""
        return {f"d{i}": dim_text(dims.get(d)) for i, d in enumerate(self.dimensions, 1)}

    def slot_filters(self, filters: Mapping[str, Any]) -> dict[str, str | None]:
        """``d<i>`` column -> text for the given dimension filters (unknown names refused)."""
        unknown = set(filters) - set(self.dimensions)
        if unknown:
            raise ValidationError(f"ledger {self.name}: unknown dimensions {sorted(unknown)}")
        return {f"d{self.dimensions.index(n) + 1}": dim_text(v) for n, v in filters.items()}

    # -- quantities -------------------------------------------------------------------
    def to_units(self, qty: Any, field: str = "qty") -> int:
        """``qty`` as an exact integer of ``10**-scale`` units; more decimals are refused."""
        if type(qty) is int:
            return int(qty * 10**self.scale)
        d = to_decimal(qty)
        units = d.scaleb(self.scale)
        if units != units.to_integral_value():
            raise ValidationError(
                f"{field}: {d} has more than {self.scale} decimal places (ledger {self.name})"
            )
        return int(units)

    def to_qty(self, units: int) -> Decimal:
        """Integer units back to a Decimal with the ledger's scale."""
        return Decimal(int(units)).scaleb(-self.scale)

    def describe(self, dims: Mapping[str, Any]) -> str:
        """Human text for error messages: ``item 1, warehouse 2``."""
        return ", ".join(f"{d} {dims[d]}" for d in self.dimensions if dims.get(d) is not None)


LedgerLike = Ledger | LedgerSpec


# The converted ledgers by what they are built from: a spec object may be edited in place
# (pydantic models are mutable), so the cache is keyed by its content, not its identity.
_from_spec: dict[tuple[Any, ...], Ledger] = {}


def as_ledger(ledger: LedgerLike) -> Ledger:
    """Accept a :class:`Ledger` or a :class:`LedgerSpec` (converted and validated once
    per distinct spec content)."""
    if isinstance(ledger, Ledger):
        return ledger
    fp = (ledger.name, tuple((d.name, d.required) for d in ledger.dimensions), tuple(ledger.buckets),
          ledger.scale, ledger.allow_negative)
    lg = _from_spec.get(fp)
    if lg is None:
        if len(_from_spec) >= 256:
            _from_spec.clear()
        lg = _from_spec[fp] = Ledger.from_spec(ledger)
    return lg


def cost_to_units(cost: Any) -> int:
    """A unit cost or value as an integer of ``10**-COST_SCALE`` (half-up rounding)."""
    from jimu.core.money import quantize

    return int(quantize(to_decimal(cost), COST_SCALE).scaleb(COST_SCALE))


def units_to_cost(units: int) -> Decimal:
    """Integer cost units back to a Decimal."""
    return Decimal(int(units)).scaleb(-COST_SCALE)

"""Decimal helpers: money and quantities are Decimal end to end, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["to_decimal", "quantize", "decimal_str", "DecimalInputError"]


class DecimalInputError(ValueError):
    """A value that cannot be read as an exact decimal."""


def to_decimal(value: object) -> Decimal:
    """Read ``value`` as an exact Decimal. Floats are taken through ``repr`` (shortest form),
    booleans are refused, strings must be plain decimal numbers."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise DecimalInputError(f"not a finite number: {value}")
        return value
    if isinstance(value, bool):
        raise DecimalInputError("a boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise DecimalInputError("not a finite number")
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise DecimalInputError(f"not a number: {value!r}") from None
        if not d.is_finite():
            raise DecimalInputError(f"not a finite number: {value!r}")
        return d
    raise DecimalInputError(f"not a number: {value!r}")


def quantize(value: Decimal, scale: int) -> Decimal:
    """Round half-up to ``scale`` decimal places (the commercial rounding users expect)."""
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def decimal_str(value: Decimal | None) -> str | None:
    """A plain (non-scientific) string for JSON, or None."""
    if value is None:
        return None
    return format(value, "f")

"""Currencies of the money CBUs: decimal places per currency and rounding into them.

Amounts keep their own currency (an invoice in USD holds USD figures); each document also
carries ``fx_rate`` (units of the base currency per unit of its own) and its figures in
the base currency, rounded to the base currency's places. Rounding is half-up on exact
decimals (``jimu.core.money.quantize``): money never passes through float.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from jimu.core.money import quantize, to_decimal

__all__ = ["BASE_CURRENCY", "PLACES", "places", "round_to", "to_base", "settings"]

BASE_CURRENCY = "CNY"
# ISO 4217 minor units of the currencies the invoice CBU offers.
PLACES: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "HKD": 2, "JPY": 0, "KRW": 0}


def places(currency: str | None) -> int:
    """Decimal places of ``currency`` (2 for one not listed)."""
    return PLACES.get(str(currency or BASE_CURRENCY).upper(), 2)


def round_to(value: Any, currency: str | None) -> Decimal:
    """``value`` rounded half-up to ``currency``'s places."""
    return quantize(to_decimal(value), places(currency))


def to_base(amount: Any, fx_rate: Any, base: str = BASE_CURRENCY) -> Decimal:
    """``amount`` × ``fx_rate`` in the base currency, rounded to its places."""
    return round_to(to_decimal(amount) * to_decimal(fx_rate if fx_rate is not None else 1), base)


def settings(spec: Any) -> dict[str, Any]:
    """The app's ``money`` settings (written by the invoice CBU's params):
    ``payment_terms_days``, ``base_currency``, ``auto_invoice``."""
    raw = getattr(spec, "settings", {}) or {}
    got = raw.get("money") if isinstance(raw, Mapping) else None
    out: dict[str, Any] = {"payment_terms_days": 30, "base_currency": BASE_CURRENCY, "auto_invoice": False}
    if isinstance(got, Mapping):
        out.update({k: v for k, v in got.items() if v is not None})
    return out

"""Exchange rates as records (``fx_rate``: currency, rate_date, rate), entered or imported by
a user: nothing is fetched from a network. The rate of a day is the record of that
currency dated on or before the day, the latest date first (then the latest entered), so a
weekend uses Friday's rate. The base currency's rate is always 1.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError, ValidationError
from jimu.core.money import to_decimal

__all__ = ["FX_RATE", "rate_of_day", "rate_or_none", "rates_of_day"]

FX_RATE = "fx_rate"


def rate_or_none(conn: Connection, rt: Any, currency: str, day: date, base: str = "CNY") -> Decimal | None:
    """The rate of ``currency`` on ``day`` (module docstring), None when no record is dated
    on or before it (or the app keeps no rates)."""
    if str(currency) == base:
        return Decimal(1)
    if rt.spec.entity(FX_RATE) is None:
        return None
    t = rt.tables(FX_RATE)
    row = conn.execute(sa.select(t.c.rate).where(t.c.currency == str(currency), t.c.rate_date <= day)
                       .order_by(t.c.rate_date.desc(), t.c.id.desc()).limit(1)).first()
    return to_decimal(row[0]) if row is not None and row[0] is not None else None


def rate_of_day(conn: Connection, rt: Any, currency: str, day: date, base: str = "CNY", *,
                field: str = "fx_rate") -> Decimal:
    """:func:`rate_or_none`, or 422 ``fx.rate_missing`` naming the currency and the day."""
    rate = rate_or_none(conn, rt, currency, day, base)
    if rate is None:
        message = (f"no exchange rate of {currency} on or before {day.isoformat()}: enter one first / "
                   f"没有 {currency} 在 {day.isoformat()} 当日或之前的汇率,请先录入汇率")
        raise ValidationError(message, code="fx.rate_missing", errors=[FieldError(field, "fx.rate_missing", message)],
                              extra={"currency": str(currency), "date": day.isoformat()})
    return rate


def rates_of_day(conn: Connection, rt: Any, currencies: set[str], day: date, base: str = "CNY"
                 ) -> dict[str, Decimal | None]:
    """:func:`rate_or_none` for each of ``currencies``."""
    return {c: rate_or_none(conn, rt, c, day, base) for c in sorted(currencies)}

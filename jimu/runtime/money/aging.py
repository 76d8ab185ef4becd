"""Receivables and payables aging: open amounts in the base currency by partner and by
days past due (``0-30``, ``31-60``, ``61-90``, ``90+``) at the app clock's date.

One SQL aggregate over the invoice table (``GROUP BY`` partner with a ``CASE`` per
bucket), never a Python loop over invoices. The buckets compare ``due_date`` with three
cut-off dates computed once (today − 30, − 60, − 90 days), so the same statement runs on
both databases and can use an index on the due date. An invoice not yet due counts in
``0-30`` (0 days past due); one without a due date too.

Exactness: PostgreSQL sums NUMERIC exactly. SQLite keeps decimals as integers or 15-digit
reals, so there each open amount is summed as an integer number of minor units
(``ROUND(x * 100)``, exact below 10^13) and turned back into a Decimal here: no float
ever reaches a figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.money import decimal_str
from jimu.runtime.money.currency import places

__all__ = ["BUCKETS", "KINDS", "aging_statement", "aging_rows", "cutoffs"]

BUCKETS = ("0-30", "31-60", "61-90", "90+")
# report kind -> (invoice kind, partner field)
KINDS: dict[str, tuple[str, str]] = {"receivable": ("sales", "customer"), "payable": ("purchase", "supplier")}
OPEN_STATES = ("issued", "partially_paid")


def cutoffs(today: date) -> tuple[date, date, date]:
    """The due dates at which an invoice is 30, 60 and 90 days past due ``today``."""
    return today - timedelta(days=30), today - timedelta(days=60), today - timedelta(days=90)


def aging_statement(table: sa.Table, kind: str, today: date, *, sqlite: bool, scale: int = 2,
                    where: Any = None) -> sa.Select[Any]:
    """The one aggregate: partner, the four buckets and the total (minor units on SQLite)."""
    inv_kind, partner = KINDS[kind]
    c = table.c
    amount: Any = c.open_base_amount
    if sqlite:
        amount = sa.cast(sa.func.round(c.open_base_amount * (10 ** scale)), sa.BigInteger)
    d30, d60, d90 = cutoffs(today)
    due = c.due_date
    buckets = [
        sa.or_(due.is_(None), due >= d30),
        sa.and_(due < d30, due >= d60),
        sa.and_(due < d60, due >= d90),
        due < d90,
    ]
    cols = [sa.func.coalesce(sa.func.sum(sa.case((cond, amount), else_=0)), 0).label(f"b{i}")
            for i, cond in enumerate(buckets)]
    stmt = (sa.select(c[partner].label("partner"), *cols, sa.func.coalesce(sa.func.sum(amount), 0).label("total"))
            .where(c.kind == inv_kind, c.state.in_(OPEN_STATES))
            .group_by(c[partner]).order_by(c[partner]))
    if where is not None:
        stmt = stmt.where(where)
    return stmt


def _figure(value: Any, sqlite: bool, scale: int) -> Decimal:
    """A summed figure as a Decimal with ``scale`` places: minor units on SQLite (an exact
    integer), a NUMERIC on PostgreSQL (a Decimal, or the integer 0 of COALESCE)."""
    if value is None:
        return _zero(scale)
    if sqlite:
        return Decimal(int(value)).scaleb(-scale)
    return (value if isinstance(value, Decimal) else Decimal(value)) + _zero(scale)


_ZEROS: dict[int, Decimal] = {}


def _zero(scale: int) -> Decimal:
    """0 with ``scale`` places (adding it gives a sum at least that many places)."""
    hit = _ZEROS.get(scale)
    if hit is None:
        hit = _ZEROS[scale] = Decimal(0).scaleb(-scale)
    return hit


def aging_rows(conn: Connection, table: sa.Table, kind: str, today: date, *, base_currency: str = "CNY",
               where: Any = None) -> list[dict[str, Any]]:
    """The report rows ``{partner, "0-30", "31-60", "61-90", "90+", total}`` (Decimals)."""
    sqlite = conn.dialect.name == "sqlite"
    scale = places(base_currency)
    rows = conn.execute(aging_statement(table, kind, today, sqlite=sqlite, scale=scale, where=where)).all()
    out = []
    for r in rows:
        rec: dict[str, Any] = {"partner": r.partner}
        for i, name in enumerate(BUCKETS):
            rec[name] = _figure(getattr(r, f"b{i}"), sqlite, scale)
        rec["total"] = _figure(r.total, sqlite, scale)
        out.append(rec)
    return out


def render(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON (decimals as strings)."""
    return [{k: decimal_str(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in rows]

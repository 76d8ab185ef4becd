"""Supplier scorecards (DESIGN 16, ``supplier_scorecard`` unit): per supplier per month,
from the stock ledger's receipt movements and the purchase returns.

For the period's month (UTC calendar month):
- receipts: the purchase-order receipt movements of the stock ledger (to on_hand) in the
  month; one receipt is one receive of one order (its movements share the order and the
  instant). On time when its date is on or before the order's ``expected_date`` (an order
  without one is on time). ``on_time_rate`` = on-time receipts / receipts.
- ``reject_rate`` = Σ qty of the month's shipped purchase-return lines with reason
  ``quality`` / Σ received qty of the month (null when nothing was received).
- ``price_variance`` = Σ (line price − item ``cost_price``) × received qty / Σ cost_price ×
  received qty over the received lines whose item has a standard cost (null without one):
  +0.05 is 5 % above standard.
- ``rank`` 1.. within the month: on-time rate high first, then reject rate low, then price
  variance low, then supplier id (nulls last).
Rates are Decimal rounded half-up to 4 places. Recalculating a month replaces its rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import FieldError, ValidationError
from jimu.core.money import quantize, to_decimal
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.ledger import as_ledger
from jimu.platform.ledger.tables import movement

__all__ = ["calculate_period", "month_bounds", "score_month"]

ROW = "supplier_scorecard"
PERIOD = "scorecard_period"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) in UTC of ``YYYY-MM`` (422 otherwise)."""
    try:
        y, m = (int(x) for x in month.split("-"))
        start = datetime(y, m, 1, tzinfo=UTC)
    except (ValueError, TypeError):
        message = f"{month!r} is not a month (YYYY-MM) / 月份格式为 YYYY-MM"
        raise ValidationError(message, code="scorecard.month", errors=[FieldError("month", "scorecard.month", message)]) from None
    end = datetime(y + (m == 12), 1 if m == 12 else m + 1, 1, tzinfo=UTC)
    return start, end


def _dec(v: Any) -> Decimal:
    return to_decimal(v) if v is not None else Decimal(0)


def _rate(num: Decimal, den: Decimal) -> Decimal | None:
    return quantize(num / den, 4) if den else None


def score_month(conn: Connection, rt: Any, month: str) -> list[dict[str, Any]]:
    """The scorecard rows of ``month`` (module docstring), ranked."""
    start, end = month_bounds(month)
    lg = as_ledger(rt.spec.ledger("stock"))
    po, pol, item = rt.tables("purchase_order"), rt.tables("purchase_order_line"), rt.tables("item")
    mv = movement
    rows = conn.execute(
        sa.select(mv.c.doc_id, mv.c.doc_line, mv.c.at, mv.c.d_on_hand, po.c.supplier, po.c.expected_date,
                  pol.c.price, item.c.cost_price)
        .select_from(mv.join(po, sa.cast(mv.c.doc_id, sa.String) == sa.cast(po.c.id, sa.String))
                     .outerjoin(pol, sa.cast(mv.c.doc_line, sa.String) == sa.cast(pol.c.id, sa.String))
                     .outerjoin(item, pol.c.item == item.c.id))
        .where(mv.c.app == rt.name, mv.c.ledger == lg.name, mv.c.doc_entity == "purchase_order",
               mv.c.d_on_hand > 0, mv.c.at >= start, mv.c.at < end)).all()
    acc: dict[int, dict[str, Any]] = {}

    def of(supplier: int) -> dict[str, Any]:
        return acc.setdefault(supplier, {"events": {}, "qty": Decimal(0), "rejected": Decimal(0),
                                         "dev": Decimal(0), "std": Decimal(0)})

    for r in rows:
        a = of(int(r.supplier))
        at = r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)
        due: date | None = r.expected_date
        a["events"][(str(r.doc_id), at)] = due is None or at.date() <= due
        qty = lg.to_qty(r.d_on_hand)
        a["qty"] += qty
        if r.cost_price is not None and r.price is not None and _dec(r.cost_price) > 0:
            a["dev"] += (_dec(r.price) - _dec(r.cost_price)) * qty
            a["std"] += _dec(r.cost_price) * qty
    if rt.spec.entity("purchase_return") is not None:
        pr, prl = rt.tables("purchase_return"), rt.tables("purchase_return_line")
        by = sa.func.coalesce(pr.c.supplier, po.c.supplier)
        for ret in conn.execute(sa.select(by.label("supplier"), sa.func.sum(prl.c.qty))
                              .select_from(prl.join(pr, prl.c._parent_id == pr.c.id)
                                           .join(po, pr.c.purchase_order == po.c.id))
                              .where(pr.c.state == "shipped", prl.c.reason == "quality",
                                     pr.c.return_date >= start.date(), pr.c.return_date < end.date())
                              .group_by(by)):
            of(int(ret[0]))["rejected"] += _dec(ret[1])
    out = []
    for supplier, a in acc.items():
        events = a["events"]
        out.append({"month": month, "supplier": supplier, "receipts": len(events),
                    "on_time_receipts": sum(1 for ok in events.values() if ok),
                    "on_time_rate": _rate(Decimal(sum(1 for ok in events.values() if ok)), Decimal(len(events))),
                    "received_qty": a["qty"], "rejected_qty": a["rejected"],
                    "reject_rate": _rate(a["rejected"], a["qty"]), "price_variance": _rate(a["dev"], a["std"])})
    big = Decimal(10) ** 9
    out.sort(key=lambda x: (-(x["on_time_rate"] if x["on_time_rate"] is not None else -big),
                            x["reject_rate"] if x["reject_rate"] is not None else big,
                            x["price_variance"] if x["price_variance"] is not None else big, x["supplier"]))
    for i, x in enumerate(out, 1):
        x["rank"] = i
    return out


def calculate_period(jimu: Any, conn: Connection, app: str, period_id: Any, actor: Actor = SYSTEM) -> list[dict[str, Any]]:
    """Replace the month's scorecard rows with :func:`score_month`; returns them."""
    rt = jimu.apps.get(app, conn)
    period: Mapping[str, Any] = jimu.records.get(app, PERIOD, period_id, conn=conn)
    month = str(period.get("month") or "")
    rows = score_month(conn, rt, month)
    t = rt.tables(ROW)
    for (rid,) in conn.execute(sa.select(t.c.id).where(t.c.month == month)).all():
        jimu.records.delete(app, ROW, rid, actor=SYSTEM, conn=conn)
    for row in rows:
        jimu.records.create(app, ROW, row, actor=SYSTEM, conn=conn)
    jimu.records.update(app, PERIOD, period["id"], {"suppliers": len(rows), "calculated_at": clock.now()},
                        actor=actor, conn=conn, _extra={"document": f"{PERIOD}:{period['id']}"})
    return rows

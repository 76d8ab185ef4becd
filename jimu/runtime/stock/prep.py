"""Peak-hour prep suggestion per dish (备餐建议): what a store should prepare on ``day``, read
from the posted dish sales of the last four same weekdays (day - 7, - 14, - 21, - 28).

Per dish: ``portions`` = the four days' portions averaged (rounded up: a kitchen preps
whole portions), ``peak_hour`` = the hour (of the sale's entry, UTC) with the most portions
over the four days, ``peak_portions`` = that hour's average, rounded up, and ``history`` =
the portions of each of the four days, oldest first. Only dish sales the caller may read
(entity right and row filter) count.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core.errors import NotFound

__all__ = ["WEEKS", "prep_suggestion", "require_prep"]

WEEKS = 4
_HEAD, _LINE = "dish_sale", "dish_sale_line"


def _ceil(value: Decimal) -> int:
    return int(math.ceil(value))


def require_prep(policy: Any) -> None:
    """404 ``entity.not_found`` in an app without dish sales; the caller must read dish
    sales and their lines (the per-caller OpenAPI document uses the same test)."""
    if policy.rt.spec.entity(_HEAD) is None:
        raise NotFound(f"app '{policy.app}' has no dish sales", code="entity.not_found")
    policy.require(_HEAD, "read")
    policy.require(_LINE, "read")


def prep_suggestion(policy: Any, store: Any, day: date) -> dict[str, Any]:
    """``{"store", "date", "days": [4 dates], "dishes": [{"dish", "portions", "peak_hour",
    "peak_portions", "history"}]}``, dishes by portions, most first."""
    rt = policy.rt
    require_prep(policy)
    days = [day - timedelta(days=7 * k) for k in range(WEEKS, 0, -1)]
    head, line = rt.tables(_HEAD), rt.tables(_LINE)
    stmt = (sa.select(line.c.dish, line.c.qty, head.c.sale_date, head.c.created_at)
            .select_from(line.join(head, line.c._parent_id == head.c.id))
            .where(head.c.store == store, head.c.state == "posted", head.c.sale_date.in_(days)))
    clause = policy.row_clause(_HEAD)
    if clause is not None:
        stmt = stmt.where(clause)
    per_day: dict[Any, dict[date, Decimal]] = {}
    per_hour: dict[Any, dict[int, Decimal]] = {}
    with policy.jimu.db.read() as conn:
        for dish, qty, sale_date, created in conn.execute(stmt):
            q = Decimal(str(qty))
            d = sale_date if isinstance(sale_date, date) else date.fromisoformat(str(sale_date))
            per_day.setdefault(dish, {})[d] = per_day.get(dish, {}).get(d, Decimal(0)) + q
            per_hour.setdefault(dish, {})[created.hour] = per_hour.get(dish, {}).get(created.hour, Decimal(0)) + q
    out = []
    for dish, by_day in per_day.items():
        hours = per_hour[dish]
        peak = min(hours, key=lambda h: (-hours[h], h))
        out.append({"dish": dish, "portions": _ceil(sum(by_day.values()) / WEEKS), "peak_hour": peak,
                    "peak_portions": _ceil(hours[peak] / WEEKS),
                    "history": [format(by_day.get(d, Decimal(0)).normalize(), "f") for d in days]})
    out.sort(key=lambda r: (-r["portions"], r["dish"]))
    return {"store": store, "date": day.isoformat(), "days": [d.isoformat() for d in days], "dishes": out}

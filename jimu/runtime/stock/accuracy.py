"""The inventory-accuracy report (账实差异率, DESIGN 16): per warehouse, over the stocktakes
posted with a ``count_date`` in the last ``days`` days (default 90, up to the app clock's
date), Σ|variance| and Σ system, and their ratio ``rate`` = Σ|variance| / Σ system.

A line's system figure is the book it was posted against (``book_qty``, the dynamic rule;
``system_qty`` for a count posted before that field existed) and its variance is
``counted_qty - system`` (an empty count is 0, as the post treated it). The rate is 0 when
nothing was on the books and nothing was found, 1 when something was found against an
empty book (all of it is variance), never a division by zero.

Access: whoever may read stocktakes (their row filter limits the counts summed); a caller
for whom ``stocktake_line``'s quantities are hidden is refused (403 ``forbidden.field``).
Posted counts are never blind, so a blind count's masks show nothing here either.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core import clock
from jimu.core.errors import FieldError, NotFound, PermissionDenied, ValidationError
from jimu.core.money import to_decimal
from jimu.runtime.access import AccessPolicy

__all__ = ["DEFAULT_DAYS", "FIGURES", "accuracy_report", "may_see_accuracy"]

DEFAULT_DAYS = 90
ENTITY, LINES = "stocktake", "stocktake_line"
FIGURES = ("system_qty", "book_qty", "counted_qty")
_SCALE = Decimal("0.0001")


def may_see_accuracy(policy: AccessPolicy) -> bool:
    """Whether the report answers this caller (what the route and OpenAPI check)."""
    spec = policy.rt.spec
    if spec.entity(ENTITY) is None or spec.entity(LINES) is None or not policy.can(ENTITY, "read"):
        return False
    return all(policy.field_rule(LINES, f).visible for f in FIGURES if policy.rt.entity(LINES).field(f) is not None)


def _rate(variance: Decimal, system: Decimal) -> Decimal:
    if system == 0:
        return Decimal(0) if variance == 0 else Decimal(1)
    return (variance / abs(system)).quantize(_SCALE)


def accuracy_report(policy: AccessPolicy, warehouse: Any = None, days: int = DEFAULT_DAYS) -> dict[str, Any]:
    """``{"from", "to", "days", "data": [{"warehouse", "warehouse_name", "stocktakes",
    "lines", "absolute_variance", "system", "rate"}], "next_cursor": None}``, one row per
    warehouse with a posted count in the window (just ``warehouse`` when given)."""
    if policy.rt.spec.entity(ENTITY) is None:
        raise NotFound(f"app '{policy.app}' has no stocktakes", code="entity.not_found")
    policy.require(ENTITY, "read")
    if not may_see_accuracy(policy):
        raise PermissionDenied("the stocktake quantities are hidden from you", code="forbidden.field",
                               errors=[FieldError(f, "forbidden.field", "hidden for you") for f in FIGURES])
    if days < 1 or days > 3660:
        raise ValidationError("days must be between 1 and 3660",
                              errors=[FieldError("days", "range", "1 to 3660")])
    rt = policy.rt
    head, lines = rt.tables(ENTITY), rt.tables(LINES)
    until: date = clock.now().date()
    since = until - timedelta(days=days)
    book = lines.c.book_qty if "book_qty" in lines.c else sa.null()
    stmt = (sa.select(head.c.warehouse, head.c.id, lines.c.system_qty, book, lines.c.counted_qty)
            .select_from(lines.join(head, lines.c._parent_id == head.c.id))
            .where(head.c.state == "posted", head.c.count_date > since, head.c.count_date <= until))
    clause = policy.row_clause(ENTITY)
    if clause is not None:
        stmt = stmt.where(clause)
    if warehouse is not None:
        stmt = stmt.where(head.c.warehouse == warehouse)
    per: dict[Any, dict[str, Any]] = {}
    with policy.jimu.db.read() as conn:
        for wh, doc, system, booked, counted in conn.execute(stmt):
            row = per.setdefault(wh, {"docs": set(), "lines": 0, "variance": Decimal(0), "system": Decimal(0)})
            base = to_decimal(booked if booked is not None else (system if system is not None else 0))
            row["docs"].add(doc)
            row["lines"] += 1
            row["system"] += base
            row["variance"] += abs(to_decimal(counted if counted is not None else 0) - base)
        names = _names(conn, policy, list(per))
    data = [{"warehouse": wh, "warehouse_name": names.get(wh), "stocktakes": len(r["docs"]), "lines": r["lines"],
             "absolute_variance": format(r["variance"].quantize(_SCALE), "f"),
             "system": format(r["system"].quantize(_SCALE), "f"),
             "rate": format(_rate(r["variance"], r["system"]), "f")}
            for wh, r in sorted(per.items(), key=lambda kv: str(kv[0]))]
    return {"from": since.isoformat(), "to": until.isoformat(), "days": days, "data": data, "next_cursor": None}


def _names(conn: Any, policy: AccessPolicy, ids: list[Any]) -> dict[Any, str]:
    """Warehouse names the caller may read (others stay None)."""
    ent = policy.rt.spec.entity("warehouse")
    if not ids or ent is None or not policy.can("warehouse", "read"):
        return {}
    title = ent.title
    tbl = policy.rt.tables("warehouse")
    if title not in tbl.c or policy.field_rule("warehouse", title).access not in ("read", "write"):
        return {}
    stmt = sa.select(tbl.c.id, tbl.c[title]).where(tbl.c.id.in_(ids))
    clause = policy.row_clause("warehouse")
    if clause is not None:
        stmt = stmt.where(clause)
    return {i: str(n) for i, n in conn.execute(stmt) if n is not None}


def _chart_rows(policy: AccessPolicy, params: Any) -> list[dict[str, Any]]:
    days = int(params.get("days") or DEFAULT_DAYS)
    return list(accuracy_report(policy, params.get("warehouse"), days)["data"])


def register() -> None:
    """Offer the report to dashboards as ``report: inventory_accuracy`` (idempotent)."""
    from jimu.runtime.reports import ChartReport, register_report

    register_report(ChartReport(
        "inventory_accuracy", _chart_rows,
        columns=(("warehouse_name", {"zh": "仓库", "en": "Warehouse"}),
                 ("stocktakes", {"zh": "盘点单数", "en": "Counts"}),
                 ("absolute_variance", {"zh": "差异绝对值合计", "en": "Σ|variance|"}),
                 ("system", {"zh": "账面数量合计", "en": "Σ book"}),
                 ("rate", {"zh": "账实差异率", "en": "Variance rate"})),
        value="rate", percent=("rate",)))

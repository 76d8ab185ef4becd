"""What the intelligence reports read (DESIGN 16, Intelligence): demand from shipped sales,
stock positions, the items a caller sees, and the app's report settings.

Demand is what left ``on_hand`` by a shipment of a sales document (movements of the stock
ledger whose document is a ``sales_order``, or a ``dish_sale`` taking its ingredients): one figure per item and day, days without
sales count as 0. Every read goes through the caller's :class:`AccessPolicy`: the items
are those of the caller's row filter on ``item``, the shipments those of sales orders the
caller may read (a sales rep limited to their own orders sees the demand of their orders).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import FieldError, NotFound, PermissionDenied, ValidationError
from jimu.platform.ledger import as_ledger
from jimu.platform.ledger.tables import balance, movement
from jimu.platform.schema import column_name
from jimu.runtime.access import AccessPolicy

__all__ = ["DEMAND_ENTITIES", "DEFAULTS", "ITEM", "LEDGER", "Demand", "clear_field", "daily_series", "demand",
           "int_param", "items_of", "positions", "report_settings", "stock_ledger", "today"]

ITEM, LEDGER = "item", "stock"
#: Documents whose shipments are demand: sales orders, and a restaurant's dish sales (the
#: ingredients their recipes take out of a store, catering_store's ``dish_consume``).
DEMAND_ENTITIES = ("sales_order", "dish_sale")
#: Report parameters (CBU params of ``inventory_dashboards`` write ``settings.intel``).
DEFAULTS: dict[str, Any] = {
    "demand_days": 90, "service_level": "0.95", "lead_time_days": 7, "cover_days": 14,
    "abc_a": "0.80", "abc_b": "0.15", "abc_days": 365, "dead_stock_days": 90,
}


def report_settings(spec: Any) -> dict[str, Any]:
    """The app's ``intel`` settings over :data:`DEFAULTS`."""
    raw = getattr(spec, "settings", {}) or {}
    got = raw.get("intel") if isinstance(raw, Mapping) else None
    out = dict(DEFAULTS)
    if isinstance(got, Mapping):
        out.update({k: v for k, v in got.items() if v not in (None, "")})
    return out


def today() -> date:
    """The app clock's date (reports end on it, inclusive)."""
    return clock.now().date()


def int_param(raw: Any, name: str, low: int, high: int, default: int) -> int:
    """An integer query parameter in [low, high] (422 ``report.param`` otherwise)."""
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw))
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationError(f"{name} must be an integer from {low} to {high} / {name} 须为 {low} 到 {high} 的整数",
                              code="report.param", errors=[FieldError(name, "range", f"{low} to {high}")])
    return value


def stock_ledger(policy: AccessPolicy) -> Any:
    """The app's stock ledger (404 ``report.not_found`` without one); the caller must read items."""
    spec = policy.rt.spec.ledger(LEDGER)
    if spec is None or policy.rt.spec.entity(ITEM) is None:
        raise NotFound(f"app '{policy.app}' has no stock ledger / 此应用没有库存台账", code="report.not_found")
    policy.require(ITEM, "read")
    return as_ledger(spec)


def clear_field(policy: AccessPolicy, entity: str, field: str) -> bool:
    """Whether ``entity.field`` exists and the caller reads it in clear (not hidden, not masked)."""
    ent = policy.rt.spec.entity(entity)
    spec = ent.field(field) if ent is not None else None
    if spec is None or spec.archived:
        return False
    return policy.field_rule(entity, field).access in ("read", "write")


def require_clear(policy: AccessPolicy, entity: str, field: str, why: str) -> None:
    """403 ``forbidden.report`` unless the caller reads ``entity.field`` in clear."""
    if not clear_field(policy, entity, field):
        raise PermissionDenied(f"{why} needs {entity}.{field}, hidden or masked for you / "
                               f"{entity}.{field} 对你不可见", code="forbidden.report", extra={"field": field})


def items_of(policy: AccessPolicy, conn: Connection, fields: Iterable[str],
             ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    """Active items the caller may read: id -> {field: value} for the fields that exist."""
    ent = policy.rt.entity(ITEM)
    t = policy.rt.tables(ITEM)
    names, cols = [], [t.c.id]
    for name in fields:
        f = ent.field(name)
        if f is not None and not f.archived and column_name(f) in t.c:
            names.append(name)
            cols.append(t.c[column_name(f)])
    stmt = sa.select(*cols)
    active = ent.field("active")
    if active is not None and active.type == "boolean" and column_name(active) in t.c:
        stmt = stmt.where(sa.or_(t.c[column_name(active)].is_(None), t.c[column_name(active)].is_(True)))
    clause = policy.row_clause(ITEM)
    if clause is not None:
        stmt = stmt.where(clause)
    if ids is not None:
        stmt = stmt.where(t.c.id.in_(sorted({int(i) for i in ids})))
    return {int(r[0]): dict(zip(names, r[1:], strict=True)) for r in conn.execute(stmt)}


def positions(conn: Connection, policy: AccessPolicy, lg: Any, warehouse: int | None) -> dict[int, dict[str, Decimal]]:
    """item -> {on_hand, on_order, reserved} summed over the warehouses (or ``warehouse``)."""
    b = balance.c
    stmt = (sa.select(b.d1, sa.func.sum(b.on_hand), sa.func.sum(b.on_order), sa.func.sum(b.reserved))
            .where(b.app == policy.app, b.ledger == lg.name).group_by(b.d1))
    if warehouse is not None:
        stmt = stmt.where(b.d2 == str(warehouse))
    out: dict[int, dict[str, Decimal]] = {}
    for d1, on_hand, on_order, reserved in conn.execute(stmt):
        if d1 is None or not str(d1).isdigit():
            continue
        out[int(d1)] = {"on_hand": lg.to_qty(int(on_hand or 0)), "on_order": lg.to_qty(int(on_order or 0)),
                        "reserved": lg.to_qty(int(reserved or 0))}
    return out


class Demand:
    """Shipped quantities per item and day (and the number of shipment movements) in
    ``[since, until]``; ``orders`` keeps per sales order the day of its last shipment."""

    def __init__(self, since: date, until: date) -> None:
        self.since, self.until = since, until
        self.days = (until - since).days + 1
        self.by_item: dict[int, dict[date, Decimal]] = {}
        self.moves: dict[int, int] = {}
        self.last_ship: dict[str, date] = {}

    def series(self, item: int) -> list[Decimal]:
        """The daily series of ``item`` from ``since`` to ``until`` (0 on days without sales)."""
        return daily_series(self.by_item.get(item, {}), self.since, self.until)

    def total(self, item: int) -> Decimal:
        return sum(self.by_item.get(item, {}).values(), Decimal(0))


def daily_series(per_day: Mapping[date, Decimal], since: date, until: date) -> list[Decimal]:
    """One figure per day of ``[since, until]``, 0 where ``per_day`` has none."""
    n = (until - since).days + 1
    return [per_day.get(since + timedelta(days=i), Decimal(0)) for i in range(n)]


def _bounds(since: date, until: date) -> tuple[datetime, datetime]:
    return (datetime.combine(since, time(), UTC), datetime.combine(until + timedelta(days=1), time(), UTC))


def demand(conn: Connection, policy: AccessPolicy, lg: Any, since: date, until: date, *,
           warehouse: int | None = None, items: Iterable[int] | None = None) -> Demand:
    """The shipments of sales documents the caller may read, per item and day; 403
    ``forbidden.report`` when the caller reads none of them (as the movements route)."""
    out = Demand(since, until)
    m, b = movement.c, balance.c
    start, end = _bounds(since, until)
    stmt = (sa.select(b.d1, m.at, m.d_on_hand, m.doc_id)
            .select_from(movement.join(balance, sa.and_(b.app == m.app, b.ledger == m.ledger, b.key == m.key)))
            .where(m.app == policy.app, m.ledger == lg.name, m.d_on_hand < 0, m.at >= start, m.at < end))
    docs = []
    for entity in DEMAND_ENTITIES:
        if policy.rt.spec.entity(entity) is None or not policy.can(entity, "read"):
            continue
        cond = m.doc_entity == entity
        clause = policy.row_clause(entity)
        if clause is not None:
            t = policy.rt.tables(entity)
            cond = sa.and_(cond, m.doc_id.in_(sa.select(sa.cast(t.c.id, sa.String)).where(clause)))
        docs.append(cond)
    if not docs:
        raise PermissionDenied("demand comes from sales orders, which you may not read / 需求来自销售订单，你无权查看",
                               code="forbidden.report", extra={"entity": DEMAND_ENTITIES[0]})
    stmt = stmt.where(sa.or_(*docs))
    if warehouse is not None:
        stmt = stmt.where(b.d2 == str(warehouse))
    if items is not None:
        stmt = stmt.where(b.d1.in_([str(i) for i in items]))
    for d1, at, d_on_hand, doc_id in conn.execute(stmt):
        if d1 is None or not str(d1).isdigit():
            continue
        item = int(d1)
        day = at.astimezone(UTC).date() if at.tzinfo else at.date()
        per = out.by_item.setdefault(item, {})
        per[day] = per.get(day, Decimal(0)) + lg.to_qty(-int(d_on_hand))
        out.moves[item] = out.moves.get(item, 0) + 1
        key = str(doc_id)
        if key not in out.last_ship or out.last_ship[key] < day:
            out.last_ship[key] = day
    return out

"""Cycle counts (循环盘点) by ABC class, on schedule (DESIGN 16).

The stocktake CBU contributes a daily schedule automation whose action
``stocktake_cycle_counts`` (``{"days": {"A": 30, "B": 90, "C": 365}}``, the CBU params
``cycle_days_a/b/c``) calls :func:`create_cycle_counts`: for every warehouse and class a
draft stocktake of that class (``abc_class``; its ``start`` fills the lines with the
class's items in stock) is created when the class is due, i.e.

- the warehouse holds stock of at least one item of that class (``item.abc_class``), and
- no stocktake of that warehouse for that class (or a full count, no class) is open
  (draft, counting, counted), and
- none was posted with a ``count_date`` within the last ``days`` days.

So each run creates at most one stocktake per warehouse and class, several workers or a
re-run the same day create nothing more (the open draft blocks it), and the scheduler's
leased jobs (``jimu.runtime.automations.schedule``) make it run once per tick; the test
clock drives it like any schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.platform.actor import SYSTEM
from jimu.platform.ledger import balances
from jimu.runtime.stock.common import User, actor_of, resolve_ledger

__all__ = ["CLASSES", "DEFAULT_DAYS", "create_cycle_counts", "due_classes"]

CLASSES = ("A", "B", "C")
DEFAULT_DAYS = {"A": 30, "B": 90, "C": 365}
ENTITY = "stocktake"
_OPEN = ("draft", "counting", "counted")


def _days(given: Mapping[str, Any] | None) -> dict[str, int]:
    out = dict(DEFAULT_DAYS)
    for cls, n in (given or {}).items():
        if str(cls).upper() in out and n is not None and str(n).strip():
            out[str(cls).upper()] = int(n)
    return out


def _stocked_classes(conn: Connection, app: str, lg: Any, classes: Mapping[str, str], warehouse: Any) -> set[str]:
    """The classes of the items with stock in ``warehouse``."""
    per_item: dict[str, Any] = {}
    for b in balances(conn, app, lg, warehouse=warehouse):
        per_item[str(b["item"])] = per_item.get(str(b["item"]), 0) + b["on_hand"]
    return {classes[i] for i, q in per_item.items() if q != 0 and i in classes}


def due_classes(conn: Connection, rt: Any, warehouse: Any, stocked: set[str], days: Mapping[str, int],
                today: date) -> list[str]:
    """The classes of ``stocked`` due for a count in ``warehouse`` on ``today`` (module doc)."""
    tbl = rt.tables(ENTITY)
    due = []
    for cls in CLASSES:
        if cls not in stocked:
            continue
        mine = sa.and_(tbl.c.warehouse == warehouse, sa.or_(tbl.c.abc_class == cls, tbl.c.abc_class.is_(None)))
        if conn.execute(sa.select(tbl.c.id).where(mine, tbl.c.state.in_(_OPEN)).limit(1)).first() is not None:
            continue
        last = conn.execute(sa.select(sa.func.max(tbl.c.count_date)).where(mine, tbl.c.state == "posted")).scalar()
        if isinstance(last, str):
            last = date.fromisoformat(last[:10])
        if last is None or last <= today - timedelta(days=int(days[cls])):
            due.append(cls)
    return due


def create_cycle_counts(jimu: Any, conn: Connection, app: str, days: Mapping[str, Any] | None = None, *,
                        ledger: Any = None, user: User = None, today: date | None = None) -> list[dict[str, Any]]:
    """Create the due cycle counts of ``app`` (module doc); returns ``{"id", "number",
    "warehouse", "abc_class"}`` per stocktake created."""
    rt = jimu.apps.get(app, conn)
    item = rt.spec.entity("item")
    if rt.spec.entity(ENTITY) is None or rt.spec.entity("warehouse") is None or item is None \
            or item.field("abc_class") is None:
        return []
    lg = resolve_ledger(jimu, app, ledger, conn)
    period = _days(days)
    day = today or clock.now().date()
    items = rt.tables("item")
    classes = {str(i): str(c).upper() for i, c in conn.execute(sa.select(items.c.id, items.c.abc_class)) if c}
    whs = rt.tables("warehouse")
    actor = actor_of(user) if user is not None else SYSTEM
    out = []
    for wh in conn.execute(sa.select(whs.c.id).order_by(whs.c.id)).scalars():
        stocked = _stocked_classes(conn, app, lg, classes, wh)
        for cls in due_classes(conn, rt, wh, stocked, period, day):
            note = f"循环盘点：{cls} 类，每 {period[cls]} 天 / Cycle count: class {cls}, every {period[cls]} days"
            rec = jimu.records.create(app, ENTITY, {"warehouse": wh, "abc_class": cls, "count_date": day,
                                                    "note": note}, actor=actor, conn=conn)
            out.append({"id": rec["id"], "number": rec.get("number"), "warehouse": wh, "abc_class": cls})
    return out

"""Stocktake helpers (盘点): cycle-count plans by ABC class, blind counts, variance and
variance rate (账实差异率), and the trace of a variance to the movements behind it.

ABC class of an item: ``classes`` given by the caller, else the item entity's
``abc_class`` field when the app has one, else computed from stock value in the
warehouse (moving-average value, or quantity when nothing is costed): A = the items
making the first 80 % of the value, B the next 15 %, C the rest. Counting A weekly and C
quarterly is the usual cycle (the seeds' 循环盘点).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import NotFound
from jimu.core.money import to_decimal
from jimu.platform.ledger import Ledger, balances, movements, valuation
from jimu.platform.ledger.spec import dim_text

__all__ = [
    "ABC_SHARES", "COUNT_ENTITY", "abc_classes", "blind_lines", "plan_cycle_count", "previous_count",
    "stock_lines", "trace", "variance", "variance_rate", "variance_summary",
]

#: Cumulative value shares closing classes A and B.
ABC_SHARES = (Decimal("0.80"), Decimal("0.95"))
#: The document entity whose postings mark a count (the standard template's stocktake).
COUNT_ENTITY = "stocktake"
_SYSTEM_KEYS = ("system_qty", "variance", "variance_rate", "available", "reserved")


def variance(system: Any, counted: Any) -> Decimal:
    """``counted - system`` (positive: more on the shelf than in the books)."""
    return to_decimal(counted) - to_decimal(system)


def variance_rate(system: Any, counted: Any) -> Decimal:
    """``|system - counted| / system`` as a Decimal fraction (0.012 = 1.2 %). With nothing
    in the books the rate is 0 when nothing was found either, else 1 (all of it is
    variance) — never a division by zero."""
    s, c = to_decimal(system), to_decimal(counted)
    if s == 0:
        return Decimal(0) if c == 0 else Decimal(1)
    return abs(s - c) / abs(s)


def variance_summary(lines: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """The 账实差异率 of a whole count: ``sum |system - counted| / sum system`` over lines
    with ``system_qty`` and ``counted_qty``, plus the totals."""
    system = diff = counted = Decimal(0)
    for ln in lines:
        s, c = to_decimal(ln["system_qty"]), to_decimal(ln["counted_qty"])
        system += s
        counted += c
        diff += abs(s - c)
    rate = (diff / system) if system else (Decimal(0) if diff == 0 else Decimal(1))
    return {"system": system, "counted": counted, "absolute_variance": diff, "variance_rate": rate}


def stock_lines(conn: Connection, app: str, lg: Ledger, warehouse: Any) -> list[dict[str, Any]]:
    """``{"item", "warehouse", "system_qty"}`` per item in ``warehouse`` (batches summed)."""
    per_item: dict[str, Decimal] = {}
    for r in balances(conn, app, lg, warehouse=warehouse):
        key = dim_text(r["item"]) or ""
        per_item[key] = per_item.get(key, Decimal(0)) + r["on_hand"]
    return [{"item": it, "warehouse": dim_text(warehouse), "system_qty": q} for it, q in sorted(per_item.items())]


def abc_classes(conn: Connection, app: str, lg: Ledger, warehouse: Any,
                lines: list[dict[str, Any]] | None = None) -> dict[str, str]:
    """item -> "A" | "B" | "C" by stock value in ``warehouse`` (see the module doc)."""
    lines = stock_lines(conn, app, lg, warehouse) if lines is None else lines
    value = {ln["item"]: max(valuation(conn, app, lg, ln["item"], warehouse)["value"], Decimal(0)) for ln in lines}
    if not any(value.values()):
        value = {ln["item"]: max(ln["system_qty"], Decimal(0)) for ln in lines}
    total = sum(value.values(), Decimal(0))
    out: dict[str, str] = {}
    running = Decimal(0)
    for it in sorted(value, key=lambda k: (-value[k], k)):
        share_before = running / total if total else Decimal(1)
        running += value[it]
        out[it] = "A" if share_before < ABC_SHARES[0] and value[it] > 0 else (
            "B" if share_before < ABC_SHARES[1] and value[it] > 0 else "C")
    return out


def _field_classes(jimu: Any, app: str, conn: Connection) -> dict[str, str] | None:
    """item id -> its ``abc_class`` field, when the item entity has one."""
    import sqlalchemy as sa

    try:
        rt = jimu.apps.get(app, conn)
    except NotFound:  # no published app: compute the classes (any other error is raised)
        return None
    ent = rt.spec.entity("item")
    if ent is None or not any(f.name == "abc_class" for f in ent.fields):
        return None
    tbl = rt.tables("item")
    col = tbl.c.get("abc_class")
    if col is None:
        return None
    return {dim_text(i) or "": str(c).upper() for i, c in conn.execute(sa.select(tbl.c.id, col)) if c}


def plan_cycle_count(jimu: Any, app: str, warehouse: Any, abc_class: str | None = None, *, ledger: Any = None,
                     classes: Mapping[Any, str] | None = None, conn: Connection | None = None) -> list[dict[str, Any]]:
    """The items of ``warehouse`` to count in a cycle count of ``abc_class`` ("A", "B",
    "C"; None = full count), most valuable first: ``{"item", "warehouse", "abc_class",
    "system_qty"}``. Hand counters :func:`blind_lines` of it for a blind count."""
    from jimu.runtime.stock.common import resolve_ledger

    if conn is None:
        with jimu.db.read() as c:
            return plan_cycle_count(jimu, app, warehouse, abc_class, ledger=ledger, classes=classes, conn=c)
    lg = resolve_ledger(jimu, app, ledger, conn)
    lines = stock_lines(conn, app, lg, warehouse)
    computed = abc_classes(conn, app, lg, warehouse, lines)
    given = {dim_text(k) or "": str(v).upper() for k, v in classes.items()} if classes is not None \
        else _field_classes(jimu, app, conn) or {}
    order = {it: n for n, it in enumerate(computed)}
    out = []
    for ln in sorted(lines, key=lambda x: order.get(x["item"], len(order))):
        cls = given.get(ln["item"]) or computed.get(ln["item"], "C")
        if abc_class is None or cls == abc_class.upper():
            out.append({**ln, "abc_class": cls})
    return out


def blind_lines(lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The lines as counters see them in a blind count (盲盘): no system quantity, no
    variance, an empty ``counted_qty`` to fill in."""
    return [{**{k: v for k, v in ln.items() if k not in _SYSTEM_KEYS}, "counted_qty": None} for ln in lines]


def previous_count(conn: Connection, app: str, lg: Ledger, item: Any, warehouse: Any, *,
                   before: datetime | None = None, entity: str = COUNT_ENTITY) -> datetime | None:
    """When ``item`` in ``warehouse`` was last counted (its last posting by a ``stocktake``
    document), or None."""
    last = None
    for m in movements(conn, app, lg, until=before, item=item, warehouse=warehouse):
        if m["document"]["entity"] == entity:
            last = m["at"]
    return last


def trace(jimu: Any, app: str, item: Any, warehouse: Any, since: datetime | None = None, *, ledger: Any = None,
          until: datetime | None = None, conn: Connection | None = None) -> list[dict[str, Any]]:
    """The movements of ``item`` in ``warehouse`` since the previous count (or ``since``),
    oldest first, for tracing a variance: ``{"at", "user", "kind", "on_hand", "reserved",
    "in_transit", "document": {"entity", "id", "line"}, "transition", "reason"}``."""
    from jimu.runtime.stock.common import resolve_ledger

    if conn is None:
        with jimu.db.read() as c:
            return trace(jimu, app, item, warehouse, since, ledger=ledger, until=until, conn=c)
    lg = resolve_ledger(jimu, app, ledger, conn)
    start = since if since is not None else previous_count(conn, app, lg, item, warehouse, before=until)
    rows = movements(conn, app, lg, since=start, until=until, item=item, warehouse=warehouse)
    if since is None and start is not None:
        rows = [m for m in rows if not (m["at"] == start and m["document"]["entity"] == COUNT_ENTITY)]
    return [{"id": m["id"], "at": m["at"], "user": m["user"], "kind": m["kind"], "on_hand": m["on_hand"],
             "reserved": m["reserved"], "in_transit": m["in_transit"], "document": m["document"],
             "transition": m["transition"], "reason": m["reason"]} for m in rows]

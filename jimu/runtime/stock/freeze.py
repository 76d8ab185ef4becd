"""The stocktake freeze (盘点冻结, DESIGN 16): a stocktake with ``freeze_stock: true`` (the
field DESIGN calls ``freeze``; ``freeze`` is a reserved SQL word, refused as a name) holds the
items of its lines in its warehouse from ``start`` until ``post`` or ``cancel``; any
posting that would move their on_hand there (sales shipment, receipt, adjustment,
transfer, quarantine, another count) is refused with 409 ``stocktake.in_progress``
naming the stocktake's number and the item as ``sku name``, in zh and en.

How: the transition actions ``stock_freeze`` (after ``start``) and ``stock_unfreeze``
(``post`` before its own postings, and ``cancel``) keep one ``jimu_stock_freeze`` row
per held item; :func:`guard` is a ledger guard (hook ``jimu_ledger_guards``) that the
platform's move engine calls before any balance changes, so every posting path is
covered without the platform knowing about stocktakes (layers import one way).
Reservations and on_order do not move goods and pass; a frozen count's own ``post``
passes because it lifts its freeze first, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import Conflict, ValidationError
from jimu.platform.actor import Actor
from jimu.platform.ledger.spec import Ledger, dim_text
from jimu.platform.specs import EntitySpec
from jimu.runtime.apps import AppRuntime
from jimu.runtime.stock.tables import ensure_tables, stock_freeze

__all__ = ["CODE", "StocktakeInProgress", "freeze_document", "frozen", "guard", "stock_freeze_action",
           "stock_unfreeze_action", "unfreeze_document"]

CODE = "stocktake.in_progress"
_F = stock_freeze.c


class StocktakeInProgress(Conflict):
    """409: a movement of an item a freezing stocktake holds in that warehouse."""

    code = CODE


def item_label(conn: Connection, rt: AppRuntime, item: Any) -> str:
    """``sku name`` of an item (its id when the app has no item entity or no such row)."""
    ent = rt.spec.entity("item")
    if ent is None:
        return str(item)
    tbl = rt.tables("item")
    cols = [tbl.c[n] for n in ("sku", "name") if n in tbl.c]
    if not cols:
        return str(item)
    row = conn.execute(sa.select(*cols).where(tbl.c.id == item)).first()
    return " ".join(str(v) for v in row if v) if row is not None else str(item)


def freeze_document(conn: Connection, rt: AppRuntime, lg_name: str, entity: str, doc: Mapping[str, Any],
                    lines: Sequence[Mapping[str, Any]]) -> int:
    """Hold every line's item in its warehouse (the line's, else the document's) for
    ``doc``; returns how many (warehouse, item) pairs are held."""
    ensure_tables(conn)
    number = str(doc.get(rt.spec.entity(entity).title_field or "number") or f"#{doc['id']}")  # type: ignore[union-attr]
    pairs: dict[tuple[str, str], Any] = {}
    for ln in lines:
        wh = ln.get("warehouse") if ln.get("warehouse") is not None else doc.get("warehouse")
        if ln.get("item") is None or wh is None:
            continue
        pairs.setdefault((dim_text(wh) or "", dim_text(ln["item"]) or ""), ln["item"])
    now = clock.now()
    rows = [{"app": rt.name, "ledger": lg_name, "warehouse": wh, "item": it, "doc_entity": entity,
             "doc_id": dim_text(doc["id"]), "number": number, "item_label": item_label(conn, rt, raw)[:400],
             "created_at": now} for (wh, it), raw in sorted(pairs.items())]
    if rows:
        conn.execute(stock_freeze.insert(), rows)
    return len(rows)


def unfreeze_document(conn: Connection, app: str, entity: str, doc_id: Any) -> int:
    """Lift the freeze of one document; returns how many held pairs were released."""
    ensure_tables(conn)
    return int(conn.execute(sa.delete(stock_freeze).where(
        _F.app == app, _F.doc_entity == entity, _F.doc_id == dim_text(doc_id))).rowcount or 0)


def frozen(conn: Connection, app: str, ledger: str, warehouse: Any = None) -> list[dict[str, Any]]:
    """The held (warehouse, item) pairs of an app's ledger, optionally of one warehouse."""
    ensure_tables(conn)
    stmt = sa.select(stock_freeze).where(_F.app == app, _F.ledger == ledger)
    if warehouse is not None:
        stmt = stmt.where(_F.warehouse == dim_text(warehouse))
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(_F.warehouse, _F.item))]


def guard(conn: Connection, app: str, lg: Ledger, lines: Sequence[Any]) -> None:
    """Ledger guard: refuse the posting when one of its lines moves on_hand of an item a
    freezing stocktake holds in that warehouse (see the module doc)."""
    moving: list[tuple[str, str]] = []
    for ln in lines:
        if not ln.changes.get("on_hand"):
            continue
        wh, it = dim_text(ln.dims.get("warehouse")), dim_text(ln.dims.get("item"))
        if wh is not None and it is not None:
            moving.append((wh, it))
    if not moving:
        return
    ensure_tables(conn)
    held = {(r.warehouse, r.item): r for r in conn.execute(sa.select(
        _F.warehouse, _F.item, _F.doc_entity, _F.doc_id, _F.number, _F.item_label).where(
        _F.app == app, _F.ledger == lg.name, _F.warehouse.in_({w for w, _ in moving}),
        _F.item.in_({i for _, i in moving})))}
    for pair in moving:
        r = held.get(pair)
        if r is not None:
            raise _refusal(r)


def _refusal(r: Any) -> StocktakeInProgress:
    zh = f"盘点单 {r.number} 正在盘点 {r.item_label}（冻结中）：过账或取消前不能出入库"
    en = (f"Stocktake {r.number} is counting {r.item_label} (frozen): no stock movements of it in this "
          f"warehouse until the count is posted or cancelled")
    return StocktakeInProgress(en, extra={
        "messages": {"zh": zh, "en": en},
        "stocktake": {"entity": r.doc_entity, "id": int(r.doc_id) if str(r.doc_id).isdigit() else r.doc_id,
                      "number": r.number},
        "item": int(r.item) if str(r.item).isdigit() else r.item, "item_label": r.item_label,
        "warehouse": int(r.warehouse) if str(r.warehouse).isdigit() else r.warehouse})


def stock_freeze_action(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                        spec: Mapping[str, Any], actor: Actor) -> bool:
    """Transition action ``{"kind": "stock_freeze", "ledger": "stock", "lines":
    "stocktake_line", "flag": "freeze_stock"}``: when the document's ``flag`` field is true, hold
    its lines' items (read again: an earlier action may have just filled them)."""
    flag = str(spec.get("flag") or "freeze_stock")
    if not doc.get(flag):
        return False
    lg = str(spec.get("ledger") or "stock")
    if rt.spec.ledger(lg) is None:
        raise ValidationError(f"stock_freeze: unknown ledger {lg!r}")
    fresh = jimu.records.get(rt.name, ent.name, doc["id"], conn=conn)
    freeze_document(conn, rt, lg, ent.name, fresh, list(fresh.get(str(spec.get("lines") or "lines")) or []))
    return False


def stock_unfreeze_action(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                          spec: Mapping[str, Any], actor: Actor) -> bool:
    """Transition action ``{"kind": "stock_unfreeze"}``: lift the document's freeze (run
    ``before_postings`` on ``post`` so the count's own adjustment passes)."""
    unfreeze_document(conn, rt.name, ent.name, doc["id"])
    return False

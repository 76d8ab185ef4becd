"""What a batch allows: quality status, expiry, and the refusal of a typed (pinned) batch.

``quality_status`` (food_safety) is ``released``, ``quarantine`` or ``rejected``; only
released batches (and batches of apps without the field) feed FEFO or a pin. A batch
typed on a line pins the allocation; it is refused with 409 when quarantined or
rejected (``batch.quarantined``), expired (``batch.expired``) or short (``batch.short``).
Every refusal names the item as ``sku name`` and the batch number, in zh and en
(``messages``; the API picks the caller's language for ``detail``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import Conflict, FieldError
from jimu.platform.ledger import Ledger
from jimu.platform.schema import column_name
from jimu.runtime.apps import AppRuntime

__all__ = ["BatchInfo", "batch_info", "blocked_batches", "check_pin", "item_label", "refusal", "RELEASED",
           "BLOCKED"]

RELEASED = "released"
BLOCKED = ("quarantine", "rejected")


class BatchInfo(dict[str, Any]):
    """A batch row: ``id``, ``batch_no``, ``item``, ``expiry_date``, ``quality_status``."""


def _col(rt: AppRuntime, entity: str, field: str) -> Any:
    ent = rt.spec.entity(entity)
    f = ent.field(field) if ent is not None else None
    return rt.tables(entity).c[column_name(f)] if f is not None else None


def batch_info(conn: Connection, rt: AppRuntime, batch_id: Any, entity: str = "batch") -> BatchInfo | None:
    """The batch record's rule-relevant fields (None when there is no such batch)."""
    if rt.spec.entity(entity) is None:
        return None
    table = rt.tables(entity)
    names = ("batch_no", "item", "expiry_date", "quality_status")
    cols = {n: c for n in names if (c := _col(rt, entity, n)) is not None}
    row = conn.execute(sa.select(table.c.id, *cols.values()).where(table.c.id == int(batch_id))).first()
    if row is None:
        return None
    return BatchInfo({"id": row[0], **dict(zip(cols, row[1:], strict=True))})


def blocked_batches(conn: Connection, rt: AppRuntime, entity: str = "batch") -> set[str]:
    """Ids (as text) of batches FEFO must not take: quarantined or rejected."""
    col = _col(rt, entity, "quality_status")
    if col is None:
        return set()
    table = rt.tables(entity)
    return {str(r[0]) for r in conn.execute(sa.select(table.c.id).where(col.in_(BLOCKED)))}


def item_label(conn: Connection, rt: AppRuntime, item_id: Any) -> str:
    """``sku name`` of an item (the id when the item or its fields are missing)."""
    if item_id is None or rt.spec.entity("item") is None:
        return str(item_id)
    table = rt.tables("item")
    cols = [c for n in ("sku", "name") if (c := _col(rt, "item", n)) is not None]
    row = conn.execute(sa.select(*cols).where(table.c.id == int(item_id))).first() if cols else None
    return " ".join(str(v) for v in row if v) if row else str(item_id)


def refusal(code: str, zh: str, en: str, field: str = "batch", **extra: Any) -> Conflict:
    """A 409 with both languages (``messages``) and a field error."""
    return Conflict(en, code=code, errors=[FieldError(field, code, en)],
                    extra={"messages": {"zh": zh, "en": en}, **extra})


def check_pin(conn: Connection, rt: AppRuntime, lg: Ledger, dims: Mapping[str, Any], qty: Any, batch_dim: str,
              entity: str = "batch", today: date | None = None) -> None:
    """Refuse taking ``qty`` of the batch typed in ``dims`` unless it is released,
    unexpired and has that much available at the line's warehouse."""
    from jimu.platform.ledger import balances

    info = batch_info(conn, rt, dims[batch_dim], entity)
    label = item_label(conn, rt, dims.get("item"))
    if info is None:
        raise refusal("batch.not_found", f"{label}:批次 {dims[batch_dim]} 不存在",
                      f"{label}: batch {dims[batch_dim]} does not exist")
    no = info.get("batch_no") or info["id"]
    if info.get("item") is not None and dims.get("item") is not None and str(info["item"]) != str(dims["item"]):
        raise refusal("batch.item_mismatch", f"批次 {no} 不属于商品 {label}", f"Batch {no} is not a batch of {label}")
    status = info.get("quality_status")
    if status in BLOCKED:
        zh_state = "已隔离" if status == "quarantine" else "已判定不合格"
        raise refusal("batch.quarantined", f"{label} 的批次 {no} {zh_state},不能出库",
                      f"Batch {no} of {label} is {'quarantined' if status == 'quarantine' else 'rejected'}"
                      " and cannot be taken", batch=info["id"], quality_status=status)
    expiry = info.get("expiry_date")
    day = today or clock.today()
    if expiry is not None and expiry < day:
        raise refusal("batch.expired", f"{label} 的批次 {no} 已于 {expiry.isoformat()} 过期,不能出库",
                      f"Batch {no} of {label} expired on {expiry.isoformat()} and cannot be taken",
                      batch=info["id"], expiry_date=expiry.isoformat())
    have = sum(lg.to_units(r["available"]) for r in balances(conn, rt.name, lg, **dict(dims)))
    need = lg.to_units(qty)
    if have < need:
        a, n = lg.to_qty(have), lg.to_qty(need)
        raise refusal("batch.short", f"{label} 的批次 {no} 可用 {a},需要 {n}",
                      f"Batch {no} of {label}: {a} available, {n} requested",
                      batch=info["id"], requested=str(n), available=str(a))

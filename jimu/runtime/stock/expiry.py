"""Expiry on the way in: a received or produced batch's expiry date, and the refusal of
an already expired one.

- ``expiry_date`` left blank defaults to ``production_date + item.shelf_life_days`` (food
  safety's item field), for purchase receipts and work-order output alike: both go through
  the ``batch_from`` receipt option (:func:`jimu.runtime.workflow.batches.resolve_batch`).
- A receipt of a batch whose expiry is before today is 422 ``batch.expired`` naming the
  item (``sku name``) and the batch number in zh and en, unless the document carries the
  override ``expired_override`` (a reason, given as the transition's input) and the one
  receiving holds the ``manager`` (or ``admin``) role. The override is stored on the
  document, so the audit trail says who accepted what and why.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import FieldError, ValidationError
from jimu.platform.actor import Actor
from jimu.platform.schema import column_name
from jimu.runtime.apps import AppRuntime

__all__ = ["OVERRIDE_FIELD", "OVERRIDE_ROLES", "default_expiry", "check_received_expiry", "as_date"]

OVERRIDE_FIELD = "expired_override"
OVERRIDE_ROLES = frozenset({"manager", "admin"})
SHELF_LIFE_FIELD = "shelf_life_days"


def as_date(value: Any) -> date | None:
    """A date from a record value (date or ISO text); None when blank."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _shelf_life(conn: Connection, rt: AppRuntime, item: Any) -> int | None:
    ent = rt.spec.entity("item")
    f = ent.field(SHELF_LIFE_FIELD) if ent is not None else None
    if f is None or item is None:
        return None
    table = rt.tables("item")
    days = conn.execute(sa.select(table.c[column_name(f)]).where(table.c.id == int(item))).scalar()
    return int(days) if days is not None else None


def default_expiry(conn: Connection, rt: AppRuntime, values: MutableMapping[str, Any]) -> None:
    """Fill a blank ``expiry_date`` of batch ``values`` from the production date and the
    item's shelf life (in place; nothing when either is missing)."""
    if values.get("expiry_date") not in (None, ""):
        return
    produced = as_date(values.get("production_date"))
    days = _shelf_life(conn, rt, values.get("item")) if produced is not None else None
    if produced is not None and days is not None:
        values["expiry_date"] = produced + timedelta(days=days)


def check_received_expiry(conn: Connection, rt: AppRuntime, batch: Mapping[str, Any], doc: Mapping[str, Any],
                          actor: Actor, today: date | None = None) -> None:
    """422 ``batch.expired`` when ``batch`` (item, batch_no, expiry_date) expired before
    today, unless a manager receives it with the override on ``doc``."""
    from jimu.runtime.stock.batch_rules import item_label

    expiry = as_date(batch.get("expiry_date"))
    day = today or clock.today()
    if expiry is None or expiry >= day:
        return
    reason = doc.get(OVERRIDE_FIELD)
    if isinstance(reason, str) and reason.strip() and OVERRIDE_ROLES & set(actor.roles):
        return
    label = item_label(conn, rt, batch.get("item"))
    no = batch.get("batch_no")
    zh = f"{label} 的批次 {no} 已于 {expiry.isoformat()} 过期,不能收货(经理可填写接收理由 {OVERRIDE_FIELD} 后收货)"
    en = (f"Batch {no} of {label} expired on {expiry.isoformat()} and cannot be received"
          f" (a manager may receive it with the input {OVERRIDE_FIELD}: the reason)")
    raise ValidationError(en, code="batch.expired", errors=[FieldError("expiry_date", "batch.expired", en)],
                          extra={"messages": {"zh": zh, "en": en}, "batch_no": no, "expiry_date": expiry.isoformat()})

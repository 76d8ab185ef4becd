"""应收超期预警: one inbox notice per overdue sales invoice to every active user with the
``sales`` or ``finance`` role, never repeated.

An invoice is overdue when it is a sales invoice, issued or partially paid, and its due
date is before the app clock's date. The marker is the invoice's ``overdue_notified_at``:
one guarded ``UPDATE ... WHERE overdue_notified_at IS NULL ... RETURNING`` claims the
invoices and the notices are written in the same transaction, so a second run, a second
worker or a retried job finds nothing left to claim (a rolled-back run leaves no marker).

It runs on the scheduler as the recurring task ``money.overdue`` (a ``stock.periodic`` job,
hourly) and as a due runner of the test clock (``POST /api/admin/clock`` runs it at the new
time); both call :func:`notify_overdue`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.money import decimal_str, to_decimal
from jimu.runtime.money.invoices import INVOICE

__all__ = ["TASK", "EVERY", "ROLES", "notify_overdue", "notify_app", "has_invoices", "run_due", "register"]

log = logging.getLogger("jimu.money")
TASK = "money.overdue"
EVERY = timedelta(hours=1)
ROLES = ("sales", "finance")
MARKER = "overdue_notified_at"


def has_invoices(conn: Connection) -> bool:
    """Whether any app has an invoice table (no job is queued otherwise)."""
    return any(name.endswith(f"__{INVOICE}") for name in sa.inspect(conn).get_table_names())


def _recipients(conn: Connection) -> list[str]:
    from jimu.platform.store.tables import users

    out = []
    for row in conn.execute(sa.select(users.c.username, users.c.roles).where(users.c.active.is_(True))
                            .order_by(users.c.username)):
        roles = row.roles if isinstance(row.roles, list) else json.loads(row.roles or "[]")
        if set(ROLES) & set(roles):
            out.append(str(row.username))
    return out


def notify_app(jimu: Any, conn: Connection, app: str, now: datetime) -> int:
    """Claim and notify the overdue sales invoices of one app; returns how many."""
    from jimu.runtime.workflow.inbox import add_entries

    rt = jimu.apps.get(app, conn)
    ent = rt.spec.entity(INVOICE)
    if ent is None or ent.field(MARKER) is None:
        return 0
    t = rt.tables(INVOICE)
    today = now.date()
    claimed = conn.execute(
        sa.update(t).where(t.c.kind == "sales", t.c.state.in_(("issued", "partially_paid")),
                           t.c.due_date < today, t.c[MARKER].is_(None))
        .values({MARKER: now, "version": t.c.version + 1, "updated_at": now})
        .returning(t.c.id, t.c.number, t.c.due_date, t.c.open_amount, t.c.currency)).all()
    if not claimed:
        return 0
    users = _recipients(conn)
    for row in sorted(claimed, key=lambda r: int(r.id)):
        days = (today - row.due_date).days
        open_text = decimal_str(to_decimal(row.open_amount)) if row.open_amount is not None else "?"
        title = (f"应收超期:发票 {row.number} 已逾期 {days} 天,未收 {row.currency} {open_text} / "
                 f"Overdue receivable: invoice {row.number} is {days} days past due, {row.currency} {open_text} open")
        add_entries(conn, users, app=app, kind="notification", title=title, entity=INVOICE, record=int(row.id),
                    payload={"code": "invoice.overdue", "days": days, "open_amount": open_text}, at=now)
    return len(claimed)


def notify_overdue(jimu: Any, conn: Connection, now: datetime) -> int:
    """Every published app's overdue invoices (:func:`notify_app`); returns how many."""
    from jimu.platform.store.tables import apps

    total = 0
    names = [str(n) for n in conn.execute(sa.select(apps.c.name).where(apps.c.published_version > 0)
                                          .order_by(apps.c.name)).scalars()]
    for app in names:
        try:
            total += notify_app(jimu, conn, app, now)
        except (LookupError, sa.exc.NoSuchTableError):  # an app whose invoice table is not there
            log.debug("no invoices in %s", app)
    return total


def run_due(jimu: Any, now: datetime | None = None) -> int:
    """Due runner of the test clock: notify at ``now`` in one write transaction."""
    with jimu.db.write() as conn:
        if not has_invoices(conn):
            return 0
        return notify_overdue(jimu, conn, now or clock.now())


def register() -> None:
    """The recurring scheduler task and the test clock's due runner (idempotent)."""
    from jimu.runtime.due import register_due_runner
    from jimu.runtime.stock.sweeps import Periodic, register_periodic

    register_periodic(Periodic(TASK, EVERY, notify_overdue, has_invoices))
    register_due_runner(run_due)

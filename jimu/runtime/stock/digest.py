"""The near-expiry digest: one inbox entry per user of the notified roles per day, listing
every batch close to its expiry with its stock (临期批次日报).

Replaces the per-batch warning (one clock step gave 71 entries "批次临期" naming nothing).
Automation action ``near_expiry_digest`` (a schedule automation without an entity, so it
runs once per tick)::

    {"type": "near_expiry_digest", "roles": ["warehouse", "sales"], "days": 30, "ledger": "stock"}

A batch is listed when it is released (or has no quality status), has stock on hand, and
its expiry is today or within ``item.near_expiry_days`` days (``days`` when the item says
nothing). One line per (batch, warehouse): ``{sku, name, batch, batch_no, warehouse,
warehouse_name, expiry, days_left, qty}``, soonest expiry first. The entry's title names
them (``sku name batch_no @ warehouse, expiry, qty``); the lines are in its payload and
the inbox shows them as ``lines``. A user who cannot read batches gets no digest; a user
whose row filters hide an item or a warehouse does not see those lines. A second run on
the same day adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.platform.actor import Actor
from jimu.platform.ledger import as_ledger, balances
from jimu.platform.schema import column_name
from jimu.runtime.apps import AppRuntime
from jimu.runtime.stock.batch_rules import BLOCKED

__all__ = ["DIGEST", "near_expiry_lines", "send_digest", "digest_action"]

DIGEST = "near_expiry"
_MAX_IN_TITLE = 20


def _values(conn: Connection, rt: AppRuntime, entity: str, fields: tuple[str, ...], ids: set[int] | None = None
            ) -> dict[int, dict[str, Any]]:
    ent = rt.spec.entity(entity)
    if ent is None:
        return {}
    table = rt.tables(entity)
    cols = {n: table.c[column_name(f)] for n in fields if (f := ent.field(n)) is not None}
    stmt = sa.select(table.c.id, *cols.values())
    if ids is not None:
        stmt = stmt.where(table.c.id.in_(sorted(ids)))
    return {int(r[0]): dict(zip(cols, r[1:], strict=True)) for r in conn.execute(stmt)}


def near_expiry_lines(conn: Connection, rt: AppRuntime, days: int, ledger: str = "stock",
                      batch_entity: str = "batch") -> list[dict[str, Any]]:
    """Every (batch, warehouse) with stock on hand whose released batch expires within its
    item's near-expiry days (``days`` by default), soonest first."""
    spec = rt.spec.ledger(ledger)
    if spec is None or "batch" not in [d.name for d in spec.dimensions]:
        return []
    today = clock.today()
    batches = _values(conn, rt, batch_entity, ("batch_no", "item", "expiry_date", "quality_status"))
    items = _values(conn, rt, "item", ("sku", "name", "near_expiry_days"))
    due: dict[int, dict[str, Any]] = {}
    for bid, b in batches.items():
        expiry = b.get("expiry_date")
        if expiry is None or b.get("quality_status") in BLOCKED:
            continue
        item = items.get(int(b["item"])) if b.get("item") is not None else None
        window = item.get("near_expiry_days") if item else None
        left = (expiry - today).days
        if 0 <= left <= (days if window is None else int(window)):
            due[bid] = {**b, "days_left": left, "item_row": item or {}}
    if not due:
        return []
    lg = as_ledger(spec)
    rows = [r for r in balances(conn, rt.name, lg) if r.get("batch") is not None
            and str(r["batch"]).isdigit() and int(r["batch"]) in due and r["on_hand"] > 0]
    names = _values(conn, rt, "warehouse", ("name",), {int(r["warehouse"]) for r in rows if r.get("warehouse")})
    out = []
    for r in rows:
        b = due[int(r["batch"])]
        wh = int(r["warehouse"]) if r.get("warehouse") is not None else None
        out.append({"item": int(b["item"]), "sku": b["item_row"].get("sku"), "name": b["item_row"].get("name"),
                    "batch": int(r["batch"]), "batch_no": b.get("batch_no"), "warehouse": wh,
                    "warehouse_name": (names.get(wh) or {}).get("name") if wh is not None else None,
                    "expiry": b["expiry_date"].isoformat(), "days_left": b["days_left"], "qty": str(r["on_hand"])})
    out.sort(key=lambda x: (x["expiry"], str(x["sku"]), str(x["batch_no"]), str(x["warehouse_name"])))
    return out


def _title(lines: list[dict[str, Any]]) -> str:
    head = f"临期批次 {len(lines)} 条 / {len(lines)} batch lines near expiry: "
    parts = [f"{ln['sku']} {ln['name']} {ln['batch_no']} @ {ln['warehouse_name']}, {ln['expiry']}, {ln['qty']}"
             for ln in lines[:_MAX_IN_TITLE]]
    more = f"; … +{len(lines) - _MAX_IN_TITLE}" if len(lines) > _MAX_IN_TITLE else ""
    return head + "; ".join(parts) + more


def _recipients(conn: Connection, roles: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    import json

    from jimu.platform.store.tables import users

    out = []
    for row in conn.execute(sa.select(users.c.username, users.c.roles).where(users.c.active.is_(True))
                            .order_by(users.c.username)):
        have = row.roles if isinstance(row.roles, list) else json.loads(row.roles or "[]")
        if roles & set(have):
            out.append((str(row.username), tuple(have)))
    return out


def _visible(jimu: Any, rt: AppRuntime, user: str, user_roles: tuple[str, ...], lines: list[dict[str, Any]],
             batch_entity: str) -> list[dict[str, Any]]:
    from jimu.runtime.access import AccessPolicy

    policy = AccessPolicy(jimu, rt, Actor(user, user_roles))
    if not policy.can(batch_entity, "read"):
        return []
    keep = lines
    for key, entity in (("item", "item"), ("warehouse", "warehouse"), ("batch", batch_entity)):
        if policy.can(entity, "read") and policy.row_clause(entity) is not None:
            seen = policy.visible_ids(entity, {ln[key] for ln in keep if ln[key] is not None})
            keep = [ln for ln in keep if str(ln[key]) in seen]
    return keep


def _sent_today(conn: Connection, app: str, user: str) -> bool:
    from jimu.runtime.workflow.tables import inbox

    start = datetime.combine(clock.today(), time.min, tzinfo=clock.now().tzinfo)
    rows = conn.execute(sa.select(inbox.c.payload).where(inbox.c.app == app, inbox.c.user == user,
                                                         inbox.c.kind == "notification", inbox.c.at >= start))
    return any(isinstance(p, Mapping) and p.get("digest") == DIGEST for (p,) in rows)


def send_digest(jimu: Any, conn: Connection, rt: AppRuntime, roles: set[str], days: int, ledger: str = "stock",
                batch_entity: str = "batch") -> list[int]:
    """Add today's digest to the inbox of every user of ``roles`` (once a day); returns
    the entry ids."""
    from jimu.runtime.workflow.inbox import add_entry

    lines = near_expiry_lines(conn, rt, days, ledger, batch_entity)
    if not lines:
        return []
    ids = []
    for user, user_roles in _recipients(conn, roles):
        mine = _visible(jimu, rt, user, user_roles, lines, batch_entity)
        if not mine or _sent_today(conn, rt.name, user):
            continue
        ids.append(add_entry(conn, app=rt.name, user=user, kind="notification", title=_title(mine),
                             entity=batch_entity, payload={"digest": DIGEST, "day": clock.today().isoformat(),
                                                           "lines": mine}))
    return ids


def _run(ctx: Any, spec: Mapping[str, Any]) -> list[int]:
    roles = set(spec.get("roles") or ["warehouse", "sales"])
    return send_digest(ctx.jimu, ctx.conn, ctx.rt, roles, int(spec.get("days") or 30), str(spec.get("ledger") or "stock"),
                       str(spec.get("batch_entity") or "batch"))


def digest_action() -> Any:
    """The ``near_expiry_digest`` automation action."""
    from jimu.runtime.automations.actions import ActionKind

    return ActionKind("near_expiry_digest", "One near-expiry digest per user of the roles per day "
                      "(sku, name, batch, warehouse, expiry, qty).", _run)

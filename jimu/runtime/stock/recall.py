"""Recall in one call (DESIGN 16): down the genealogy of a batch, a ``recall`` record naming
every affected batch, customer and quantity, every remaining unit moved to quarantine and
sales and finance told through their inbox.

:func:`quarantine_batches` is the stock side alone (release the holds on the batches, set
their quality status when the batch entity has one, move what is on hand to the
``quarantine`` bucket); the batch quality-status wiring can call it as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError, PermissionDenied, ValidationError
from jimu.platform.actor import Actor
from jimu.platform.ledger import Doc, Ledger, MoveLine, post
from jimu.platform.ledger.spec import dim_text
from jimu.platform.ledger.tables import balance, reservation
from jimu.runtime.access import AccessPolicy
from jimu.runtime.stock.batch_trace import TraceContext, affected, open_trace
from jimu.runtime.stock.genealogy import walk
from jimu.runtime.workflow.inbox import add_entries

__all__ = ["RECALL_ENTITY", "RECALL_ROLES", "Quarantined", "quarantine_batches", "recall_batch"]

RECALL_ENTITY = "recall"
LINE_ENTITY = "recall_line"
#: Who may recall (DESIGN 16); admin is always allowed.
RECALL_ROLES = frozenset({"manager", "admin"})
#: Who is told.
NOTIFY_ROLES = frozenset({"sales", "finance"})
_CHUNK = 500


@dataclass
class Quarantined:
    """What :func:`quarantine_batches` did: units moved per (batch, warehouse), units left
    in transit per (batch, warehouse), and the released holds as (batch, entity, id, units)."""

    moved: dict[tuple[str, str | None], int] = field(default_factory=dict)
    in_transit: dict[tuple[str, str | None], int] = field(default_factory=dict)
    released: list[tuple[str, str | None, str | None, int]] = field(default_factory=list)
    movements: list[int] = field(default_factory=list)


def _keys(conn: Connection, app: str, lg: Ledger, batch_dim: str, batches: Sequence[str]) -> list[Any]:
    slot = balance.c[f"d{lg.dimensions.index(batch_dim) + 1}"]
    rows: list[Any] = []
    for i in range(0, len(batches), _CHUNK):
        rows += conn.execute(sa.select(balance.c.key, balance.c.dims, balance.c.in_transit).where(
            balance.c.app == app, balance.c.ledger == lg.name, slot.in_(list(batches[i:i + _CHUNK])))).all()
    return rows


def quarantine_batches(conn: Connection, app: str, lg: Ledger, batches: Sequence[Any], *, batch_dim: str = "batch",
                       user: str | None = None, reason: str | None = None, doc: Doc | None = None) -> Quarantined:
    """Move every unit on hand of ``batches`` to quarantine inside ``conn``'s write
    transaction: active reservations on them are released first (recalled goods must not
    ship), then on_hand goes to the quarantine bucket. Units in transit cannot move until
    they arrive; they are reported. Idempotent: a batch already quarantined moves nothing."""
    out = Quarantined()
    texts = [str(dim_text(b)) for b in batches]
    rows = _keys(conn, app, lg, batch_dim, texts)
    keys = [r.key for r in rows]
    r = reservation.c
    holds: list[Any] = []
    for i in range(0, len(keys), _CHUNK):
        holds += conn.execute(sa.select(r.id, r.open_qty, r.dims, r.doc_entity, r.doc_id).where(
            r.app == app, r.ledger == lg.name, r.state == "active", r.key.in_(keys[i:i + _CHUNK]))
            .order_by(r.key, r.id)).all()
    if holds:
        res = post(conn, app, lg, "release", [MoveLine({}, None, reservation=int(h.id)) for h in holds],
                   user=user, reason=reason or "recall")
        out.movements += res.movements
        out.released = [(str(dim_text(h.dims.get(batch_dim))), h.doc_entity, h.doc_id, int(h.open_qty))
                        for h in holds]
    lines: list[MoveLine] = []
    b = balance.c
    for row in rows:
        on_hand = conn.execute(sa.select(b.on_hand, b.reserved).where(
            b.app == app, b.ledger == lg.name, b.key == row.key)).one()
        units = int(on_hand.on_hand) - int(on_hand.reserved)
        where = (str(dim_text(row.dims.get(batch_dim))), dim_text(row.dims.get("warehouse")))
        if units > 0:
            lines.append(MoveLine(dict(row.dims), lg.to_qty(units)))
            out.moved[where] = out.moved.get(where, 0) + units
        if int(row.in_transit) > 0:
            out.in_transit[where] = out.in_transit.get(where, 0) + int(row.in_transit)
    if lines:
        out.movements += post(conn, app, lg, "quarantine", lines, user=user, reason=reason or "recall",
                              doc=doc).movements
    return out


def _mark_batches(policy: AccessPolicy, conn: Connection, entity: str, batches: Sequence[str], reason: str) -> None:
    """Set ``quality_status``/``quarantine_reason`` where the batch entity has them."""
    ent = policy.rt.spec.entity(entity)
    status = ent.field("quality_status") if ent is not None else None
    if ent is None or status is None:
        return
    choices = {c.get("value") for c in status.options.get("choices", [])}
    if "quarantine" not in choices:
        return
    values: dict[str, Any] = {"quality_status": "quarantine"}
    if ent.field("quarantine_reason") is not None:
        values["quarantine_reason"] = reason[:255]
    for b in batches:
        policy.jimu.records.update(policy.app, entity, int(b), values, actor=policy.actor, conn=conn)


def _users_with(conn: Connection, roles: frozenset[str]) -> list[str]:
    from jimu.platform.store.tables import users

    names = []
    for row in conn.execute(sa.select(users.c.username, users.c.roles).where(users.c.active.is_(True))):
        have = row.roles if isinstance(row.roles, list) else json.loads(row.roles or "[]")
        if roles & set(have):
            names.append(str(row.username))
    return names


def check_recaller(actor: Actor) -> None:
    """403 ``recall.forbidden`` unless the caller is a manager or an admin."""
    if not RECALL_ROLES & set(actor.roles):
        raise PermissionDenied("only a manager or an administrator may recall a batch (只有经理或管理员可以召回批次)",
                               code="recall.forbidden")


def check_reason(reason: Any) -> str:
    """The reason, stripped; 422 ``recall.reason`` when missing."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("a recall needs a reason (召回需要填写原因)", code="recall.reason",
                              errors=[FieldError("reason", "required", "say why the batch is recalled")])
    return reason.strip()


def recall_batch(policy: AccessPolicy, batch_id: Any, reason: Any) -> dict[str, Any]:
    """Recall batch ``batch_id`` as the caller: checks (403, 422, 404), then in one write
    transaction the recall record, the quarantine moves, the batch statuses and the inbox
    entries. Returns the recall record as stored."""
    check_recaller(policy.actor)
    text = check_reason(reason)
    ctx, batch = open_trace(policy, batch_id)
    if policy.rt.spec.entity(RECALL_ENTITY) is None:
        raise ValidationError("install the recall unit to record recalls (请先安装批次召回单元)", code="recall.not_installed")
    jimu = policy.jimu
    with jimu.db.write() as conn:
        w = walk(conn, policy.app, ctx.lg, policy.rt.spec, batch["id"], "down", batch_dim=ctx.batch_dim,
                 max_depth=1000, max_nodes=1_000_000)
        shipped = affected(ctx, w)
        batches = list(w.nodes)
        q = quarantine_batches(conn, policy.app, ctx.lg, batches, batch_dim=ctx.batch_dim, user=policy.actor.username,
                               reason=f"recall: {text}"[:500])
        # after the moves: the quality-status listener then finds nothing left to move
        _mark_batches(policy, conn, ctx.batch_entity, batches, text)
        data = _record(ctx, w, batch, text, shipped, q)
        per_customer = [x for x in data["lines"] if x["kind"] == "shipped"]
        data["lines"] = [x for x in data["lines"] if x["kind"] != "shipped"]
        rec = jimu.records.create(policy.app, RECALL_ENTITY, data, actor=policy.actor, conn=conn)
        _bulk_lines(conn, policy, int(rec["id"]), len(data["lines"]), per_customer)
        _notify(conn, policy, rec)
        rec = jimu.records.get(policy.app, RECALL_ENTITY, rec["id"], conn=conn)
    return rec


def _bulk_lines(conn: Connection, policy: AccessPolicy, rec_id: int, start: int, lines: list[dict[str, Any]]) -> None:
    """The shipped lines of a recall in one batched insert: a recall can reach thousands of
    customers, and each line's links (batch, item, customer) were read from the ledger and
    the app's own rows in this transaction, so the per-row checks of the record service
    (four queries a line) would only repeat what is known."""
    if not lines:
        return
    from jimu.core.clock import now
    from jimu.runtime.records.codec import columns_for

    ent = policy.rt.entity(LINE_ENTITY)
    table = policy.rt.tables(LINE_ENTITY)
    at, user = now(), policy.actor.username
    rows = []
    for i, line in enumerate(lines):
        cols = columns_for(ent, {f.name: line.get(f.name) for f in ent.active_fields if f.stored})
        cols.update(version=1, created_at=at, updated_at=at, created_by=user, updated_by=user,
                    _parent_id=rec_id, _idx=start + i)
        rows.append(cols)
    for i in range(0, len(rows), 5000):
        conn.execute(table.insert(), rows[i:i + 5000])


def _record(ctx: TraceContext, w: Any, batch: dict[str, Any], reason: str, shipped: list[Any],
            q: Quarantined) -> dict[str, Any]:
    items = {b: n.item for b, n in w.nodes.items()}
    lines: list[dict[str, Any]] = []
    for a in sorted(shipped, key=lambda a: (int(a.batch), str(a.customer), a.doc)):
        lines.append({"kind": "shipped", "batch": int(a.batch), "item": _int(items.get(a.batch)),
                      "customer": _int(a.customer), "document": f"{a.doc[0]}#{a.doc[1]}",
                      "qty": ctx.lg.to_qty(a.units)})
    for kind, amounts in (("quarantined", q.moved), ("in_transit", q.in_transit)):
        for (b, wh), units in sorted(amounts.items(), key=lambda x: (int(x[0][0]), str(x[0][1]))):
            lines.append({"kind": kind, "batch": int(b), "item": _int(items.get(b)), "warehouse": _int(wh),
                          "qty": ctx.lg.to_qty(units)})
    for b, entity, doc_id, units in q.released:
        lines.append({"kind": "released", "batch": int(b), "item": _int(items.get(b)),
                      "document": f"{entity}#{doc_id}", "qty": ctx.lg.to_qty(units)})
    return {
        "batch": batch["id"], "item": batch.get("item"), "reason": reason,
        "batches_count": len(w.nodes),
        "customers_count": len({a.customer for a in shipped if a.customer is not None}),
        "shipped_qty": ctx.lg.to_qty(sum(a.units for a in shipped)),
        "quarantined_qty": ctx.lg.to_qty(sum(q.moved.values())),
        "lines": lines,
    }


def _int(value: Any) -> int | None:
    return int(value) if value is not None and str(value).isdigit() else None


def _notify(conn: Connection, policy: AccessPolicy, rec: dict[str, Any]) -> None:
    title = (f"批次召回 {rec.get('number')}:{rec.get('customers_count')} 个客户受影响 / "
             f"Batch recall {rec.get('number')}: {rec.get('customers_count')} customers affected")
    add_entries(conn, _users_with(conn, NOTIFY_ROLES), app=policy.app, kind="notification", title=title,
                entity=RECALL_ENTITY, record=int(rec["id"]))

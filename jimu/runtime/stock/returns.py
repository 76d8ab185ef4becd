"""Sales and purchase returns (退货) on the stock ledger.

A return names its order and lists items with quantities. It may never take back more
than the order moved: for a sales return, what the order shipped (the ``on_hand`` it took
out, read from the ledger movements of that order, so partial shipments count as they
happened) less the other approved or received returns of the same order; for a purchase
return, what the order received less the other approved or shipped returns. Above that the
return is refused with 422 ``return.exceeds`` listing, per item, the quantities asked,
moved, already returned and still returnable (:func:`check_returnable`, run at approval
and again when the goods move, inside the same transaction).

Moving the goods:

- Where stock is kept by batch, a line names its batch; a line without one comes back in
  the batch its order moved that item in, when there was exactly one (:func:`order_batches`).
- :func:`receive_sales_return`: lines with reason ``quality`` land in the ``quarantine``
  bucket (blocked, not available), the others back in ``on_hand``, at the return's
  warehouse; movement kinds ``return_quarantine`` / ``return_in``.
- :func:`ship_purchase_return`: ``-on_hand`` at the return's warehouse (guarded: stock that
  is reserved for someone else is not available to send back); a ``quality`` line is taken
  from ``quarantine`` first (the defective goods set aside) and the rest from on_hand;
  movement kind ``return_out``.

Both value the goods at the moving average (a return in or out leaves the average as it
is) and send one ``ledger.moved`` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import FieldError, ValidationError
from jimu.platform.ledger import Doc, Ledger
from jimu.platform.ledger.moves import Line, insert_movements, update_balances
from jimu.platform.ledger.spec import dim_text
from jimu.platform.ledger.tables import balance, movement
from jimu.platform.ledger.valuation import revalue
from jimu.runtime.stock.common import User, emit_moved, username

__all__ = ["RETURN_KINDS", "check_returnable", "moved_by_order", "order_batches", "receive_sales_return",
           "returned_by_order", "ship_purchase_return"]

#: Per return entity: (order entity, order field, direction, return states that count as returned).
RETURN_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "sales_return": ("sales_order", "sales_order", "shipped", ("approved", "received")),
    "purchase_return": ("purchase_order", "purchase_order", "received", ("approved", "shipped")),
}
_M = movement.c


def moved_by_order(conn: Connection, app: str, lg: Ledger, order_entity: str, order_id: Any,
                   direction: str) -> dict[str, int]:
    """Units per item (id text) the order moved through ``on_hand``: what it shipped out
    (``direction="shipped"``) or received in (``"received"``), from its movements."""
    rows = conn.execute(sa.select(_M.dims, _M.d_on_hand).where(
        _M.app == app, _M.ledger == lg.name, _M.doc_entity == order_entity, _M.doc_id == dim_text(order_id)))
    out: dict[str, int] = {}
    sign = -1 if direction == "shipped" else 1
    for dims, d in rows:
        d = int(d or 0) * sign
        if d > 0:
            item = dim_text((dims or {}).get("item")) or ""
            out[item] = out.get(item, 0) + d
    return out


def returned_by_order(conn: Connection, rt: Any, lg: Ledger, entity: str, order_field: str, order_id: Any,
                      states: Sequence[str], exclude: Any) -> dict[str, int]:
    """Units per item on the other returns of the same order in ``states``."""
    head, line = rt.tables(entity), rt.tables(f"{entity}_line")
    sel = (sa.select(line.c.item, line.c.qty).select_from(line.join(head, line.c._parent_id == head.c.id))
           .where(head.c[order_field] == order_id, head.c.state.in_(list(states)), head.c.id != exclude))
    out: dict[str, int] = {}
    for item, qty in conn.execute(sel):
        key = dim_text(item) or ""
        out[key] = out.get(key, 0) + lg.to_units(qty or 0)
    return out


def check_returnable(jimu: Any, conn: Connection, app: str, lg: Ledger, entity: str, doc: Mapping[str, Any]) -> None:
    """Refuse (422 ``return.exceeds``) a return whose lines ask, per item, for more than
    the order moved less the other counting returns of that order."""
    order_entity, order_field, direction, states = RETURN_KINDS[entity]
    order_id = doc.get(order_field)
    rt = jimu.apps.get(app, conn)
    if conn.dialect.name == "postgresql":  # two returns of one order are checked one after the other
        order = rt.tables(order_entity)
        conn.execute(sa.select(order.c.id).where(order.c.id == order_id).with_for_update())
    moved = moved_by_order(conn, app, lg, order_entity, order_id, direction)
    returned = returned_by_order(conn, rt, lg, entity, order_field, order_id, states, doc["id"])
    asked: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, ln in enumerate(doc.get("lines") or []):
        key = dim_text(ln.get("item")) or ""
        asked[key] = asked.get(key, 0) + lg.to_units(ln.get("qty") or 0)
        first.setdefault(key, i)
    errors: list[FieldError] = []
    details: list[dict[str, Any]] = []
    for key, units in asked.items():
        left = max(moved.get(key, 0) - returned.get(key, 0), 0)
        if units <= left:
            continue
        q = lg.to_qty
        msg = (f"return of item {key} exceeds what the {order_entity.replace('_', ' ')} {direction}: "
               f"requested {q(units)}, {direction} {q(moved.get(key, 0))}, already returned "
               f"{q(returned.get(key, 0))}, returnable {q(left)}")
        errors.append(FieldError(f"lines.{first[key]}.qty", "return.exceeds", msg))
        details.append({"line": first[key], "item": key, "requested": str(q(units)),
                        "moved": str(q(moved.get(key, 0))), "direction": direction,
                        "returned": str(q(returned.get(key, 0))), "returnable": str(q(left))})
    if errors:
        summary = errors[0].message if len(errors) == 1 else f"{errors[0].message} (and {len(errors) - 1} more)"
        raise ValidationError(summary, code="return.exceeds", errors=errors,
                              extra={"lines": details, "order": {"entity": order_entity, "id": order_id}})


def _dims(lg: Ledger, ln: Mapping[str, Any], warehouse: Any, guess: Mapping[str, Any] | None = None) -> dict[str, Any]:
    dims: dict[str, Any] = {"item": ln.get("item"), "warehouse": warehouse}
    if "batch" in lg.dimensions:
        batch = ln.get("batch")
        dims["batch"] = batch if batch is not None else (guess or {}).get(dim_text(ln.get("item")) or "")
    return lg.dims(dims)


def order_batches(conn: Connection, app: str, lg: Ledger, entity: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """item id text -> the batch the return's order moved it in, for items it moved in
    exactly one batch (a line without a batch then comes back into that batch; with
    several candidates it stays without one)."""
    if "batch" not in lg.dimensions:
        return {}
    order_entity, order_field, direction, _states = RETURN_KINDS[entity]
    rows = conn.execute(sa.select(_M.dims, _M.d_on_hand).where(
        _M.app == app, _M.ledger == lg.name, _M.doc_entity == order_entity,
        _M.doc_id == dim_text(doc.get(order_field))))
    seen: dict[str, set[Any]] = {}
    for dims, d in rows:
        if int(d or 0) * (-1 if direction == "shipped" else 1) > 0 and (dims or {}).get("batch") is not None:
            seen.setdefault(dim_text(dims.get("item")) or "", set()).add(dims["batch"])
    return {item: next(iter(batches)) for item, batches in seen.items() if len(batches) == 1}


def _post(conn: Connection, app: str, lg: Ledger, lines: list[Line], user: User) -> list[int]:
    """Apply ``lines`` (guarded), value them at the moving average, write the movements."""
    if not lines:
        return []
    now = clock.now()
    update_balances(conn, lg, app, lines, at=now)
    entries: list[Any] = [(ln.dims, sum(ln.changes.values()), None) for ln in lines]
    for ln, cost in zip(lines, revalue(conn, lg, app, entries), strict=True):
        ln.unit_cost = cost
    ids = insert_movements(conn, lg.name, app, lines, user=username(user), at=now)
    emit_moved(conn, app, lg, ids, user)
    return ids


def receive_sales_return(conn: Connection, app: str, lg: Ledger, doc: Mapping[str, Any], *,
                         entity: str = "sales_return", user: User = None) -> list[int]:
    """Goods of a sales return arrive: ``+quarantine`` for quality lines, ``+on_hand`` for
    the others, at the return's warehouse. Returns the movement ids."""
    out: list[Line] = []
    guess = order_batches(conn, app, lg, entity, doc)
    for i, ln in enumerate(doc.get("lines") or []):
        q = lg.to_units(ln.get("qty") or 0)
        if q <= 0:
            continue
        quality = ln.get("reason") == "quality"
        bucket, kind = ("quarantine", "return_quarantine") if quality else ("on_hand", "return_in")
        out.append(Line(_dims(lg, ln, doc.get("warehouse"), guess), {bucket: q}, kind,
                        Doc(entity, doc["id"], ln.get("id"), "receive"), f"sales return ({ln.get('reason') or 'other'})",
                        index=i, requested=q))
    return _post(conn, app, lg, out, user)


def _quarantined(conn: Connection, app: str, lg: Ledger, dims: Mapping[str, Any]) -> int:
    got = conn.execute(sa.select(balance.c.quarantine).where(
        balance.c.app == app, balance.c.ledger == lg.name, balance.c.key == lg.key(dims))).scalar()
    return int(got or 0)


def ship_purchase_return(conn: Connection, app: str, lg: Ledger, doc: Mapping[str, Any], *,
                         entity: str = "purchase_return", user: User = None) -> list[int]:
    """Goods of a purchase return leave: ``-on_hand`` (quality lines ``-quarantine`` first)
    at the return's warehouse; 409 StockConflict when the stock is not there."""
    out: list[Line] = []
    blocked: dict[str, int] = {}
    guess = order_batches(conn, app, lg, entity, doc)
    for i, ln in enumerate(doc.get("lines") or []):
        q = lg.to_units(ln.get("qty") or 0)
        if q <= 0:
            continue
        dims = _dims(lg, ln, doc.get("warehouse"), guess)
        key = lg.key(dims)
        from_q = 0
        if ln.get("reason") == "quality":
            if key not in blocked:
                blocked[key] = _quarantined(conn, app, lg, dims)
            from_q = min(q, blocked[key])
            blocked[key] -= from_q
        changes = {b: -n for b, n in (("quarantine", from_q), ("on_hand", q - from_q)) if n}
        out.append(Line(dims, changes, "return_out", Doc(entity, doc["id"], ln.get("id"), "ship"),
                        f"purchase return ({ln.get('reason') or 'other'})", index=i, requested=q))
    return _post(conn, app, lg, out, user)


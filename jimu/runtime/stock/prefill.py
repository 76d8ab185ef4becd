"""The return dialog of the screens: from a shipped sales order (or a received purchase
order) a "new return" link opens the return form already filled with the order and one
line per item still returnable (what the order moved less the other approved returns),
so the user only lowers quantities and picks reasons. The same 422 ``return.exceeds``
guards what is finally approved; this is convenience, not a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jimu.runtime.stock.returns import RETURN_KINDS, moved_by_order, returned_by_order

__all__ = ["ORDER_RETURNS", "new_form_values", "related_actions"]

#: order entity -> (return entity, order states from which goods can come back)
ORDER_RETURNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sales_order": ("sales_return", ("shipped", "partially_shipped", "completed")),
    "purchase_order": ("purchase_return", ("received", "partially_received")),
}
_LABELS = {"sales_return": ("退货", "Return"), "purchase_return": ("退货给供应商", "Return to supplier")}


def related_actions(policy: Any, entity: str, record: Mapping[str, Any], lang: str) -> list[dict[str, str]]:
    """Links the detail page of ``record`` offers besides its transitions (a return)."""
    spec = ORDER_RETURNS.get(entity)
    if spec is None or record.get("state") not in spec[1]:
        return []
    ret = spec[0]
    if policy.rt.spec.entity(ret) is None or not policy.can(ret, "create"):
        return []
    zh, en = _LABELS[ret]
    field = RETURN_KINDS[ret][1]
    return [{"href": f"/app/{policy.app}/{ret}/new?{field}={record['id']}", "label": en if lang == "en" else zh,
             "name": f"new-{ret}"}]


def new_form_values(jimu: Any, policy: Any, entity: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Initial values of the new-record form of ``entity`` from the query string: for a
    return with its order named (``?sales_order=12``), the order and its returnable lines
    (the order must be readable by the caller, else nothing is filled)."""
    kind = RETURN_KINDS.get(entity)
    if kind is None or not str(query.get(kind[1]) or "").isdigit():
        return {}
    order_entity, order_field, direction, states = kind
    order_id = int(str(query[order_field]))
    policy.load(order_entity, order_id)  # 404 unless the caller may read that order
    spec = policy.rt.spec.ledger("stock")
    if spec is None:
        return {order_field: order_id}
    from jimu.platform.ledger import as_ledger

    lg = as_ledger(spec)
    with jimu.db.read() as conn:
        moved = moved_by_order(conn, policy.app, lg, order_entity, order_id, direction)
        returned = returned_by_order(conn, policy.rt, lg, entity, order_field, order_id, states, -1)
    lines = [{"item": int(item) if item.isdigit() else item, "qty": lg.to_qty(units - returned.get(item, 0)),
              "reason": "other"}
             for item, units in sorted(moved.items()) if units - returned.get(item, 0) > 0]
    return {order_field: order_id, "lines": lines}

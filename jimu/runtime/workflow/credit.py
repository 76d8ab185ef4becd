"""The credit-limit check of an order at submit (DESIGN 16, transition action ``credit_check``).

``{"kind": "credit_check", "before_postings": true, "partner": "customer", "limit": "credit_limit",
"lines": "lines", "quantity": "qty", "price": "price", "done": "shipped_qty",
"override": "override_reason", "override_roles": ["manager", "finance"],
"open_states": ["draft", "cancelled", "rejected"]}``

Exposure = open receivables + open orders + this order. Open receivables come from the
``invoice`` entity when the app has one (Σ open_amount × fx_rate over kind = sales in state
issued or partially_paid for this customer), else 0. Open orders are the unshipped value
(Σ (qty − shipped) × price) of the customer's other orders that are neither draft,
cancelled nor rejected (``closed_states``), each at its order's ``fx_rate`` (the ``rate``
field, when the entity has it: a trading app's orders are in the contract currency), and
this order counts its amount's base-currency field when it has one (``base_amount``), so
the exposure is in the base currency like the limit. Above the partner's limit the transition is a
409 ``sales.credit_limit`` with the figures, unless the caller holds an override role and
gave ``override`` (a stored input, so the transition's audit row carries the reason). A
partner without a limit is not checked. Money stays Decimal end to end.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import Conflict, FieldError, PermissionDenied
from jimu.core.money import quantize
from jimu.platform.actor import Actor
from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec
from jimu.runtime.apps import AppRuntime

__all__ = ["credit_check", "open_receivables", "open_orders"]

INVOICE = "invoice"


def _col(rt: AppRuntime, entity: str, field: str) -> Any:
    ent = rt.entity(entity)
    f = ent.field(field)
    if f is None or not f.stored:
        return None
    return rt.tables(entity).c[column_name(f)]


def _dec(v: Any) -> Decimal:
    return Decimal(0) if v is None else Decimal(str(v))


def open_receivables(conn: Connection, rt: AppRuntime, partner_field: str, partner: Any) -> Decimal:
    """Σ open_amount × fx_rate of the partner's issued or partly paid sales invoices (0
    when the app has no ``invoice`` entity)."""
    if rt.spec.entity(INVOICE) is None:
        return Decimal(0)
    cols = {n: _col(rt, INVOICE, n) for n in ("kind", partner_field, "open_amount", "fx_rate", "state")}
    if cols[partner_field] is None or cols["open_amount"] is None or cols["state"] is None:
        return Decimal(0)
    stmt = sa.select(cols["open_amount"], cols["fx_rate"] if cols["fx_rate"] is not None else sa.literal(None)).where(
        cols[partner_field] == partner, cols["state"].in_(["issued", "partially_paid"]))
    if cols["kind"] is not None:
        stmt = stmt.where(cols["kind"] == "sales")
    total = Decimal(0)
    for amount, rate in conn.execute(stmt):
        total += _dec(amount) * (_dec(rate) if rate is not None else Decimal(1))
    return total


def open_orders(conn: Connection, rt: AppRuntime, ent: EntitySpec, spec: Mapping[str, Any], partner: Any,
                exclude: Any) -> Decimal:
    """The unshipped value of the partner's other open orders of ``ent``, in the base
    currency (× each order's rate when the entity keeps one)."""
    partner_col = _col(rt, ent.name, str(spec.get("partner") or "customer"))
    state_col = _col(rt, ent.name, str(spec.get("state_field") or "state"))
    lf = ent.field(str(spec.get("lines") or "lines"))
    if partner_col is None or lf is None or not lf.target:
        return Decimal(0)
    head = rt.tables(ent.name)
    line = rt.tables(lf.target)
    qty = _col(rt, lf.target, str(spec.get("quantity") or "qty"))
    price = _col(rt, lf.target, str(spec.get("price") or "price"))
    done = _col(rt, lf.target, str(spec.get("done") or "shipped_qty"))
    rate = _col(rt, ent.name, str(spec.get("rate") or "fx_rate"))
    if qty is None or price is None:
        return Decimal(0)
    stmt = (sa.select(qty, price, done if done is not None else sa.literal(None),
                      rate if rate is not None else sa.literal(None))
            .select_from(line.join(head, line.c._parent_id == head.c.id))
            .where(partner_col == partner, head.c.id != exclude))
    closed = list(spec.get("closed_states") or ["draft", "cancelled", "rejected"])
    if state_col is not None:
        stmt = stmt.where(state_col.not_in(closed))
    total = Decimal(0)
    for q, p, d, r in conn.execute(stmt):
        rest = _dec(q) - _dec(d)
        if rest > 0:
            total += rest * _dec(p) * (_dec(r) if r is not None else Decimal(1))
    return total


def _names(rt: AppRuntime, entity: str, rec: Mapping[str, Any]) -> str:
    ent = rt.entity(entity)
    return str(rec.get(ent.title) or f"#{rec.get('id')}")


def credit_check(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                 spec: Mapping[str, Any], actor: Actor) -> bool:
    """Refuse (409 ``sales.credit_limit``) an order that takes its partner over the credit
    limit, unless overridden by a role allowed to (see the module doc). Writes nothing."""
    override_field = str(spec.get("override") or "override_reason")
    roles = list(spec.get("override_roles") or ["manager", "finance"])
    reason = str(doc.get(override_field) or "").strip()
    may_override = actor.system or any(actor.has_role(r) for r in roles)
    if reason and not may_override:
        raise PermissionDenied(
            f"只有 {'/'.join(roles)} 可以填写超信用额度原因 / only {', '.join(roles)} may give {override_field}",
            code="sales.credit_override_forbidden",
            errors=[FieldError(override_field, "forbidden", f"only {', '.join(roles)} may give it")])
    partner_field = str(spec.get("partner") or "customer")
    partner_id = doc.get(partner_field)
    pf = ent.field(partner_field)
    if partner_id is None or pf is None or not pf.target:
        return False
    partner = jimu.records.get(rt.name, pf.target, partner_id, conn=conn)
    limit = partner.get(str(spec.get("limit") or "credit_limit"))
    if limit is None:
        return False
    limit = _dec(limit)
    amount = ent.summed_field(str(spec.get("amount") or "amount"))  # base_amount in a trading app
    this = _dec(doc.get(amount.name if amount is not None else str(spec.get("amount") or "amount")))
    receivable = quantize(open_receivables(conn, rt, partner_field, partner_id), 2)
    orders = quantize(open_orders(conn, rt, ent, spec, partner_id, doc["id"]), 2)
    exposure = receivable + orders + this
    if exposure <= limit or (reason and may_override):
        return False
    who = _names(rt, pf.target, partner)
    over = exposure - limit
    zh = (f"{who} 超出信用额度：应收未收 {receivable} + 未发货订单 {orders} + 本单 {this} = {exposure}，"
          f"额度 {limit}，超出 {over}；经理或财务可填写超额原因后提交")
    en = (f"{who} is over the credit limit: open receivables {receivable} + open orders {orders} + this order "
          f"{this} = {exposure}, limit {limit}, over by {over}; a manager or finance user may submit with "
          f"{override_field}")
    raise Conflict(f"{zh} / {en}", code="sales.credit_limit",
                   errors=[FieldError(override_field, "sales.credit_limit", f"{zh} / {en}")],
                   extra={"credit": {"customer": partner_id, "limit": str(limit), "open_receivables": str(receivable),
                                     "open_orders": str(orders), "order": str(this), "exposure": str(exposure),
                                     "over": str(over)},
                          "messages": {"zh": zh, "en": en}})

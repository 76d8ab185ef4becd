"""Invoices: issuing (amount from the lines, base amount, open amount, due date) and
invoices raised from shipped sales orders and received purchase orders (到货生成应付).

Both run inside the caller's write transaction (a transition's actions or an automation's),
so an invoice and the document that raised it commit together. The record service does the
writes, so validation, audit rows and events are the usual ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import Conflict, FieldError, ValidationError
from jimu.core.money import to_decimal
from jimu.platform.actor import SYSTEM, Actor
from jimu.runtime.money.currency import round_to, settings, to_base

__all__ = ["INVOICE", "LINE", "ORDER_KINDS", "issue_invoice", "invoice_from_order", "invoiced_qty", "order_lines"]

INVOICE = "invoice"
LINE = "invoice_line"
# order entity -> (invoice kind, partner field, line entity, done-quantity field of its lines)
ORDER_KINDS: dict[str, tuple[str, str, str, str]] = {
    "sales_order": ("sales", "customer", "sales_order_line", "shipped_qty"),
    "purchase_order": ("purchase", "supplier", "purchase_order_line", "received_qty"),
}
PARTNER = {"sales": "customer", "purchase": "supplier"}


def _dec(value: Any) -> Decimal:
    return to_decimal(value) if value is not None else Decimal(0)


def _today(jimu: Any) -> date:
    from jimu.core import clock

    return clock.now().date()


def issue_values(spec: Any, inv: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The figures an invoice gets when issued: ``amount`` (Σ line amounts rounded to the
    invoice currency when it has lines, else as given), ``base_amount``, ``open_amount``
    (amount − paid), ``open_base_amount`` and ``due_date`` (invoice date + payment terms
    when empty). A credit note (``sales_return`` set) gets −Σ lines. 422 naming the field when the kind's partner or a positive amount is missing."""
    kind = str(inv.get("kind") or "")
    errors: list[FieldError] = []
    partner = PARTNER.get(kind)
    if partner is None:
        errors.append(FieldError("kind", "required", "kind is sales or purchase / 发票类型须为销售或采购"))
    elif inv.get(partner) is None:
        errors.append(FieldError(partner, "required", f"a {kind} invoice needs a {partner} / {kind} 发票必须填写"
                                 f"{'客户' if partner == 'customer' else '供应商'}"))
    currency = str(inv.get("currency") or settings(spec)["base_currency"])
    base = str(settings(spec)["base_currency"])
    lines = inv.get("lines") or []
    if lines:
        amount = round_to(sum((_dec(line.get("amount")) for line in lines), Decimal(0)), currency)
    else:
        amount = round_to(_dec(inv.get("amount")), currency)
    if inv.get("sales_return") is not None:  # a credit note: negative towards the receivables
        amount = -amount
        if amount >= 0:
            errors.append(FieldError("amount", "invoice.amount", f"a credit note needs lines worth more than 0 "
                                     f"(got {-amount}) / 红字发票金额必须大于 0(当前 {-amount})"))
    elif amount <= 0:
        errors.append(FieldError("amount", "invoice.amount", f"the amount must be positive (got {amount}) / "
                                 f"发票金额必须大于 0(当前 {amount})"))
    fx = _dec(inv.get("fx_rate") or 1)
    if fx <= 0:
        errors.append(FieldError("fx_rate", "invoice.fx_rate", "the exchange rate must be positive / 汇率必须大于 0"))
    if errors:
        raise ValidationError("the invoice cannot be issued / 发票不能开具", code="invoice.invalid", errors=errors)
    paid = _dec(inv.get("paid_amount"))
    open_amount = amount - paid
    invoice_date = inv.get("invoice_date") or today
    due = inv.get("due_date") or invoice_date + timedelta(days=int(settings(spec)["payment_terms_days"]))
    return {"amount": amount, "base_amount": to_base(amount, fx, base), "paid_amount": paid,
            "open_amount": open_amount, "open_base_amount": to_base(open_amount, fx, base),
            "invoice_date": invoice_date, "due_date": due, "currency": currency}


def issue_invoice(jimu: Any, conn: Connection, app: str, invoice_id: Any, actor: Actor = SYSTEM) -> dict[str, Any]:
    """Write the issue figures (:func:`issue_values`) on one invoice; returns it. An
    invoice typed with an order (``sales_order`` / ``purchase_order``) but with neither
    lines nor an amount is filled from that order first (:func:`order_lines`): the way to
    invoice an order already completed, or part of one."""
    rt = jimu.apps.get(app, conn)
    inv = jimu.records.get(app, INVOICE, invoice_id, conn=conn)
    source = next((e for e in ORDER_KINDS if inv.get(e) is not None), None)
    if source is not None and not inv.get("lines") and inv.get("amount") is None:
        order = jimu.records.get(app, source, inv[source], conn=conn)
        _kind, partner, _line_entity, _done = ORDER_KINDS[source]
        fill: dict[str, Any] = {"lines": order_lines(jimu, conn, app, source, order)}
        if inv.get(partner) is None:
            fill[partner] = order.get(partner)
        inv = jimu.records.update(app, INVOICE, inv["id"], fill, actor=actor, conn=conn,
                                  _extra={"document": f"{INVOICE}:{inv['id']}"})
    values = issue_values(rt.spec, inv, _today(jimu))
    return dict(jimu.records.update(app, INVOICE, inv["id"], values, actor=actor, conn=conn,
                                    _extra={"document": f"{INVOICE}:{inv['id']}"}))


def invoiced_qty(conn: Connection, rt: Any, line_field: str, line_ids: list[int]) -> dict[int, Decimal]:
    """Σ invoiced quantity per order line over the invoices not cancelled."""
    if not line_ids:
        return {}
    il, inv = rt.tables(LINE), rt.tables(INVOICE)
    col = il.c[line_field]
    rows = conn.execute(sa.select(col, sa.func.sum(il.c.qty)).select_from(il.join(inv, il.c._parent_id == inv.c.id))
                        .where(col.in_(line_ids), inv.c.state != "cancelled").group_by(col)).all()
    return {int(r[0]): _dec(r[1]) for r in rows}


def order_lines(jimu: Any, conn: Connection, app: str, entity: str, order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Invoice lines for what ``order`` shipped or received and no invoice (not cancelled)
    holds yet: the line's ``shipped_qty`` / ``received_qty`` when the order keeps one, else
    its ``qty``, less the quantity already invoiced. 409 ``invoice.nothing_to_invoice`` when
    nothing is left."""
    _kind, _partner, line_entity, done_field = ORDER_KINDS[entity]
    rt = jimu.apps.get(app, conn)
    # Without a stock ledger (no_stock) nothing posts the shipped/received quantities: the
    # order's state says it is shipped or received, so its lines' quantities are what is done.
    keeps_done = rt.entity(line_entity).field(done_field) is not None and rt.spec.ledger("stock") is not None
    lines = order.get("lines") or []
    done = invoiced_qty(conn, rt, line_entity, [int(x["id"]) for x in lines])
    rows = []
    for line in lines:
        shipped = _dec(line.get(done_field)) if keeps_done else _dec(line.get("qty"))
        qty = shipped - done.get(int(line["id"]), Decimal(0))
        if qty > 0:
            rows.append({line_entity: line["id"], "item": line.get("item"), "qty": qty, "price": line.get("price")})
    if not rows:
        number = order.get("number") or f"#{order['id']}"
        raise Conflict(f"{entity} {number}: everything shipped or received is invoiced already / "
                       f"{number} 已全部开票", code="invoice.nothing_to_invoice")
    return rows


def invoice_from_order(jimu: Any, conn: Connection, app: str, entity: str, order_id: Any,
                       actor: Actor = SYSTEM, *, issue: bool = True) -> dict[str, Any]:
    """An invoice of :func:`order_lines` for one sales or purchase order, issued at once
    unless ``issue`` is false."""
    if entity not in ORDER_KINDS:
        raise ValidationError(f"invoices are raised from {', '.join(ORDER_KINDS)}, not {entity}",
                              code="invoice.source")
    kind, partner, _line_entity, _done = ORDER_KINDS[entity]
    rt = jimu.apps.get(app, conn)
    order = jimu.records.get(app, entity, order_id, conn=conn)
    rows = order_lines(jimu, conn, app, entity, order)
    number = order.get("number") or f"#{order['id']}"
    data: dict[str, Any] = {"kind": kind, partner: order.get(partner), entity: order["id"], "lines": rows,
                            "currency": order.get("currency") or settings(rt.spec)["base_currency"],
                            "fx_rate": order.get("fx_rate") or 1}
    if order.get("contract") is not None and rt.entity(INVOICE).field("contract") is not None:
        data["contract"] = order["contract"]  # the contract's currency and locked rate came with the order
    inv = jimu.records.create(app, INVOICE, data, actor=actor, conn=conn)
    if not issue:
        return dict(inv)
    from jimu.runtime.workflow.engine import WorkflowEngine

    return dict(WorkflowEngine(jimu).fire(app, INVOICE, inv["id"], "issue", actor=SYSTEM, conn=conn,
                                          comment=f"raised from {entity} {number}"))

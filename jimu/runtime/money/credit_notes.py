"""Credit notes (红字发票) from received sales returns, and offsetting them against the
customer's open sales invoices.

A credit note is an ``invoice`` of kind ``sales`` whose ``sales_return`` is set: its lines
are the returned quantities at the price of the sales order line of the same item (the
first such line, by id), and issuing it makes ``amount`` = −Σ lines (rounded to the
currency), so ``open_amount`` and ``open_base_amount`` are negative. Because it stays a
sales invoice in an open state, the aging report and the credit-limit check (both Σ
open amounts of the customer's open sales invoices) count it without knowing about it.

Offsetting: a payment of kind ``receipt`` with ``credit_note`` set moves no cash. Its
allocations settle sales invoices through the usual path
(:func:`jimu.runtime.money.payments.post_payment`), and the credit note takes the
allocated total back: ``paid_amount`` −= Σ allocations, ``open_amount`` = amount − paid
(towards 0). Refused (422) when the credit note is not a credit note of this customer in
an open state and the payment's currency (``credit_note.invalid``) or when Σ allocations
exceeds what is left on it (``credit_note.exceeded``, with both figures).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import Conflict, FieldError, ValidationError
from jimu.core.money import decimal_str, to_decimal
from jimu.platform.actor import SYSTEM, Actor
from jimu.runtime.money.currency import settings, to_base
from jimu.runtime.money.invoices import INVOICE

__all__ = ["RETURN", "credit_note_from_return", "is_credit_note", "return_lines", "apply_credit_note"]

RETURN = "sales_return"
OPEN_STATES = ("issued", "partially_paid")


def _dec(value: Any) -> Decimal:
    return to_decimal(value) if value is not None else Decimal(0)


def is_credit_note(inv: Mapping[str, Any]) -> bool:
    """An invoice raised from a sales return (its ``sales_return`` is set)."""
    return inv.get(RETURN) is not None


def return_lines(ret: Mapping[str, Any], order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Credit-note lines of one return: each returned qty at the price of the order line of
    the same item (the first by id; price 0 when the order has none)."""
    prices: dict[Any, Any] = {}
    for line in sorted(order.get("lines") or [], key=lambda x: int(x["id"])):
        prices.setdefault(line.get("item"), line.get("price"))
    return [{"item": ln.get("item"), "qty": ln.get("qty"), "price": prices.get(ln.get("item")) or Decimal(0)}
            for ln in ret.get("lines") or []]


def credit_note_from_return(jimu: Any, conn: Connection, app: str, return_id: Any,
                            actor: Actor = SYSTEM) -> dict[str, Any]:
    """Create and issue the credit note of one received sales return; 409
    ``credit_note.exists`` when a credit note (not cancelled) of that return exists."""
    from jimu.runtime.workflow.engine import WorkflowEngine

    rt = jimu.apps.get(app, conn)
    ret = jimu.records.get(app, RETURN, return_id, conn=conn)
    number = ret.get("number") or f"#{ret['id']}"
    inv = rt.tables(INVOICE)
    taken = conn.execute(sa.select(inv.c.number).where(inv.c.sales_return == ret["id"],
                                                       inv.c.state != "cancelled")).first()
    if taken is not None:
        raise Conflict(f"sales return {number} already has credit note {taken.number} / "
                       f"退货单 {number} 已开红字发票 {taken.number}", code="credit_note.exists",
                       extra={"invoice": taken.number})
    order = jimu.records.get(app, "sales_order", ret["sales_order"], conn=conn)
    data: dict[str, Any] = {"kind": "sales", "customer": ret.get("customer") or order.get("customer"),
                            RETURN: ret["id"], "lines": return_lines(ret, order),
                            "currency": order.get("currency") or settings(rt.spec)["base_currency"],
                            "fx_rate": order.get("fx_rate") or 1, "note": f"credit note for return {number}"}
    created = jimu.records.create(app, INVOICE, data, actor=actor, conn=conn)
    return dict(WorkflowEngine(jimu).fire(app, INVOICE, created["id"], "issue", actor=SYSTEM, conn=conn,
                                          comment=f"credit note for sales return {number}"))


def _refuse(code: str, message: str, extra: Mapping[str, Any]) -> ValidationError:
    return ValidationError(message, code=code, errors=[FieldError("credit_note", code, message)], extra=dict(extra))


def apply_credit_note(jimu: Any, conn: Connection, rt: Any, payment: Mapping[str, Any], total: Decimal,
                      actor: Actor) -> None:
    """Take ``total`` (Σ the payment's allocations) off the payment's credit note (module
    docstring); called by ``post_payment`` before the invoices are settled."""
    from jimu.runtime.workflow.engine import WorkflowEngine

    cn = jimu.records.get(rt.name, INVOICE, payment["credit_note"], conn=conn)
    number = cn.get("number") or f"#{cn['id']}"
    if (not is_credit_note(cn) or cn.get("customer") != payment.get("customer") or cn.get("state") not in OPEN_STATES
            or str(cn.get("currency")) != str(payment.get("currency")) or payment.get("kind") != "receipt"):
        raise _refuse("credit_note.invalid", f"{number} is not an open credit note of this customer in "
                      f"{payment.get('currency')} / {number} 不是该客户同币种的未结红字发票",
                      {"invoice": cn["id"], "state": cn.get("state")})
    left = -_dec(cn.get("open_amount"))
    if total > left:
        raise _refuse("credit_note.exceeded", f"credit note {number}: {decimal_str(total)} allocated but only "
                      f"{decimal_str(left)} is left / 红字发票 {number} 仅剩 {decimal_str(left)},分配了 "
                      f"{decimal_str(total)}", {"invoice": cn["id"], "left": decimal_str(left),
                                               "allocated": decimal_str(total)})
    base = str(settings(rt.spec)["base_currency"])
    paid = _dec(cn.get("paid_amount")) - total
    open_amount = _dec(cn.get("amount")) - paid
    jimu.records.update(rt.name, INVOICE, cn["id"], {"paid_amount": paid, "open_amount": open_amount,
                                                     "open_base_amount": to_base(open_amount, cn.get("fx_rate"), base)},
                        actor=actor, conn=conn, _extra={"document": f"payment:{payment['id']}"})
    if open_amount == 0:
        WorkflowEngine(jimu).fire(rt.name, INVOICE, cn["id"], "settle", actor=SYSTEM, conn=conn,
                                  comment=f"offset by payment {payment.get('number') or payment['id']}")
    elif cn.get("state") == "issued":
        WorkflowEngine(jimu).fire(rt.name, INVOICE, cn["id"], "settle_partial", actor=SYSTEM, conn=conn,
                                  comment=f"offset by payment {payment.get('number') or payment['id']}")

"""Posting a payment: its allocations settle invoices in the same transaction.

A payment (kind ``receipt`` from a customer or ``disbursement`` to a supplier) carries
allocation rows ``{invoice, amount}``. Confirming it checks, before writing anything:

- Σ allocations ≤ the payment amount (422 ``payment.over_allocated``, with both figures);
- every allocated invoice is of the matching kind and partner, issued or partially paid
  (422 ``payment.invoice_state`` / ``payment.partner``), in the payment's currency (422
  ``payment.currency_mismatch`` naming both currencies);
- Σ allocations per invoice ≤ its open amount (422 ``payment.over_allocated`` with the
  invoice, its open amount and the sum allocated).

Then, per invoice (in id order, each row locked on PostgreSQL): ``paid_amount`` +=
allocated, ``open_amount`` = amount − paid, ``open_base_amount`` at the invoice's rate,
and the ``settle`` (paid) or ``settle_partial`` transition; a sales order whose invoices
are then all paid and cover its amount gets ``payment_status = paid``.

Foreign currency (payments at the day's rate): a payment in a currency other than the
base whose ``fx_rate`` is left at 1 takes the day's ``fx_rate`` record at confirm (422
``fx.rate_missing`` when there is none; apps without rate records keep the typed rate).
Invoices keep their own (for a contract: the locked) rate, so their open base amounts
never move; the realized exchange difference is written on the payment as ``fx_gain``:
Σ over allocations of (allocated × payment rate − allocated × invoice rate), each rounded
to the base currency, for a receipt; the negative of it for a disbursement (paying more
CNY for the same USD is a loss). Positive is a gain, negative a loss. A record's version check
refuses a concurrent change of the same invoice (409), so two payments never both spend
the same open amount.

A payment naming a ``credit_note`` moves no cash: the credit note is offset against the
allocated invoices instead (:mod:`jimu.runtime.money.credit_notes`), with no exchange
difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError, ValidationError
from jimu.core.money import decimal_str, to_decimal
from jimu.platform.actor import SYSTEM, Actor
from jimu.runtime.money.currency import round_to, settings, to_base
from jimu.runtime.money.invoices import INVOICE

__all__ = ["PAYMENT", "INVOICE_KIND", "post_payment", "check_allocations"]

PAYMENT = "payment"
INVOICE_KIND = {"receipt": ("sales", "customer"), "disbursement": ("purchase", "supplier")}
OPEN_STATES = ("issued", "partially_paid")


def _dec(value: Any) -> Decimal:
    return to_decimal(value) if value is not None else Decimal(0)


def _refuse(code: str, message: str, field: str, extra: Mapping[str, Any]) -> ValidationError:
    return ValidationError(message, code=code, errors=[FieldError(field, code, message)], extra=dict(extra))


def check_allocations(payment: Mapping[str, Any], invoices: Mapping[int, Mapping[str, Any]]) -> dict[int, Decimal]:
    """Σ allocated per invoice id, after every check of the module docstring (raises the
    first refusal found, in allocation order)."""
    amount = _dec(payment.get("amount"))
    allocs = payment.get("allocations") or []
    total = sum((_dec(a.get("amount")) for a in allocs), Decimal(0))
    if amount <= 0:
        raise _refuse("payment.amount", f"the payment amount must be positive (got {decimal_str(amount)}) / "
                      f"付款金额必须大于 0", "amount", {"amount": decimal_str(amount)})
    if total > amount:
        raise _refuse("payment.over_allocated",
                      f"allocations total {decimal_str(total)} but the payment is {decimal_str(amount)} / "
                      f"分配合计 {decimal_str(total)} 超过付款金额 {decimal_str(amount)}", "allocations",
                      {"allocated": decimal_str(total), "amount": decimal_str(amount)})
    kind, partner = INVOICE_KIND.get(str(payment.get("kind")), ("", ""))
    per: dict[int, Decimal] = {}
    for i, a in enumerate(allocs):
        if _dec(a.get("amount")) <= 0:
            raise _refuse("payment.allocation_amount", "an allocation must be positive / 分配金额必须大于 0",
                          f"allocations.{i}.amount", {"amount": decimal_str(_dec(a.get("amount")))})
        inv_id = int(a["invoice"])
        inv = invoices[inv_id]
        number = inv.get("number") or f"#{inv_id}"
        if inv.get("kind") != kind or inv.get(partner) != payment.get(partner):
            raise _refuse("payment.partner", f"invoice {number} is not a {kind} invoice of this payment's {partner} / "
                          f"发票 {number} 不属于本单的往来单位", f"allocations.{i}.invoice",
                          {"invoice": inv_id, "kind": inv.get("kind")})
        if inv.get("state") not in OPEN_STATES:
            raise _refuse("payment.invoice_state", f"invoice {number} is {inv.get('state')}, not open / "
                          f"发票 {number} 不是待收付状态", f"allocations.{i}.invoice",
                          {"invoice": inv_id, "state": inv.get("state")})
        if str(inv.get("currency")) != str(payment.get("currency")):
            raise _refuse("payment.currency_mismatch",
                          f"invoice {number} is in {inv.get('currency')}, the payment in {payment.get('currency')} / "
                          f"发票 {number} 币种 {inv.get('currency')} 与付款币种 {payment.get('currency')} 不一致",
                          f"allocations.{i}.invoice", {"invoice": inv_id, "invoice_currency": inv.get("currency"),
                                                       "payment_currency": payment.get("currency")})
        per[inv_id] = per.get(inv_id, Decimal(0)) + _dec(a.get("amount"))
        open_amount = _dec(inv.get("open_amount"))
        if per[inv_id] > open_amount:
            raise _refuse("payment.over_allocated",
                          f"invoice {number}: {decimal_str(per[inv_id])} allocated but only "
                          f"{decimal_str(open_amount)} is open / 发票 {number} 未结金额 {decimal_str(open_amount)},"
                          f"分配了 {decimal_str(per[inv_id])}", f"allocations.{i}.amount",
                          {"invoice": inv_id, "open_amount": decimal_str(open_amount),
                           "allocated": decimal_str(per[inv_id])})
    return per


def _lock(jimu: Any, conn: Connection, rt: Any, ids: list[int]) -> None:
    if ids and not jimu.db.is_sqlite:
        table = rt.tables(INVOICE)
        conn.execute(sa.select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update())


def post_payment(jimu: Any, conn: Connection, app: str, payment_id: Any, actor: Actor = SYSTEM) -> dict[int, Decimal]:
    """Settle the invoices of one payment's allocations (module docstring); returns the
    amount applied per invoice id."""
    from jimu.runtime.workflow.engine import WorkflowEngine

    rt = jimu.apps.get(app, conn)
    payment = jimu.records.get(app, PAYMENT, payment_id, conn=conn)
    ids = sorted({int(a["invoice"]) for a in payment.get("allocations") or [] if a.get("invoice") is not None})
    _lock(jimu, conn, rt, sorted(set(ids) | ({int(payment["credit_note"])} if payment.get("credit_note") else set())))
    invoices = {i: jimu.records.get(app, INVOICE, i, conn=conn) for i in ids}
    per = check_allocations(payment, invoices)
    if payment.get("credit_note") is not None:  # no cash: the credit note pays (credit_notes.py)
        from jimu.runtime.money.credit_notes import apply_credit_note

        apply_credit_note(jimu, conn, rt, payment, sum(per.values(), Decimal(0)), actor)
    else:
        base = str(settings(rt.spec)["base_currency"])
        _realize_fx(jimu, conn, rt, payment, invoices, per, base, actor)
    base = str(settings(rt.spec)["base_currency"])
    engine = WorkflowEngine(jimu)
    for inv_id in ids:
        inv = invoices[inv_id]
        paid = _dec(inv.get("paid_amount")) + per[inv_id]
        open_amount = _dec(inv.get("amount")) - paid
        jimu.records.update(app, INVOICE, inv_id, {
            "paid_amount": paid, "open_amount": open_amount,
            "open_base_amount": to_base(open_amount, inv.get("fx_rate"), base)},
            actor=actor, conn=conn, _extra={"document": f"{PAYMENT}:{payment['id']}"})
        transition = "settle" if open_amount == 0 else "settle_partial"
        if transition == "settle_partial" and inv.get("state") == "partially_paid":
            continue
        engine.fire(app, INVOICE, inv_id, transition, actor=SYSTEM, conn=conn,
                    comment=f"payment {payment.get('number') or payment['id']}")
    _mark_orders_paid(jimu, conn, rt, {int(invoices[i]["sales_order"]) for i in ids
                                       if invoices[i].get("sales_order") is not None}, actor)
    return per


def _realize_fx(jimu: Any, conn: Connection, rt: Any, payment: Mapping[str, Any],
                invoices: Mapping[int, Mapping[str, Any]], per: Mapping[int, Decimal], base: str, actor: Actor) -> None:
    """The payment's rate (the day's when left at 1) and its ``fx_gain`` (module docstring)."""
    if rt.entity(PAYMENT).field("fx_gain") is None:
        return
    from jimu.core import clock
    from jimu.runtime.money.fx import rate_of_day

    currency = str(payment.get("currency") or base)
    rate = _dec(payment.get("fx_rate") or 1)
    if currency != base and rate == 1 and rt.spec.entity("fx_rate") is not None:
        rate = rate_of_day(conn, rt, currency, payment.get("payment_date") or clock.now().date(), base)
    gain = sum((to_base(amount, rate, base) - to_base(amount, invoices[i].get("fx_rate"), base)
                for i, amount in per.items()), Decimal(0))
    if payment.get("kind") == "disbursement":
        gain = -gain
    jimu.records.update(rt.name, PAYMENT, payment["id"], {"fx_rate": rate, "fx_gain": round_to(gain, base)},
                        actor=actor, conn=conn, _extra={"document": f"{PAYMENT}:{payment['id']}"})


def _mark_orders_paid(jimu: Any, conn: Connection, rt: Any, orders: set[int], actor: Actor) -> None:
    """``payment_status = paid`` on each sales order whose invoices (not cancelled) are all
    paid and cover its amount: collection no longer needs a hand edit of the order."""
    order_ent = rt.spec.entity("sales_order")
    status = order_ent.field("payment_status") if order_ent is not None else None
    if not orders or status is None or "paid" not in status.choice_values:
        return
    inv = rt.tables(INVOICE)
    rows = conn.execute(sa.select(inv.c.sales_order, inv.c.state, inv.c.amount)
                        .where(inv.c.sales_order.in_(sorted(orders)), inv.c.state != "cancelled")).all()
    for order_id in sorted(orders):
        mine = [r for r in rows if int(r.sales_order) == order_id]
        order = jimu.records.get(rt.name, "sales_order", order_id, conn=conn)
        billed = sum((_dec(r.amount) for r in mine), Decimal(0))
        if (mine and all(r.state == "paid" for r in mine) and billed >= _dec(order.get("amount"))
                and order.get("payment_status") != "paid"):
            jimu.records.update(rt.name, "sales_order", order_id, {"payment_status": "paid"}, actor=actor, conn=conn,
                                _extra={"document": f"{INVOICE}:settled"})

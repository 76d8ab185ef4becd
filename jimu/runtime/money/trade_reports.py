"""The no-stock trading reports, as a caller sees them through their :class:`AccessPolicy`.

- :func:`contract_margin` (``GET /api/apps/{app}/reports/contract-margin``): per signed or
  closed contract its locked rate, sales, purchases and margin in CNY (written at signing,
  :mod:`jimu.runtime.money.contracts`) and ``fx_gain``, the realized exchange difference of
  the payments allocated to the contract's invoices (per allocation: allocated × payment
  rate − allocated × invoice rate, each in CNY; negated for disbursements; the same figure
  :mod:`jimu.runtime.money.payments` writes on each payment). Needs read and export on
  contract, the margin fields visible and unmasked (a sum would give a masked one away);
  the caller's row filter on contracts applies.
- :func:`supplier_prices` (``GET /api/apps/{app}/reports/supplier-prices?item=``): per item,
  each supplier's last price — the latest purchase order line (not cancelled) or signed
  contract line, by date then id — in its currency and in CNY at the day's ``fx_rate``
  record, cheapest first (a price whose currency has no rate yet comes last, ``price_base``
  null). Needs read on purchase_order and its lines with ``price`` visible and unmasked.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core import clock
from jimu.core.errors import NotFound, PermissionDenied
from jimu.core.money import decimal_str, to_decimal
from jimu.runtime.access import AccessPolicy
from jimu.runtime.money.currency import round_to, settings, to_base
from jimu.runtime.money.fx import rates_of_day

__all__ = ["contract_margin", "supplier_prices", "may_see_margin", "may_see_prices"]

MARGIN_FIELDS = ("customer", "currency", "fx_rate", "sales_base", "purchase_base", "margin_base", "state")


def _visible(policy: AccessPolicy, entity: str, fields: Iterable[str]) -> None:
    for field in fields:
        rule = policy.field_rule(entity, field)
        if not rule.visible or rule.access == "mask":
            raise PermissionDenied(f"{entity}.{field} is hidden or masked for you / 字段 {entity}.{field} 对你不可见",
                                   code="forbidden.report", extra={"field": f"{entity}.{field}"})


def _check_margin(policy: AccessPolicy) -> None:
    if policy.rt.spec.entity("contract") is None:
        raise NotFound(f"app '{policy.app}' has no contracts (install the contract unit)", code="report.not_found")
    policy.require("contract", "read")
    if not policy.can("contract", "export"):
        raise PermissionDenied("the margin report needs the export right on contracts / 合同毛利报表需要合同导出权限",
                               code="forbidden.report")
    _visible(policy, "contract", MARGIN_FIELDS)


def _check_prices(policy: AccessPolicy) -> None:
    if policy.rt.spec.entity("purchase_order") is None:
        raise NotFound(f"app '{policy.app}' has no purchase orders", code="report.not_found")
    policy.require("purchase_order", "read")
    policy.require("purchase_order_line", "read")
    _visible(policy, "purchase_order", ("supplier",))
    _visible(policy, "purchase_order_line", ("item", "price"))


def _may(check: Any, policy: AccessPolicy) -> bool:
    try:
        check(policy)
    except (NotFound, PermissionDenied):
        return False
    return True


def may_see_margin(policy: AccessPolicy) -> bool:
    """Whether the caller gets the margin report (the per-caller OpenAPI lists it only then)."""
    return _may(_check_margin, policy)


def may_see_prices(policy: AccessPolicy) -> bool:
    """Whether the caller gets the supplier price comparison."""
    return _may(_check_prices, policy)


def _dec(value: Any) -> Decimal:
    return to_decimal(value) if value is not None else Decimal(0)


def _fx_gains(conn: Any, rt: Any, ids: list[int], base: str) -> dict[int, Decimal]:
    """Realized exchange difference per contract id (module docstring)."""
    if not ids or rt.spec.entity("payment") is None or rt.entity("invoice").field("contract") is None:
        return {}
    pay, alloc, inv = rt.tables("payment"), rt.tables("payment_allocation"), rt.tables("invoice")
    rows = conn.execute(sa.select(inv.c.contract, inv.c.fx_rate, pay.c.fx_rate.label("pay_rate"), pay.c.kind,
                                  alloc.c.amount)
                        .select_from(alloc.join(pay, alloc.c._parent_id == pay.c.id)
                                     .join(inv, alloc.c.invoice == inv.c.id))
                        .where(pay.c.state == "confirmed", inv.c.contract.in_(ids))).all()
    out: dict[int, Decimal] = {}
    for r in rows:
        gain = to_base(r.amount, r.pay_rate, base) - to_base(r.amount, r.fx_rate, base)
        out[int(r.contract)] = out.get(int(r.contract), Decimal(0)) + (-gain if r.kind == "disbursement" else gain)
    return out


def contract_margin(policy: AccessPolicy) -> dict[str, Any]:
    """``{"currency", "data": [{contract, number, customer, currency, fx_rate, sales_base,
    purchase_base, margin_base, fx_gain}], "totals", "next_cursor"}``."""
    _check_margin(policy)
    rt = policy.rt
    base = str(settings(rt.spec)["base_currency"])
    t = rt.tables("contract")
    stmt = (sa.select(t.c.id, t.c.number, t.c.customer, t.c.currency, t.c.fx_rate, t.c.sales_base,
                      t.c.purchase_base, t.c.margin_base)
            .where(t.c.state.in_(["signed", "closed"])).order_by(t.c.id))
    clause = policy.row_clause("contract", "read")
    if clause is not None:
        stmt = stmt.where(clause)
    with policy.jimu.db.read() as conn:
        rows = conn.execute(stmt).all()
        gains = _fx_gains(conn, rt, [int(r.id) for r in rows], base)
    data = []
    totals = {k: round_to(0, base) for k in ("sales_base", "purchase_base", "margin_base", "fx_gain")}
    for r in rows:
        fig = {"sales_base": round_to(_dec(r.sales_base), base), "purchase_base": round_to(_dec(r.purchase_base), base),
               "margin_base": round_to(_dec(r.margin_base), base), "fx_gain": round_to(gains.get(int(r.id), 0), base)}
        for k, v in fig.items():
            totals[k] += v
        data.append({"contract": int(r.id), "number": r.number, "customer": r.customer, "currency": r.currency,
                     "fx_rate": decimal_str(_dec(r.fx_rate)), **{k: decimal_str(v) for k, v in fig.items()}})
    return {"currency": base, "data": data, "totals": {k: decimal_str(v) for k, v in totals.items()},
            "next_cursor": None}


def _last_prices(conn: Any, policy: AccessPolicy, item: int | None, base: str) -> dict[tuple[int, int], dict[str, Any]]:
    """(item, supplier) -> the latest price row, from purchase orders and signed contracts."""
    rt = policy.rt
    po, pol = rt.tables("purchase_order"), rt.tables("purchase_order_line")
    cur = po.c.currency if "currency" in po.c else sa.literal(base)
    stmt = (sa.select(pol.c.item, po.c.supplier, pol.c.price, cur.label("currency"), po.c.order_date.label("day"),
                      po.c.id, po.c.number).select_from(pol.join(po, pol.c._parent_id == po.c.id))
            .where(po.c.state != "cancelled"))
    if item is not None:
        stmt = stmt.where(pol.c.item == item)
    clause = policy.row_clause("purchase_order", "read")
    if clause is not None:
        stmt = stmt.where(clause)
    found: list[tuple[Any, ...]] = [(r.item, r.supplier, r.price, r.currency, r.day, "purchase_order", r.id, r.number)
                                    for r in conn.execute(stmt)]
    if rt.spec.entity("contract") is not None and policy.can("contract", "read") and \
            policy.field_rule("contract_line", "purchase_price").visible and \
            policy.field_rule("contract_line", "purchase_price").access != "mask":
        ct, cl = rt.tables("contract"), rt.tables("contract_line")
        cstmt = (sa.select(cl.c.item, ct.c.supplier, cl.c.purchase_price, ct.c.currency, ct.c.signed_date, ct.c.id,
                           ct.c.number).select_from(cl.join(ct, cl.c._parent_id == ct.c.id))
                 .where(ct.c.state.in_(["signed", "closed"])))
        if item is not None:
            cstmt = cstmt.where(cl.c.item == item)
        cclause = policy.row_clause("contract", "read")
        if cclause is not None:
            cstmt = cstmt.where(cclause)
        found += [(r[0], r[1], r[2], r[3], r[4], "contract", r[5], r[6]) for r in conn.execute(cstmt)]
    latest: dict[tuple[int, int], dict[str, Any]] = {}
    for it, sup, price, currency, day, source, doc_id, number in found:
        if it is None or sup is None or price is None:
            continue
        key = (int(it), int(sup))
        rank = (day.isoformat() if day is not None else "", source == "purchase_order", int(doc_id))
        if key not in latest or rank > latest[key]["_rank"]:
            latest[key] = {"_rank": rank, "price": _dec(price), "currency": str(currency or base), "date": day,
                           "source": {"entity": source, "id": int(doc_id), "number": number}}
    return latest


def supplier_prices(policy: AccessPolicy, item: int | None = None) -> dict[str, Any]:
    """``{"as_of", "currency", "rates", "data": [{item, item_name, suppliers: [{supplier,
    supplier_name, price, currency, fx_rate, price_base, date, source}]}]}``."""
    _check_prices(policy)
    rt = policy.rt
    base = str(settings(rt.spec)["base_currency"])
    today = clock.now().date()
    with policy.jimu.db.read() as conn:
        latest = _last_prices(conn, policy, item, base)
        rates = rates_of_day(conn, rt, {v["currency"] for v in latest.values()}, today, base)
        names = {e: _titles(conn, policy, e, {k[i] for k in latest}) for i, e in ((0, "item"), (1, "supplier"))}
    by_item: dict[int, list[dict[str, Any]]] = {}
    for (it, sup), v in latest.items():
        rate = rates.get(v["currency"])
        by_item.setdefault(it, []).append({
            "supplier": sup, "supplier_name": names["supplier"].get(sup), "price": decimal_str(v["price"]),
            "currency": v["currency"], "fx_rate": decimal_str(rate),
            "price_base": decimal_str(round_to(v["price"] * rate, base) if rate is not None else None),
            "date": v["date"].isoformat() if v["date"] is not None else None, "source": v["source"]})
    data = []
    for it in sorted(by_item):
        rows = sorted(by_item[it], key=lambda r: (r["price_base"] is None,
                                                  to_decimal(r["price_base"]) if r["price_base"] else Decimal(0),
                                                  r["supplier"]))
        data.append({"item": it, "item_name": names["item"].get(it), "suppliers": rows})
    return {"as_of": today.isoformat(), "currency": base,
            "rates": {c: decimal_str(r) for c, r in rates.items()}, "data": data, "next_cursor": None}


def _titles(conn: Any, policy: AccessPolicy, entity: str, ids: set[int]) -> dict[int, str]:
    ent = policy.rt.spec.entity(entity)
    if ent is None or not ids or not policy.can(entity, "read") or not ent.title:
        return {}
    rule = policy.field_rule(entity, ent.title)
    if not rule.visible or rule.access == "mask":
        return {}
    t = policy.rt.tables(entity)
    cols = [t.c.id, t.c[ent.title]] + ([t.c.sku] if "sku" in t.c else [])
    stmt = sa.select(*cols).where(t.c.id.in_(sorted(ids)))
    clause = policy.row_clause(entity, "read")
    if clause is not None:
        stmt = stmt.where(clause)
    return {int(r[0]): (f"{r[2]} {r[1]}" if len(r) > 2 and r[2] else str(r[1])) for r in conn.execute(stmt)}

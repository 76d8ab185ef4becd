"""Trade contracts of the no-stock template (DESIGN 16, Money): signing locks the rate, and
one click raises the sales or the purchase order of a contract.

- ``sign`` (:func:`sign_contract`) writes ``signed_date`` (the app clock's day),
  ``fx_rate`` (the day's ``fx_rate`` record of the contract currency, 422
  ``fx.rate_missing`` when there is none; 1 for CNY), and the figures: sales and purchase
  amounts (Σ line amounts, each line rounded to 2 places like an invoice line, the sum
  rounded to the contract currency), the same in CNY at the locked rate, and
  ``margin_base`` = sales_base − purchase_base. Roles only read these fields and the signed
  state edits nothing but the note, so the locked rate never changes afterwards; a newer
  rate record changes nothing on a signed contract.
- ``create_sales_order`` / ``create_purchase_order`` (:func:`order_from_contract`) create a
  draft order with the contract's lines (sale or purchase price), customer or supplier,
  currency, locked ``fx_rate`` and a link to the contract; once per contract (409
  ``contract.order_exists`` while the earlier order is not cancelled). In the no_stock
  template the orders post nothing to a stock ledger (their ``stock`` param is off); the
  invoices raised from them take the order's currency and rate, i.e. the contract's.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import Conflict, FieldError, ValidationError
from jimu.core.money import quantize, to_decimal
from jimu.platform.actor import SYSTEM, Actor
from jimu.runtime.money.currency import round_to, settings, to_base
from jimu.runtime.money.fx import rate_of_day

__all__ = ["CONTRACT", "contract_figures", "sign_contract", "order_from_contract"]

CONTRACT = "contract"
# order entity -> (partner field, price field of the contract line)
ORDERS: dict[str, tuple[str, str]] = {"sales_order": ("customer", "sale_price"),
                                      "purchase_order": ("supplier", "purchase_price")}


def _dec(value: Any) -> Decimal:
    return to_decimal(value) if value is not None else Decimal(0)


def contract_figures(lines: list[Mapping[str, Any]], currency: str, fx_rate: Any, base: str = "CNY"
                     ) -> dict[str, Decimal]:
    """Sales, purchases and margin of a contract's lines (module docstring), in the contract
    currency and in the base currency at ``fx_rate``."""
    sales = round_to(sum((quantize(_dec(x.get("qty")) * _dec(x.get("sale_price")), 2) for x in lines), Decimal(0)),
                     currency)
    purchases = round_to(sum((quantize(_dec(x.get("qty")) * _dec(x.get("purchase_price")), 2) for x in lines),
                             Decimal(0)), currency)
    sales_base, purchase_base = to_base(sales, fx_rate, base), to_base(purchases, fx_rate, base)
    return {"sales_amount": sales, "purchase_amount": purchases, "sales_base": sales_base,
            "purchase_base": purchase_base, "margin_base": sales_base - purchase_base}


def sign_contract(jimu: Any, conn: Connection, app: str, contract_id: Any, actor: Actor = SYSTEM) -> dict[str, Any]:
    """Lock the day's rate and write the figures on one contract (module docstring)."""
    rt = jimu.apps.get(app, conn)
    base = str(settings(rt.spec)["base_currency"])
    doc = jimu.records.get(app, CONTRACT, contract_id, conn=conn)
    day = clock.now().date()
    currency = str(doc.get("currency") or base)
    rate = rate_of_day(conn, rt, currency, day, base)
    values: dict[str, Any] = {"signed_date": day, "fx_rate": rate,
                              **contract_figures(doc.get("lines") or [], currency, rate, base)}
    return dict(jimu.records.update(app, CONTRACT, doc["id"], values, actor=actor, conn=conn,
                                    _extra={"document": f"{CONTRACT}:{doc['id']}"}))


def order_from_contract(jimu: Any, conn: Connection, app: str, contract_id: Any, entity: str,
                        actor: Actor = SYSTEM) -> dict[str, Any]:
    """The draft sales or purchase order of one signed contract (module docstring)."""
    if entity not in ORDERS:
        raise ValidationError(f"a contract raises {', '.join(ORDERS)}, not {entity}", code="contract.order_kind")
    partner, price = ORDERS[entity]
    rt = jimu.apps.get(app, conn)
    doc = jimu.records.get(app, CONTRACT, contract_id, conn=conn)
    number = doc.get("number") or f"#{doc['id']}"
    if doc.get(entity) is not None:
        earlier = jimu.records.get(app, entity, doc[entity], conn=conn)
        if earlier.get("state") != "cancelled":
            raise Conflict(f"contract {number} already has {entity} {earlier.get('number')} / "
                           f"合同 {number} 已生成订单 {earlier.get('number')}", code="contract.order_exists",
                           extra={"order": earlier["id"], "number": earlier.get("number")})
    warehouse = doc.get("warehouse") or _first_warehouse(conn, rt)
    if warehouse is None:
        message = "the contract needs a warehouse (or place) for its orders / 合同需要填写交货仓库或地点"
        raise ValidationError(message, code="contract.warehouse", errors=[FieldError("warehouse", "required", message)])
    lines = [{"item": x.get("item"), "qty": x.get("qty"), "price": x.get(price)} for x in doc.get("lines") or []]
    data: dict[str, Any] = {partner: doc.get(partner), "warehouse": warehouse, "lines": lines,
                            "currency": doc.get("currency"), "fx_rate": doc.get("fx_rate"), "contract": doc["id"],
                            "note": f"{CONTRACT} {number}"}
    order = jimu.records.create(app, entity, data, actor=actor, conn=conn)
    jimu.records.update(app, CONTRACT, doc["id"], {entity: order["id"]}, actor=actor, conn=conn,
                        _extra={"document": f"{CONTRACT}:{doc['id']}"})
    return dict(order)


def _first_warehouse(conn: Connection, rt: Any) -> Any:
    if rt.spec.entity("warehouse") is None:
        return None
    import sqlalchemy as sa

    t = rt.tables("warehouse")
    row = conn.execute(sa.select(t.c.id).order_by(t.c.id).limit(1)).first()
    return row[0] if row is not None else None

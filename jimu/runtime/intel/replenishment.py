"""The replenishment report and its draft purchase orders (DESIGN 16, Intelligence).

Per item (in ``warehouse``, or all warehouses), over the last ``days`` days up to the app
clock's date (daily demand from :mod:`.demand`, days without sales are 0):

- ``avg_daily_demand`` d = Σ demand / days; ``demand_stdev`` σ = the sample standard
  deviation of the daily figures;
- ``lead_time_days`` L = ``item.lead_time_days`` when the app has it and it is set, else
  the ``lead_time_days`` setting (default 7);
- ``safety_stock`` = z × σ × √L with z the standard normal quantile of the service level
  (0.95 → 1.6449, :class:`statistics.NormalDist`);
- ``reorder_point`` = d × L + safety stock; ``position`` = on_hand + on_order − reserved;
- ``suggested_qty``: when the position is at or below the reorder point, what brings it up
  to reorder point + d × ``cover_days``, rounded up to a whole unit, then up to
  ``item.order_multiple`` and at least ``item.min_order_qty`` where the app has them;
  0 above the reorder point.

``supplier``: ``item.default_supplier`` when set, else the supplier of the item's latest
purchase order line (cancelled orders left out). :func:`create_orders` turns chosen rows
into draft purchase orders, one per supplier, through the record gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from statistics import NormalDist, stdev
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError, NotFound, ValidationError
from jimu.core.ids import parse_id
from jimu.core.money import to_decimal
from jimu.runtime.access import AccessPolicy, gate
from jimu.runtime.intel.demand import (
    demand,
    int_param,
    items_of,
    positions,
    report_settings,
    stock_ledger,
    today,
)

__all__ = ["replenishment_report", "create_orders", "round_order", "z_value", "last_suppliers"]

PO, SUPPLIER = "purchase_order", "supplier"
_Q = Decimal("0.0001")
_ITEM_FIELDS = ("sku", "name", "unit", "lead_time_days", "default_supplier", "min_order_qty", "order_multiple")


def z_value(service_level: Decimal) -> Decimal:
    """The standard normal quantile of ``service_level``, to 4 places (0.95 → 1.6449)."""
    return Decimal(str(round(NormalDist().inv_cdf(float(service_level)), 4)))


def _service_level(raw: Any, default: Any) -> Decimal:
    try:
        value = Decimal(str(raw if raw not in (None, "") else default))
    except ArithmeticError:
        value = Decimal(0)
    if not Decimal("0.5") <= value < 1:
        raise ValidationError("service_level must be in [0.5, 1) / 服务水平须在 0.5 到 1 之间", code="report.param",
                              errors=[FieldError("service_level", "range", "0.5 <= level < 1, e.g. 0.95")])
    return value


def round_order(qty: Decimal, multiple: Any = None, minimum: Any = None) -> Decimal:
    """``qty`` rounded up to a whole unit, then to ``multiple``, then at least ``minimum``
    (nothing to order stays 0)."""
    if qty <= 0:
        return Decimal(0)
    out = qty.to_integral_value(rounding=ROUND_CEILING)
    mult = to_decimal(multiple) if multiple not in (None, "") else Decimal(0)
    if mult > 0:
        out = (qty / mult).to_integral_value(rounding=ROUND_CEILING) * mult
    low = to_decimal(minimum) if minimum not in (None, "") else Decimal(0)
    return max(out, low)


def last_suppliers(conn: Connection, policy: AccessPolicy, items: set[int]) -> dict[int, int]:
    """item -> the supplier of its latest purchase order (by order date, then id) among the
    orders the caller reads (none when it may not read purchase orders or their supplier)."""
    spec = policy.rt.spec
    ent = spec.entity(PO)
    lines_f = ent.field("lines") if ent is not None else None
    if (not items or ent is None or lines_f is None or not lines_f.target or ent.field("supplier") is None
            or not policy.can(PO, "read") or not policy.field_rule(PO, "supplier").visible):
        return {}
    head, lines = policy.rt.tables(PO), policy.rt.tables(lines_f.target)
    stmt = (sa.select(lines.c.item, head.c.supplier)
            .select_from(lines.join(head, lines.c._parent_id == head.c.id))
            .where(lines.c.item.in_(sorted(items)), head.c.supplier.is_not(None))
            .order_by(head.c.order_date if "order_date" in head.c else head.c.id, head.c.id))
    if "state" in head.c:
        stmt = stmt.where(sa.or_(head.c.state.is_(None), head.c.state != "cancelled"))
    clause = policy.row_clause(PO)
    if clause is not None:
        stmt = stmt.where(clause)
    out: dict[int, int] = {}
    for item, supplier in conn.execute(stmt):
        out[int(item)] = int(supplier)  # later rows win
    return out


def _q(value: Decimal) -> str:
    return format(value.quantize(_Q, rounding=ROUND_HALF_UP), "f")


def replenishment_report(policy: AccessPolicy, params: Mapping[str, Any]) -> dict[str, Any]:
    """``{as_of, warehouse, days, service_level, z, cover_days, data: [rows], next_cursor}``
    (module doc for the figures). Rows with no stock, no order and no demand are left out;
    rows to order come first (most to order first), then by SKU."""
    lg = stock_ledger(policy)
    conf = report_settings(policy.rt.spec)
    days = int_param(params.get("days"), "days", 7, 730, int(conf["demand_days"]))
    cover = int_param(params.get("cover_days"), "cover_days", 0, 365, int(conf["cover_days"]))
    default_lead = int_param(params.get("lead_time_days"), "lead_time_days", 0, 365, int(conf["lead_time_days"]))
    level = _service_level(params.get("service_level"), conf["service_level"])
    z = z_value(level)
    warehouse = None
    if params.get("warehouse") not in (None, ""):
        warehouse = parse_id(str(params["warehouse"]))
        if warehouse is None:
            raise ValidationError("warehouse must be a warehouse id", code="report.param",
                                  errors=[FieldError("warehouse", "type", "a warehouse id")])
    until = today()
    since = until - timedelta(days=days - 1)
    with policy.jimu.db.read() as conn:
        items = items_of(policy, conn, _ITEM_FIELDS)
        pos = positions(conn, policy, lg, warehouse)
        dem = demand(conn, policy, lg, since, until, warehouse=warehouse)
        wanted = {i for i in items if i in pos or i in dem.by_item}
        lasts = last_suppliers(conn, policy, {i for i in wanted if not items[i].get("default_supplier")})
    rows: list[dict[str, Any]] = []
    for item in wanted:
        info = items[item]
        stock = pos.get(item, {"on_hand": Decimal(0), "on_order": Decimal(0), "reserved": Decimal(0)})
        series = dem.series(item)
        avg = sum(series, Decimal(0)) / len(series)
        sigma = stdev(series) if len(series) > 1 else Decimal(0)
        own_lead = info.get("lead_time_days")
        lead = Decimal(own_lead) if own_lead not in (None, "") and Decimal(own_lead) > 0 else Decimal(default_lead)
        safety = (z * sigma * lead.sqrt()).quantize(_Q, rounding=ROUND_HALF_UP)
        rop = (avg * lead + safety).quantize(_Q, rounding=ROUND_HALF_UP)
        position = stock["on_hand"] + stock["on_order"] - stock["reserved"]
        target = rop + avg * cover
        need = target - position if position <= rop else Decimal(0)
        suggested = round_order(need, info.get("order_multiple"), info.get("min_order_qty"))
        if not any((stock["on_hand"], stock["on_order"], stock["reserved"], avg)):
            continue
        supplier = info.get("default_supplier") or lasts.get(item)
        rows.append({
            "item": item, "sku": info.get("sku"), "item_name": info.get("name"), "unit": info.get("unit"),
            "on_hand": _q(stock["on_hand"]), "on_order": _q(stock["on_order"]), "reserved": _q(stock["reserved"]),
            "position": _q(position), "avg_daily_demand": _q(avg), "demand_stdev": _q(sigma),
            "lead_time_days": int(lead) if lead == lead.to_integral_value() else _q(lead),
            "safety_stock": _q(safety), "reorder_point": _q(rop), "target": _q(target),
            "suggested_qty": _q(suggested), "supplier": int(supplier) if supplier else None})
    rows.sort(key=lambda r: (-Decimal(r["suggested_qty"]), str(r["sku"] or ""), r["item"]))
    return {"as_of": until.isoformat(), "warehouse": warehouse, "days": days, "service_level": format(level, "f"),
            "z": format(z, "f"), "cover_days": cover, "lead_time_days": default_lead, "data": rows,
            "next_cursor": None}


def _chosen(raw: Any) -> list[tuple[int, Decimal]]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError("rows: pick at least one row / 请至少选择一行", code="replenishment.rows",
                              errors=[FieldError("rows", "required", "[{item, qty}]")])
    out = []
    for i, row in enumerate(raw):
        item = parse_id(str(row.get("item"))) if isinstance(row, Mapping) else None
        try:
            qty = Decimal(str(row.get("qty"))) if isinstance(row, Mapping) else Decimal(0)
        except ArithmeticError:
            qty = Decimal(0)
        if item is None or not qty.is_finite() or qty <= 0 or qty.as_tuple().exponent < -4 or qty > 10**12:  # type: ignore[operator]
            raise ValidationError(f"rows.{i}: an item id and a positive quantity (at most 4 decimals) / "
                                  f"第 {i + 1} 行须有商品和正数数量", code="replenishment.rows",
                                  errors=[FieldError(f"rows.{i}", "invalid", "{item: id, qty: > 0}")])
        out.append((item, qty))
    return out


def _line(info: Mapping[str, Any], item: int, qty: Decimal) -> dict[str, Any]:
    """A PO line; the price defaults to the item's cost (the line's own default), 0 to be
    filled in when the item has none."""
    row: dict[str, Any] = {"item": item, "qty": format(qty, "f")}
    if info.get("cost_price") is None:
        row["price"] = "0"
    return row


def create_orders(policy: AccessPolicy, body: Mapping[str, Any]) -> dict[str, Any]:
    """Draft purchase orders for ``body['rows']`` ([{item, qty}]) into ``body['warehouse']``,
    one per supplier (the row's supplier as in the report). A row whose item has no
    supplier is refused with a message (``refused``); 422 ``replenishment.no_supplier``
    when every row is. All orders are created in one transaction, through the record gate
    (create on purchase_order; items the caller may not read are 404)."""
    ent = policy.require(PO, "create")
    lines_f = ent.field("lines")
    if lines_f is None or not lines_f.target:
        raise NotFound(f"app '{policy.app}' has no purchase order lines", code="report.not_found")
    rows = _chosen(body.get("rows"))
    wh = parse_id(str(body.get("warehouse"))) if body.get("warehouse") not in (None, "") else None
    if wh is None:
        raise ValidationError("warehouse: the receiving warehouse / 请指定收货仓库", code="replenishment.warehouse",
                              errors=[FieldError("warehouse", "required", "a warehouse id")])
    policy.load("warehouse", wh)
    with policy.jimu.db.read() as conn:
        items = items_of(policy, conn, ("sku", "name", "default_supplier", "cost_price"), {i for i, _ in rows})
        missing = {i for i, _ in rows} - set(items)
        if missing:
            raise NotFound(f"item {min(missing)} not found", code="record.not_found")
        lasts = last_suppliers(conn, policy, {i for i, _ in rows if not items[i].get("default_supplier")})
    lang_en = str(body.get("lang") or "").startswith("en")
    groups: dict[int, list[tuple[int, Decimal]]] = {}
    refused: list[dict[str, Any]] = []
    for item, qty in rows:
        supplier = items[item].get("default_supplier") or lasts.get(item)
        if not supplier:
            label = f"{items[item].get('sku') or ''} {items[item].get('name') or ''}".strip()
            refused.append({"item": item, "qty": format(qty, "f"), "code": "replenishment.no_supplier",
                            "message": {"zh": f"{label} 没有默认供应商，也没有采购记录，无法生成采购单",
                                        "en": f"{label} has no default supplier and no purchase history"}})
            continue
        groups.setdefault(int(supplier), []).append((item, qty))
    if not groups:
        raise ValidationError("没有可下单的行：商品没有供应商 / no row has a supplier", code="replenishment.no_supplier",
                              errors=[FieldError(f"rows.{i}", "replenishment.no_supplier",
                                                 r["message"]["en" if lang_en else "zh"])
                                      for i, r in enumerate(refused)], extra={"refused": refused})
    made = []
    with policy.jimu.db.write() as conn:
        for supplier, lines in sorted(groups.items()):
            data: dict[str, Any] = {"supplier": supplier, "warehouse": wh,
                                    "lines": [_line(items[i], i, q) for i, q in lines]}
            if ent.field("note") is not None:
                data["note"] = "补货建议生成 / from the replenishment report"
            made.append(gate.create(policy, conn, PO, data))
    return {"orders": [policy.render(PO, r) for r in made], "refused": refused}


def chart_rows(policy: AccessPolicy, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows to order (the dashboard panel)."""
    rows = replenishment_report(policy, params)["data"]
    return [dict(r, item_label=f"{r['sku'] or ''} {r['item_name'] or ''}".strip()) for r in rows
            if Decimal(r["suggested_qty"]) > 0]


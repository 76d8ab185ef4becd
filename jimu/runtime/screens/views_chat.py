"""The "paste a message" screen (DESIGN 16): paste a WeChat order, see the parsed lines
with their confidence, fix the flagged ones (pick an alternative, or any item by id,
change a quantity, leave a line out) and create the draft sales order.

A flagged line takes one of its alternatives or any item by its SKU. Plain forms, no script: the page posts back to itself (``action=parse``) and then
creates (``action=create``), so it works under the strict CSP with JavaScript off.
Parsing and creating go through :mod:`jimu.runtime.intel.chat_orders` with the caller's
policy, like the API."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from jimu.core.errors import FieldError, JimuError, ValidationError
from jimu.core.ids import parse_id
from jimu.runtime.intel.chat_orders import ORDER, create_draft, parse_for
from jimu.runtime.intel.chat_parse import ParseResult
from jimu.runtime.screens.base import Screen, open_screen, redirect, screen
from jimu.runtime.screens.fields import link_options

__all__ = ["chat_order_page", "chat_order_submit", "MAX_LINES"]

MAX_LINES = 200


def _page(s: Screen, text: str = "", result: ParseResult | None = None, *, customer: str = "",
          warehouse: str = "", message: str | None = None, status: int = 200) -> Response:
    assert s.policy is not None
    s.policy.require("item", "read")
    lines = []
    if result is not None:
        for ln in result.lines:
            options = [{"id": a["item"], "label": f"{a.get('sku') or ''} {a.get('item_name') or ''}".strip(),
                        "score": a["score"]} for a in ln.alternatives]
            if ln.item is not None:
                options.insert(0, {"id": ln.item["id"], "label": f"{ln.item.get('sku') or ''} {ln.item.get('name') or ''}"
                                   .strip(), "score": ln.confidence})
            lines.append({"text": ln.text, "qty": format(ln.qty, "f"), "unit": ln.unit or "",
                          "confidence": round(ln.confidence * 100), "flagged": ln.item is None,
                          "selected": ln.item["id"] if ln.item else "", "options": options})
        customer = customer or (str(result.customer["id"]) if result.customer else "")
    may_create = s.policy.can(ORDER, "create")
    customers = link_options(s.policy, "customer", limit=500) if s.policy.rt.spec.entity("customer") else []
    if result is not None and result.customer and str(result.customer["id"]) not in {str(i) for i, _t in customers}:
        customers.insert(0, (str(result.customer["id"]), str(result.customer["name"])))  # past the first 500
    return s.render("chat_order.html", status=status, text=text, lines=lines, result=result,
                    unparsed=result.unparsed if result else [], customer=customer, warehouse=warehouse,
                    customers=customers,
                    warehouses=link_options(s.policy, "warehouse", limit=200) if s.policy.rt.spec.entity("warehouse")
                    else [], may_create=may_create, message=message)


@screen
async def chat_order_page(request: Request) -> Response:
    """GET /app/{app}/chat-order: the empty paste form."""
    s = await open_screen(request)
    return _page(s)


def _by_sku(s: Screen, sku: str) -> int:
    """The id of the item with SKU ``sku`` the user may read (422 naming it otherwise)."""
    assert s.policy is not None
    ent = s.policy.require("item", "read")
    found = []
    if ent.field("sku") is not None and s.policy.field_rule("item", "sku").access in ("read", "write"):
        found = s.jimu.records.list(s.app, "item", where=s.policy.row_clause("item"),
                                    filter=f"sku == {json.dumps(sku, ensure_ascii=False)}", limit=1, actor=s.actor).data
    if not found:
        raise ValidationError(s.t("chat_unknown_sku", sku=sku), code="chat_order.sku",
                              errors=[FieldError("sku", "not_found", sku)])
    return int(found[0]["id"])


def _rows(s: Screen, form: Any) -> list[tuple[int, Decimal]]:
    """(item, qty) of the lines as the user left them: a SKU typed on a line wins over
    the picked item; a line with neither, or without a positive quantity, is left out."""
    rows: list[tuple[int, Decimal]] = []
    for i in range(MAX_LINES):
        raw_item = str(form.get(f"line-{i}-item") or "").strip()
        raw_qty = str(form.get(f"line-{i}-qty") or "").strip()
        sku = str(form.get(f"line-{i}-sku") or "").strip()[:100]
        if f"line-{i}-qty" not in form:
            break
        item = _by_sku(s, sku) if sku else (parse_id(raw_item) if raw_item else None)
        if item is None:
            continue  # left out
        try:
            qty = Decimal(raw_qty)
        except InvalidOperation:
            continue
        if qty.is_finite() and qty > 0:
            rows.append((item, qty))
    return rows


@screen
async def chat_order_submit(request: Request) -> Response:
    """POST /app/{app}/chat-order: ``action=parse`` shows the lines; ``action=create``
    creates the draft order from the lines as the user left them."""
    s = await open_screen(request)
    assert s.policy is not None and s.form is not None
    form = s.form
    text = str(form.get("text") or "")
    customer = str(form.get("customer") or "")
    warehouse = str(form.get("warehouse") or "")
    try:
        result = parse_for(s.policy, text, customer or None)
    except JimuError as exc:
        return _page(s, text, None, customer=customer, warehouse=warehouse, message=exc.message, status=exc.status)
    if form.get("action") != "create":
        return _page(s, text, result, customer=customer, warehouse=warehouse)
    try:
        rows = _rows(s, form)
    except JimuError as exc:
        return _page(s, text, result, customer=customer, warehouse=warehouse, message=exc.message, status=exc.status)
    if not rows:
        return _page(s, text, result, customer=customer, warehouse=warehouse, message=s.t("chat_no_lines"),
                     status=422)
    cust = parse_id(customer) if customer else None
    try:
        order = create_draft(s.policy, text, cust if cust is not None else (
            result.customer["id"] if result.customer else None), warehouse or None, rows)
    except JimuError as exc:
        return _page(s, text, result, customer=customer, warehouse=warehouse, message=exc.message, status=exc.status)
    return redirect(f"/app/{s.app}/{ORDER}/{order['id']}")

"""Chat orders on a published app: the cached catalogue index, parsing on behalf of a
caller, and the draft sales order made from a message.

The index is built once per (app, published version, catalogue state) and shared by
every caller and request of the process. The catalogue state is read on each call with
one cheap query per table (row count, newest ``updated_at``, highest id), so an item
created, changed or deleted by any worker rebuilds the index on the next parse; nothing
has to be told. What a caller may see is applied per call: items outside the caller's
row filter are never matched, a customer outside it is never named.

Everything goes through the caller's :class:`~jimu.runtime.access.AccessPolicy`: parsing
needs read on ``item``; creating needs create on ``sales_order`` and writes through the
record gate (:func:`jimu.runtime.access.gate.create`), the same path as ``POST .../data``.
Lines below the confidence threshold are never put on the order: they are returned as
``flagged`` and listed in the order's note.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError, NotFound, ValidationError
from jimu.core.ids import parse_id
from jimu.platform.schema import column_name
from jimu.runtime.access import AccessPolicy, gate
from jimu.runtime.intel.chat_index import CatalogueIndex
from jimu.runtime.intel.chat_parse import THRESHOLD, ParseResult, parse_chat

__all__ = ["ITEM", "CUSTOMER", "ORDER", "MAX_TEXT", "catalogue_index", "parse_for", "create_order", "create_draft",
           "clear_cache"]

ITEM, CUSTOMER, ORDER, WAREHOUSE = "item", "customer", "sales_order", "warehouse"
MAX_TEXT = 4000
_cache: dict[str, tuple[tuple[Any, ...], CatalogueIndex]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached index (tests)."""
    with _lock:
        _cache.clear()


def _state(conn: Connection, policy: AccessPolicy, entity: str) -> tuple[Any, ...]:
    if policy.rt.spec.entity(entity) is None:
        return ()
    t = policy.rt.tables(entity)
    row = conn.execute(sa.select(sa.func.count(), sa.func.max(t.c.updated_at), sa.func.max(t.c.id))).one()
    return tuple(row)


def _rows(conn: Connection, policy: AccessPolicy, entity: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    ent = policy.rt.spec.entity(entity)
    if ent is None:
        return []
    t = policy.rt.tables(entity)
    cols = [t.c.id]
    names = ["id"]
    for name in fields:
        f = ent.field(name)
        if f is not None and not f.archived and column_name(f) in t.c:
            cols.append(t.c[column_name(f)])
            names.append(name)
    stmt = sa.select(*cols)
    active = ent.field("active")
    if active is not None and active.type == "boolean" and column_name(active) in t.c:
        stmt = stmt.where(sa.or_(t.c[column_name(active)].is_(None), t.c[column_name(active)].is_(True)))
    return [dict(zip(names, r, strict=True)) for r in conn.execute(stmt)]


def catalogue_index(policy: AccessPolicy) -> CatalogueIndex:
    """The app's index (active items, customers), rebuilt when the published version or
    either table changed."""
    jimu, app = policy.jimu, policy.app
    with jimu.db.read() as conn:
        state = (policy.rt.version, _state(conn, policy, ITEM), _state(conn, policy, CUSTOMER))
        hit = _cache.get(app)
        if hit is not None and hit[0] == state:
            return hit[1]
        items = _rows(conn, policy, ITEM, ("sku", "name", "unit", "aliases"))
        customers = _rows(conn, policy, CUSTOMER, ("name", "nickname", "aliases"))
    index = CatalogueIndex(items, customers)
    with _lock:
        _cache[app] = (state, index)
    return index


def _visible(policy: AccessPolicy, entity: str) -> set[int] | None:
    """Ids of ``entity`` the caller may read, or None for all of them."""
    clause = policy.row_clause(entity)
    if clause is None:
        return None
    t = policy.rt.tables(entity)
    with policy.jimu.db.read() as conn:
        return {int(r[0]) for r in conn.execute(sa.select(t.c.id).where(clause))}


def _check_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("请粘贴一条消息 / text is required: paste the chat message", code="chat_order.text",
                              errors=[FieldError("text", "required", "the message as pasted")])
    if len(text) > MAX_TEXT:
        raise ValidationError(f"消息过长 / the message is longer than {MAX_TEXT} characters", code="chat_order.text",
                              errors=[FieldError("text", "max_length", f"at most {MAX_TEXT} characters")])
    return text


def _customer(policy: AccessPolicy, raw: Any) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    cid = parse_id(str(raw))
    if cid is None or isinstance(raw, bool):
        raise ValidationError("customer 须为客户 id / customer must be a customer id", code="chat_order.customer",
                              errors=[FieldError("customer", "type", "a customer id")])
    rec = policy.load(CUSTOMER, cid)  # 404 unless the caller may read it
    return {"id": rec["id"], "name": rec.get("name")}


def parse_for(policy: AccessPolicy, text: Any, customer: Any = None) -> ParseResult:
    """Parse ``text`` as ``policy``'s caller: 404 when the app has no items, 403 without
    read on them; ``customer`` (an id) must be a customer the caller may read."""
    text = _check_text(text)
    if policy.rt.spec.entity(ITEM) is None:
        raise NotFound(f"app '{policy.app}' has no items to order / 此应用没有商品", code="chat_order.unavailable")
    policy.require(ITEM, "read")
    given = _customer(policy, customer)
    index = catalogue_index(policy)
    may_customers = policy.can(CUSTOMER, "read")
    result = parse_chat(text, index, customer=given, allowed_items=_visible(policy, ITEM),
                        detect_customer=True)
    if given is None and result.customer is not None:
        seen = may_customers and (_visible(policy, CUSTOMER) is None
                                  or result.customer["id"] in (_visible(policy, CUSTOMER) or set()))
        if not seen:
            result.customer = None
    if policy.field_rule(ITEM, "name").access not in ("read", "write"):
        for ln in result.lines:
            if ln.item is not None:
                ln.item = {**ln.item, "name": None}
    return result


def _order_fields(policy: AccessPolicy) -> tuple[Any, Any]:
    ent = policy.require(ORDER, "create")
    lines = ent.field("lines")
    if lines is None or lines.type != "child_table" or not lines.target:
        raise NotFound(f"app '{policy.app}' has no sales order lines / 此应用的销售订单没有明细",
                       code="chat_order.unavailable")
    return ent, policy.rt.entity(lines.target)


def _warehouse(policy: AccessPolicy, raw: Any) -> int | None:
    if raw not in (None, ""):
        wid = parse_id(str(raw))
        if wid is None or isinstance(raw, bool):
            raise ValidationError("warehouse 须为仓库 id / warehouse must be a warehouse id",
                                  code="chat_order.warehouse", errors=[FieldError("warehouse", "type", "a warehouse id")])
        return int(policy.load(WAREHOUSE, wid)["id"])
    if policy.rt.spec.entity(WAREHOUSE) is None or not policy.can(WAREHOUSE, "read"):
        return None
    t = policy.rt.tables(WAREHOUSE)
    stmt = sa.select(t.c.id).order_by(t.c.id).limit(1)
    clause = policy.row_clause(WAREHOUSE)
    if clause is not None:
        stmt = stmt.where(clause)
    with policy.jimu.db.read() as conn:
        found = conn.execute(stmt).scalar()
    return int(found) if found is not None else None


def _prices(policy: AccessPolicy, ids: set[int]) -> dict[int, Any]:
    ent = policy.rt.spec.entity(ITEM)
    f = ent.field("sale_price") if ent is not None else None
    if f is None or not ids or policy.field_rule(ITEM, "sale_price").access not in ("read", "write"):
        return {}
    t = policy.rt.tables(ITEM)
    with policy.jimu.db.read() as conn:
        rows = conn.execute(sa.select(t.c.id, t.c[column_name(f)]).where(t.c.id.in_(sorted(ids))))
        return {int(r[0]): r[1] for r in rows if r[1] is not None}


def _note(text: str, result: ParseResult) -> str:
    parts = [f"微信消息 / chat message:\n{text.strip()}"]
    flagged = [ln for ln in result.lines if ln.item is None]
    if flagged:
        parts.append("未确定的行，请核对 / lines to check (not on the order):\n" + "\n".join(
            f"- {ln.text} × {ln.qty}{ln.unit or ''}" for ln in flagged))
    if result.unparsed:
        parts.append("未识别 / not understood:\n" + "\n".join(f"- {u}" for u in result.unparsed))
    return "\n\n".join(parts)


def create_order(policy: AccessPolicy, body: Mapping[str, Any]) -> dict[str, Any]:
    """Parse ``body['text']`` and create the draft sales order from its confident lines
    (``customer``/``warehouse`` ids in the body win over what the message says). Returns
    ``{order, customer, lines, flagged, unparsed}``; 422 ``chat_order.no_lines`` when no
    line is confident, ``chat_order.customer_required`` when the order needs a customer
    the message does not name."""
    _order_fields(policy)
    result = parse_for(policy, body.get("text"), body.get("customer"))
    good = [ln for ln in result.lines if ln.item is not None and ln.confidence >= THRESHOLD]
    flagged = [ln.as_json() for ln in result.lines if ln.item is None]
    if not good:
        raise ValidationError("消息中没有能确定的商品行 / no line of the message matched an item with confidence",
                              code="chat_order.no_lines", errors=[FieldError("text", "chat_order.no_lines",
                                                                             "no confident line")],
                              extra={"lines": [ln.as_json() for ln in result.lines], "unparsed": result.unparsed})
    rows = [(int(ln.item["id"]), ln.qty) for ln in good if ln.item is not None]
    order = create_draft(policy, str(body.get("text")), result.customer["id"] if result.customer else None,
                         body.get("warehouse"), rows, note=_note(str(body.get("text")), result))
    return {"order": order, "customer": result.customer["id"] if result.customer else None,
            "lines": [ln.as_json() for ln in good], "flagged": flagged, "unparsed": result.unparsed}


def create_draft(policy: AccessPolicy, text: str, customer: int | None, warehouse: Any,
                 rows: list[tuple[int, Decimal]], *, note: str | None = None) -> dict[str, Any]:
    """The draft sales order of ``rows`` (item id, qty) as the caller, through the record
    gate: prices from the items' sale price (when the caller may read it), channel
    ``wechat``, the message in the note. Items the caller may not read are refused (404),
    as a link to them would be on any form."""
    ent, line_ent = _order_fields(policy)
    unseen = {i for i, _q in rows} - {int(x) for x in policy.visible_ids(ITEM, {i for i, _q in rows})}
    if unseen:
        raise NotFound(f"item {min(unseen)} not found", code="record.not_found")
    data: dict[str, Any] = {}
    cust = ent.field("customer")
    if cust is not None:
        if customer is None:
            if cust.required:
                raise ValidationError("消息里没有认出客户，请指定 / name the customer: the message does not say who orders",
                                      code="chat_order.customer_required",
                                      errors=[FieldError("customer", "required", "a customer id")])
        else:
            data["customer"] = customer
    if ent.field("warehouse") is not None:
        wid = _warehouse(policy, warehouse)
        if wid is not None:
            data["warehouse"] = wid
    channel = ent.field("channel")
    if channel is not None and "wechat" in channel.choice_values:
        data["channel"] = "wechat"
    if ent.field("note") is not None:
        data["note"] = note if note is not None else f"微信消息 / chat message:\n{text.strip()}"
    prices = _prices(policy, {i for i, _q in rows})
    lines = []
    for item, qty in rows:
        row: dict[str, Any] = {"item": item, "qty": format(qty, "f")}
        if line_ent.field("price") is not None and item in prices:
            row["price"] = str(prices[item])
        lines.append(row)
    data["lines"] = lines
    with policy.jimu.db.write() as conn:
        rec = gate.create(policy, conn, ORDER, data)
    return policy.render(ORDER, rec)

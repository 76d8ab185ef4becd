"""What an MRP run of one warehouse reads, in a few set-based queries (one per entity and
child table, not one per record), turned into the engine's plain data.

Why here and not in the ``mrp`` unit's actions: the unit's ``actions.py`` is loaded by
file path, and benchmarks and tests call the loader directly.

Rules (DESIGN 16):
- Planned items are the BOM world (products and components of active BOMs) and items
  with a ``default_supplier``: a grocery order in the same warehouse is not planned.
- Independent demand: the open quantity (``qty − shipped_qty``) of lines of open sales
  orders of the warehouse on ``delivery_date`` (else ``order_date``); the components of
  draft and released work orders on ``planned_start`` (else ``planned_date``); a draft
  work order without components explodes its BOM (scrap included).
- Scheduled receipts: open purchase orders' open quantity (``qty − received_qty``) on
  ``expected_date`` (else the run date); open work orders' ``qty − completed_qty`` on
  ``planned_end`` (else ``planned_date``); transfers in transit to the warehouse (shipped,
  not received: state ``in_transit``) the quantity of each line (or of a single-item
  transfer) on ``expected_date`` (else the run date). The source warehouse lost that stock
  at shipping already: nothing is counted there.
- On hand: the warehouse's ``on_hand`` in the stock ledger (every batch). Reservations
  are not subtracted: the documents holding them are demand already.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.schema import column_name
from jimu.runtime.apps import AppRuntime
from jimu.runtime.mrp.engine import Component, Demand, PlanItem, Receipt, Structure

__all__ = ["OPEN_SO", "OPEN_PO", "OPEN_WO", "IN_TRANSIT", "World", "load_world", "load_structure", "parents_of",
           "level_of", "last_suppliers",
           "items_of_document", "item_names"]

OPEN_SO = ("draft", "pending_approval", "approved", "partially_shipped")
OPEN_PO = ("draft", "submitted", "approved", "partially_received")
OPEN_WO = ("draft", "released", "in_progress")
IN_TRANSIT = ("in_transit",)
_ZERO = Decimal(0)
_CHUNK = 900  # ids per IN list (SQLite's bound-parameter limit is 999 on old builds)


@dataclass
class World:
    """The engine's inputs for one warehouse plus what the action names things by."""

    items: dict[int, PlanItem] = field(default_factory=dict)
    boms: dict[int, Structure] = field(default_factory=dict)
    demands: list[Demand] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # item id -> "sku name"
    costs: dict[int, Any] = field(default_factory=dict)


def _col(rt: AppRuntime, entity: str, name: str) -> Any:
    """The column of ``entity.name``, or None when the app's entity has no such field."""
    ent = rt.spec.entity(entity)
    f = ent.field(name) if ent is not None else None
    if f is None or f.archived or not f.stored:
        return None
    return rt.tables(entity).c[column_name(f)]


def _child(rt: AppRuntime, entity: str, field_name: str) -> str | None:
    ent = rt.spec.entity(entity)
    f = ent.field(field_name) if ent is not None else None
    return f.target if f is not None and f.type == "child_table" else None


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(ids)
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def load_structure(conn: Connection, rt: AppRuntime, products: Iterable[int] | None = None) -> dict[int, Structure]:
    """Every active BOM by product (only those of ``products`` when given): two queries
    (heads, then their lines)."""
    if rt.spec.entity("bom") is None:
        return {}
    b = rt.tables("bom")
    active = [_col(rt, "bom", "state") == "active"]
    if products is not None:
        wanted = sorted(set(products))
        if not wanted:
            return {}
        active.append(_col(rt, "bom", "product").in_(wanted))
    heads = {int(r[0]): (int(r[1]), _dec(r[2]) or Decimal(1)) for r in conn.execute(
        sa.select(b.c.id, _col(rt, "bom", "product"), _col(rt, "bom", "qty")).where(*active))}
    lines: dict[int, list[Component]] = {i: [] for i in heads}
    child = _child(rt, "bom", "lines")
    if child and heads:
        lt = rt.tables(child)
        scrap = _col(rt, child, "scrap_rate")
        cols = [lt.c._parent_id, _col(rt, child, "item"), _col(rt, child, "qty")] + ([scrap] if scrap is not None else [])
        sel = sa.select(*cols).where(lt.c._parent_id.in_(sa.select(b.c.id).where(*active)))
        for r in conn.execute(sel.order_by(lt.c._parent_id, lt.c._idx)):
            lines[int(r[0])].append(Component(int(r[1]), _dec(r[2]), _dec(r[3]) if scrap is not None else _ZERO))
    return {product: Structure(product, qty, tuple(lines[bid])) for bid, (product, qty) in heads.items()}


def parents_of(conn: Connection, rt: AppRuntime, items: Iterable[int]) -> set[int]:
    """The products of active BOMs that use any of ``items``: one query."""
    wanted = sorted(set(items))
    child = _child(rt, "bom", "lines")
    if rt.spec.entity("bom") is None or child is None or not wanted:
        return set()
    b, lt = rt.tables("bom"), rt.tables(child)
    sel = (sa.select(_col(rt, "bom", "product")).select_from(lt.join(b, lt.c._parent_id == b.c.id))
           .where(_col(rt, "bom", "state") == "active", _col(rt, child, "item").in_(wanted)).distinct())
    return {int(p) for (p,) in conn.execute(sel)}


def level_of(conn: Connection, rt: AppRuntime, item: int, limit: int = 100) -> int:
    """The low-level code of ``item`` (the longest chain of active BOMs above it), walked up
    one generation a query: generation g holds the items ``g`` BOM levels above ``item``
    on some chain, so the last non-empty generation is the deepest level. A chain longer
    than ``limit`` can only be a cycle: :class:`CycleError`."""
    from jimu.runtime.mrp.engine import CycleError

    level, frontier = 0, {item}
    while True:
        frontier = parents_of(conn, rt, frontier)
        if not frontier:
            return level
        level += 1
        if level > limit:
            raise CycleError([item, *sorted(frontier)[:1], item])


def _on_hand(conn: Connection, rt: AppRuntime, warehouse: Any, only: set[int] | None = None) -> dict[int, Decimal]:
    """On hand per item in ``warehouse`` (every batch); with ``only`` (a net change, the
    planner's grid) the balances of those items alone, not the whole warehouse's."""
    from jimu.platform.ledger import as_ledger, balances

    lg = rt.spec.ledger("stock")
    out: dict[int, Decimal] = {}
    if lg is None:
        return out
    if only is not None and "item" in as_ledger(lg).dimensions:
        return _on_hand_of(conn, rt.name, lg, warehouse, only)
    for row in balances(conn, rt.name, lg, warehouse=warehouse):
        if row.get("item") is not None:
            out[int(row["item"])] = out.get(int(row["item"]), _ZERO) + row["on_hand"]
    return out


def _on_hand_of(conn: Connection, app: str, lg: Any, warehouse: Any, items: set[int]) -> dict[int, Decimal]:
    """On hand of ``items`` in ``warehouse``, summed over their other dimensions (batches)
    by the database: one query per 900 items. A factory's warehouse holds tens of
    thousands of balance rows; a net change reaches a few hundred items."""
    from jimu.platform.ledger import as_ledger
    from jimu.platform.ledger.spec import dim_text
    from jimu.platform.ledger.tables import balance

    led = as_ledger(lg)
    b = balance.c
    item_col = b[f"d{led.dimensions.index('item') + 1}"]
    where = [b.app == app, b.ledger == led.name]
    for col, text in led.slot_filters({"warehouse": warehouse}).items():
        where.append(b[col].is_(None) if text is None else b[col] == text)
    out: dict[int, Decimal] = {}
    for chunk in _chunks(items):
        texts = {dim_text(i): i for i in chunk}
        sel = sa.select(item_col, sa.func.sum(b.on_hand)).where(*where, item_col.in_(sorted(t for t in texts if t)))
        for text, units in conn.execute(sel.group_by(item_col)):
            out[texts[text]] = led.to_qty(int(units))
    return out


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _doc_lines(conn: Connection, rt: AppRuntime, entity: str, lines_field: str, states: tuple[str, ...],
               warehouse: Any, head_fields: list[str], line_fields: list[str],
               only: set[int] | None) -> list[dict[str, Any]]:
    """Lines of open documents of the warehouse joined to their heads: one query."""
    child = _child(rt, entity, lines_field)
    if rt.spec.entity(entity) is None or child is None:
        return []
    h, lt = rt.tables(entity), rt.tables(child)
    cols = [h.c.id.label("doc_id")]
    for f in head_fields:
        c = _col(rt, entity, f)
        cols.append((c if c is not None else sa.null()).label("h_" + f))
    for f in line_fields:
        c = _col(rt, child, f)
        cols.append((c if c is not None else sa.null()).label("l_" + f))
    sel = (sa.select(*cols).select_from(lt.join(h, lt.c._parent_id == h.c.id))
           .where(_col(rt, entity, "state").in_(states), _col(rt, entity, "warehouse") == warehouse))
    if only is not None and len(only) <= _CHUNK:  # net change: the few items reached, in SQL
        sel = sel.where(_col(rt, child, "item").in_(sorted(only)))
    rows = _dicts(conn.execute(sel.order_by(h.c.id, lt.c._idx)))
    return [r for r in rows if only is None or int(r["l_item"]) in only]


def _dicts(result: Any) -> list[dict[str, Any]]:
    """A result's rows as dicts (the keys zipped in once: a RowMapping per row built its
    key view each time, a third of loading 50,000 order lines)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def item_names(conn: Connection, rt: AppRuntime, ids: Iterable[int]) -> dict[int, str]:
    """``"sku name"`` of each of ``ids`` (as :func:`load_world` names items): a net change
    names the parents it keeps in its components' pegging as a full run does."""
    it = rt.tables("item")
    sku, name = _col(rt, "item", "sku"), _col(rt, "item", "name")
    out: dict[int, str] = {}
    for chunk in _chunks(set(ids)):
        for iid, s, n in conn.execute(sa.select(it.c.id, sku if sku is not None else sa.null(), name)
                                      .where(it.c.id.in_(chunk))):
            out[int(iid)] = f"{s} {n}" if s else str(n)
    return out


def load_world(conn: Connection, rt: AppRuntime, warehouse: Any, run_date: date,
               only: set[int] | None = None, boms: dict[int, Structure] | None = None) -> World:
    """The engine's inputs for ``warehouse``; ``only`` restricts demands, receipts and
    items to those ids (net change), the structure (``boms`` when already loaded) is
    always whole."""
    w = World(boms=boms if boms is not None else load_structure(conn, rt))
    world_items = set(w.boms) | {c.item for s in w.boms.values() for c in s.components}
    it = rt.tables("item")
    fields = ["sku", "name", "safety_stock", "lead_time_days", "min_order_qty", "order_multiple", "default_supplier",
              "cost_price"]
    cols = [it.c.id] + [(_col(rt, "item", f) if _col(rt, "item", f) is not None else sa.null()).label(f) for f in fields]
    sel = sa.select(*cols)
    supplier_col = _col(rt, "item", "default_supplier")
    if only is None:
        if supplier_col is not None:
            sel = sel.where(sa.or_(it.c.id.in_(sorted(world_items)) if len(world_items) <= _CHUNK else sa.true(),
                                   supplier_col.is_not(None)))
        rows = _dicts(conn.execute(sel))
    else:
        rows = [r for ids in _chunks(only) for r in _dicts(conn.execute(sel.where(it.c.id.in_(ids))))]
    stock = _on_hand(conn, rt, warehouse, only)
    for r in rows:
        iid = int(r["id"])
        if only is None and iid not in world_items and r["default_supplier"] is None:
            continue
        w.names[iid] = f"{r['sku']} {r['name']}" if r["sku"] else str(r["name"])
        w.costs[iid] = r["cost_price"]
        w.items[iid] = PlanItem(iid, on_hand=stock.get(iid, _ZERO), safety_stock=_dec(r["safety_stock"]),
                                lead_time_days=int(r["lead_time_days"] or 0), min_order_qty=_dec(r["min_order_qty"]),
                                order_multiple=_dec(r["order_multiple"]),
                                supplier=int(r["default_supplier"]) if r["default_supplier"] is not None else None)
    planned = set(w.items)
    for so in _doc_lines(conn, rt, "sales_order", "lines", OPEN_SO, warehouse,
                         ["number", "delivery_date", "order_date"], ["item", "qty", "shipped_qty"], planned):
        qty = _dec(so["l_qty"]) - _dec(so["l_shipped_qty"])
        on = _first(so["h_delivery_date"], so["h_order_date"], run_date)
        w.demands.append(Demand(int(so["l_item"]), qty, on, str(so["h_number"] or so["doc_id"])))
    for po in _doc_lines(conn, rt, "purchase_order", "lines", OPEN_PO, warehouse,
                         ["number", "expected_date"], ["item", "qty", "received_qty"], planned):
        qty = _dec(po["l_qty"]) - _dec(po["l_received_qty"])
        w.receipts.append(Receipt(int(po["l_item"]), qty, _first(po["h_expected_date"], run_date),
                                  str(po["h_number"] or po["doc_id"])))
    _work_orders(conn, rt, warehouse, run_date, w, planned)
    _transfers_in(conn, rt, warehouse, run_date, w, planned)
    return w


def _transfers_in(conn: Connection, rt: AppRuntime, warehouse: Any, run_date: date, w: World, planned: set[int]) -> None:
    """Transfers in transit to ``warehouse``: their lines (and a single-item transfer's
    item) arrive on the expected date. Two queries (lines, single items)."""
    ent = "stock_transfer"
    if rt.spec.entity(ent) is None or _col(rt, ent, "to_warehouse") is None or _col(rt, ent, "state") is None:
        return
    h = rt.tables(ent)
    head = [_col(rt, ent, "state").in_(IN_TRANSIT), _col(rt, ent, "to_warehouse") == warehouse]
    number, expected = _col(rt, ent, "number"), _col(rt, ent, "expected_date")
    heads = [h.c.id, (number if number is not None else sa.null()).label("number"),
             (expected if expected is not None else sa.null()).label("expected")]
    found: list[tuple[Any, Any, Any, Any, Any]] = []  # (id, number, expected, item, qty)
    child = _child(rt, ent, "lines")
    if child:
        lt = rt.tables(child)
        sel = (sa.select(*heads, _col(rt, child, "item").label("item"), _col(rt, child, "qty").label("qty"))
               .select_from(lt.join(h, lt.c._parent_id == h.c.id)).where(*head).order_by(h.c.id, lt.c._idx))
        found += [(r.id, r.number, r.expected, r.item, r.qty) for r in conn.execute(sel)]
    item, qty = _col(rt, ent, "item"), _col(rt, ent, "qty")
    if item is not None and qty is not None:  # single-item transfers (stock unit before 1.2)
        sel = sa.select(*heads, item.label("item"), qty.label("qty")).where(*head, item.is_not(None)).order_by(h.c.id)
        found += [(r.id, r.number, r.expected, r.item, r.qty) for r in conn.execute(sel)]
    for tid, num, on, it, q in found:
        if it is not None and int(it) in planned and _dec(q) > 0:
            w.receipts.append(Receipt(int(it), _dec(q), _first(on, run_date), str(num or tid)))


def _work_orders(conn: Connection, rt: AppRuntime, warehouse: Any, run_date: date, w: World, planned: set[int]) -> None:
    if rt.spec.entity("work_order") is None:
        return
    t = rt.tables("work_order")
    fields = ["number", "product", "qty", "completed_qty", "state", "planned_start", "planned_end", "planned_date", "bom"]
    cols = [t.c.id] + [(_col(rt, "work_order", f) if _col(rt, "work_order", f) is not None else sa.null()).label(f)
                       for f in fields]
    wos = list(conn.execute(sa.select(*cols).where(_col(rt, "work_order", "state").in_(OPEN_WO),
                                                    _col(rt, "work_order", "warehouse") == warehouse)).mappings())
    if not wos:
        return
    comps: dict[int, list[tuple[int, Decimal]]] = {}
    child = _child(rt, "work_order", "components")
    if child:
        ct = rt.tables(child)
        ids = [int(r["id"]) for r in wos]
        for chunk in _chunks(ids):
            for c in conn.execute(sa.select(ct.c._parent_id, _col(rt, child, "item"), _col(rt, child, "qty"))
                                  .where(ct.c._parent_id.in_(chunk))):
                comps.setdefault(int(c[0]), []).append((int(c[1]), _dec(c[2])))
    chosen = {int(r["bom"]) for r in wos if r["bom"] is not None and not comps.get(int(r["id"]))}
    other_boms = _boms_by_id(conn, rt, chosen) if chosen else {}
    for r in wos:
        product, number = int(r["product"]), str(r["number"] or r["id"])
        end = _first(r["planned_end"], r["planned_date"], run_date)
        start = _first(r["planned_start"], r["planned_date"], run_date)
        if product in planned:
            w.receipts.append(Receipt(product, _dec(r["qty"]) - _dec(r["completed_qty"]), end, number))
        if r["state"] == "in_progress":
            continue  # its components are issued already
        rows = comps.get(int(r["id"]))
        if not rows:
            bom = other_boms.get(int(r["bom"])) if r["bom"] is not None else w.boms.get(product)
            rows = [] if bom is None else [
                (c.item, c.qty * (1 + c.scrap_rate) * _dec(r["qty"]) / bom.output_qty) for c in bom.components]
        for item, qty in rows:
            if item in planned:
                w.demands.append(Demand(item, qty, start, number))


def _boms_by_id(conn: Connection, rt: AppRuntime, ids: set[int]) -> dict[int, Structure]:
    """BOMs chosen on work orders (any state), by BOM id."""
    b, child = rt.tables("bom"), _child(rt, "bom", "lines")
    heads = {int(r[0]): (int(r[1]), _dec(r[2]) or Decimal(1)) for r in conn.execute(
        sa.select(b.c.id, _col(rt, "bom", "product"), _col(rt, "bom", "qty")).where(b.c.id.in_(sorted(ids))))}
    lines: dict[int, list[Component]] = {i: [] for i in heads}
    if child:
        lt = rt.tables(child)
        scrap = _col(rt, child, "scrap_rate")
        for r in conn.execute(sa.select(lt.c._parent_id, _col(rt, child, "item"), _col(rt, child, "qty"),
                                        scrap if scrap is not None else sa.null())
                              .where(lt.c._parent_id.in_(sorted(heads)))):
            lines[int(r[0])].append(Component(int(r[1]), _dec(r[2]), _dec(r[3])))
    return {bid: Structure(p, q, tuple(lines[bid])) for bid, (p, q) in heads.items()}


def last_suppliers(conn: Connection, rt: AppRuntime, items: Iterable[int]) -> dict[int, int]:
    """The supplier each of ``items`` was last ordered from (newest purchase order first)."""
    child = _child(rt, "purchase_order", "lines")
    wanted = set(items)
    if rt.spec.entity("purchase_order") is None or child is None or not wanted:
        return {}
    h, lt = rt.tables("purchase_order"), rt.tables(child)
    out: dict[int, int] = {}
    for chunk in _chunks(wanted):
        sel = (sa.select(_col(rt, child, "item"), _col(rt, "purchase_order", "supplier"))
               .select_from(lt.join(h, lt.c._parent_id == h.c.id))
               .where(_col(rt, child, "item").in_(chunk), _col(rt, "purchase_order", "state") != "cancelled")
               .order_by(h.c.id.desc()))
        for item, supplier in conn.execute(sel):
            if supplier is not None:
                out.setdefault(int(item), int(supplier))
    return out


def items_of_document(conn: Connection, rt: AppRuntime, number: str) -> tuple[str, set[int]] | None:
    """(entity, the items it moves) of the sales, purchase or work order or the stock
    transfer numbered ``number``."""
    for entity, lines_field in (("sales_order", "lines"), ("purchase_order", "lines"), ("work_order", "components"),
                                ("stock_transfer", "lines")):
        num = _col(rt, entity, "number")
        if num is None:
            continue
        t = rt.tables(entity)
        row = conn.execute(sa.select(t.c.id).where(num == number)).first()
        if row is None:
            continue
        items: set[int] = set()
        single = {"work_order": "product", "stock_transfer": "item"}.get(entity)
        if single is not None and _col(rt, entity, single) is not None:
            product = conn.execute(sa.select(_col(rt, entity, single)).where(t.c.id == row[0])).scalar()
            if product is not None:
                items.add(int(product))
        child = _child(rt, entity, lines_field)
        if child:
            lt = rt.tables(child)
            items |= {int(i) for (i,) in conn.execute(sa.select(_col(rt, child, "item")).where(lt.c._parent_id == row[0]))}
        return entity, items
    return None

"""The planner's view of an MRP run (DESIGN 16, Manufacturing): the time-phased grid of
one item, the pegging of its planned orders, the run's exceptions and the item picker,
all through the caller's policy.

Why the grid is re-netted here: a run stores one ``mrp_line`` per planned order and one
``mrp_exception`` per exception, not the bucket figures. The grid of an item is netted
again exactly as a net change of that one item would net it: its own demands and
receipts read now (:func:`jimu.runtime.mrp.data.load_world`), its parents' planned
releases read from the run's stored lines, on the run's calendar. When the planned
orders so found differ from the run's stored lines of the item (an order or the stock
moved since the run), ``matches_run`` is false and the screen says so.

Rights: the run is loaded through the policy (403 without read on ``mrp_run``, 404 when
its row is filtered away), the item likewise; stored lines and exceptions are rendered
by the caller's field rights and row filters, and a document is linked only when the
caller may read it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import FieldError, NotFound, ValidationError
from jimu.runtime.access import AccessPolicy
from jimu.runtime.mrp import data, store
from jimu.runtime.mrp.engine import SAFETY_STOCK, Calendar, CycleError, Planner
from jimu.runtime.records.codec import row_to_record

__all__ = ["open_run", "run_calendar", "item_grid", "run_items", "run_exceptions", "KINDS", "ROWS", "fmt"]

#: Exception kinds, in the order the screen lists them.
KINDS = ("past_due", "expedite", "defer", "cancel")
#: The grid's rows, top to bottom (textbook order).
ROWS = ("gross", "scheduled", "projected", "net", "planned_receipts", "planned_releases")
#: Documents a pegging entry or exception may name, by entity (each has a ``number``).
DOCUMENTS = ("sales_order", "purchase_order", "work_order", "stock_transfer", "subcontract_order")
_Q = Decimal("0.0001")
_ZERO = Decimal(0)


def fmt(value: Decimal) -> str:
    """A quantity as the API writes decimals of scale 4 (``"9.0000"``)."""
    return format(value.quantize(_Q), "f")


def open_run(policy: AccessPolicy, run_id: Any) -> dict[str, Any]:
    """The run record as stored (403 without read on ``mrp_run``, 404 when hidden)."""
    if policy.rt.spec.entity("mrp_run") is None:
        raise NotFound(f"app '{policy.app}' has no MRP runs", code="mrp.not_installed")
    return policy.load("mrp_run", run_id)


def run_calendar(run: Mapping[str, Any]) -> Calendar:
    from jimu.core.clock import today

    return Calendar(run.get("run_date") or today(), int(run.get("horizon_days") or 91),
                    1 if run.get("bucket") == "day" else 7)


def _col(policy: AccessPolicy, entity: str, name: str) -> Any:
    ent = policy.rt.spec.entity(entity)
    f = ent.field(name) if ent is not None else None
    if f is None or f.archived or not f.stored:
        return None
    return policy.rt.tables(entity).c[f.column or f.name]


def _readable(policy: AccessPolicy, entity: str, name: str) -> bool:
    return policy.field_rule(entity, name).access in ("read", "write")


def _item_labels(policy: AccessPolicy, conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """``{id: {id, sku, name, label}}`` of the items the caller may read among ``ids``."""
    wanted = sorted({int(i) for i in ids})
    if not wanted or not policy.can("item", "read"):
        return {}
    t = policy.rt.tables("item")
    names = [n for n in ("sku", "name") if _col(policy, "item", n) is not None and _readable(policy, "item", n)]
    cols = [t.c.id] + [_col(policy, "item", n).label(n) for n in names]
    clause = policy.row_clause("item")
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(wanted), 900):
        sel = sa.select(*cols).where(t.c.id.in_(wanted[i:i + 900]))
        if clause is not None:
            sel = sel.where(clause)
        for r in conn.execute(sel).mappings():
            sku, name = r.get("sku"), r.get("name")
            out[int(r["id"])] = {"id": int(r["id"]), "sku": sku, "name": name,
                                 "label": " ".join(str(v) for v in (sku, name) if v) or f"#{r['id']}"}
    return out


def _documents(policy: AccessPolicy, conn: Connection, numbers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{number: {entity, id}}`` of the documents among ``numbers`` the caller may read."""
    wanted = sorted({n for n in numbers if n})
    out: dict[str, dict[str, Any]] = {}
    for entity in DOCUMENTS:
        num = _col(policy, entity, "number")
        if not wanted or num is None or not policy.can(entity, "read"):
            continue
        t = policy.rt.tables(entity)
        clause = policy.row_clause(entity)
        for i in range(0, len(wanted), 900):
            sel = sa.select(t.c.id, num).where(num.in_(wanted[i:i + 900]))
            if clause is not None:
                sel = sel.where(clause)
            for rid, number in conn.execute(sel):
                out.setdefault(str(number), {"entity": entity, "id": int(rid)})
        wanted = [n for n in wanted if n not in out]
    return out


def _of_run(policy: AccessPolicy, entity: str, run_id: int) -> Any:
    """``run == run_id`` written so the database looks the rows up by item, not by run:
    ``run + 0`` is not the indexed column, so the item index (a few rows) is used rather
    than the run index (every line of a large run; SQLite picks it without statistics)."""
    return (_col(policy, entity, "run") + 0) == run_id


def _releases(policy: AccessPolicy, conn: Connection, run_id: int, parents: Iterable[int]) -> list[dict[str, Any]]:
    """``{item, net_qty, release_date, due_date}`` of the run's lines of ``parents`` (what
    :func:`jimu.runtime.mrp.store.kept_releases` reads for a net change), looked up by item."""
    names = ("item", "net_qty", "release_date", "due_date")
    t = policy.rt.tables("mrp_line")
    ids = sorted(set(parents))
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 900):
        sel = (sa.select(*[_col(policy, "mrp_line", n).label(n) for n in names])
               .where(_of_run(policy, "mrp_line", run_id), _col(policy, "mrp_line", "item").in_(ids[i:i + 900]))
               .order_by(t.c.id))
        out += [dict(r) for r in conn.execute(sel).mappings()]
    return out


def _records(policy: AccessPolicy, conn: Connection, entity: str, where: list[Any], order: list[Any],
             limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Records of ``entity`` matching ``where`` under the caller's row filter, rendered by
    the caller's field rights."""
    ent = policy.rt.spec.entity(entity)
    if ent is None or not policy.can(entity, "read"):
        return []
    t = policy.rt.tables(entity)
    clause = policy.row_clause(entity)
    sel = sa.select(t).where(*where, *([clause] if clause is not None else [])).order_by(*order)
    if limit is not None:
        sel = sel.limit(limit).offset(offset)
    rows = [row_to_record(ent, dict(r)) for r in conn.execute(sel).mappings()]
    return policy.render_many(entity, rows)


def _run_head(run: Mapping[str, Any]) -> dict[str, Any]:
    on = run.get("run_date")
    return {"id": run["id"], "number": run.get("number"), "warehouse": run.get("warehouse"),
            "run_date": on.isoformat() if on is not None else None,
            "horizon_days": run.get("horizon_days"), "bucket": run.get("bucket") or "week", "state": run.get("state")}


def _same(value: Any, qty: Decimal) -> bool:
    """A stored (rendered) quantity equals ``qty``; a hidden or masked one never does."""
    try:
        return value is not None and Decimal(str(value)) == qty
    except (ArithmeticError, ValueError):
        return False


def _peg_out(peg: Any, items: Mapping[int, dict[str, Any]], docs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    if peg.parent is not None:
        parent = items.get(peg.parent)
        return {"kind": "parent", "item": peg.parent, "item_label": parent["label"] if parent else f"#{peg.parent}",
                "due_date": peg.source, "qty": fmt(peg.qty)}
    if peg.source == SAFETY_STOCK:
        return {"kind": "safety_stock", "qty": fmt(peg.qty)}
    if peg.source == "on_hand":
        return {"kind": "negative_stock", "qty": fmt(peg.qty)}
    doc = docs.get(peg.source)
    return {"kind": "document", "document": peg.source, "date": peg.on.isoformat(), "qty": fmt(peg.qty),
            "entity": doc["entity"] if doc else None, "id": doc["id"] if doc else None}


def item_grid(policy: AccessPolicy, run: Mapping[str, Any], item_id: Any) -> dict[str, Any]:
    """The time-phased grid of ``item_id`` in ``run`` (a record from :func:`open_run`)."""
    item = policy.load("item", item_id)
    iid = int(item["id"])
    rt, run_id = policy.rt, int(run["id"])
    cal = run_calendar(run)
    with policy.jimu.db.read() as conn:
        # the structure around the item only (its BOM and its parents' BOMs), not the
        # whole factory's: a few queries whatever the factory's size
        parents = data.parents_of(conn, rt, {iid})
        boms = data.load_structure(conn, rt, parents | {iid})
        try:
            levels = {iid: data.level_of(conn, rt, iid)}
        except CycleError as err:
            raise ValidationError(f"BOM cycle: {err.cycle} (BOM 循环引用)", code="bom.cycle",
                                  extra={"cycle": err.cycle}) from err
        world = data.load_world(conn, rt, run["warehouse"], cal.start, only={iid}, boms=boms)
        # what a full run plans: the BOM world and items with a default supplier; any other
        # item's orders are not MRP's (its grid shows its stock, nothing planned)
        is_planned = iid in boms or bool(parents) or (iid in world.items and world.items[iid].supplier is not None)
        if not is_planned:
            world.demands, world.receipts = [], []
        kept = _releases(policy, conn, run_id, parents) if parents else []
        # only the item's own BOM: its children are re-netted (cheaply, without their own
        # inputs) when its orders change, and nothing below them
        own = {iid: boms[iid]} if iid in boms else {}
        planner = Planner(cal, world.items, own, world.demands, world.receipts, levels=levels)
        planner.set_dependent(store.dependent_from_lines(kept, boms, parents, {iid}))
        planner.replan({iid})
        res = planner.results.get(iid)
        info = planner.item(iid)
        lines, exceptions = (_records(policy, conn, entity, [_of_run(policy, entity, run_id),
                                                             _col(policy, entity, "item") == iid],
                                      [rt.tables(entity).c.id]) for entity in ("mrp_line", "mrp_exception"))
        n = cal.size
        gross = res.gross if res else [_ZERO] * n
        scheduled = res.scheduled if res else [_ZERO] * n
        planned = res.planned_receipts if res else [_ZERO] * n
        releases = res.planned_releases if res else [_ZERO] * n
        projected = res.projected if res else [info.on_hand] * n
        orders = res.orders if res else []
        numbers = [p.source for o in orders for p in o.pegging if p.parent is None]
        numbers += [r.source for r in planner.receipts.get(iid, ())] + [d.source for d in planner.demands.get(iid, ())]
        numbers += [str(e.get("document")) for e in exceptions if e.get("document")]
        docs = _documents(policy, conn, numbers)
        items = _item_labels(policy, conn, [iid] + [p.parent for o in orders for p in o.pegging if p.parent is not None])
    ss = info.safety_stock or _ZERO
    net = [max(_ZERO, ss - (projected[t] - planned[t])) for t in range(n)]
    label = items.get(iid, {"id": iid, "sku": None, "name": None, "label": f"#{iid}"})
    planned_orders = []
    unmatched = list(lines)
    for o in orders:
        line = next((ln for ln in unmatched if str(ln.get("due_date")) == o.due.isoformat()
                     and _same(ln.get("net_qty"), o.qty)), None)
        if line is not None:
            unmatched.remove(line)
        planned_orders.append({"bucket": o.bucket, "action": o.action, "qty": fmt(o.qty), "due_date": o.due.isoformat(),
                               "release_date": o.release.isoformat(), "past_due": o.release < cal.start,
                               "pegging": [_peg_out(p, items, docs) for p in o.pegging],
                               "line": line["id"] if line else None})
    matches = not unmatched and all(po["line"] is not None for po in planned_orders)

    def _doc(number: str) -> dict[str, Any]:
        d = docs.get(number)
        return {"document": number, "entity": d["entity"] if d else None, "id": d["id"] if d else None}

    return {
        "run": _run_head(run), "item": label, "planned": is_planned, "level": levels.get(iid, 0),
        "action": "make" if iid in boms else "buy", "on_hand": fmt(info.on_hand), "safety_stock": fmt(ss),
        "lead_time_days": info.lead_time_days, "min_order_qty": fmt(info.min_order_qty or _ZERO),
        "order_multiple": fmt(info.order_multiple or _ZERO),
        "buckets": [{"index": t, "start": cal.day(t).isoformat(),
                     "end": min(cal.day(t) + timedelta(days=cal.bucket_days - 1),
                                cal.start + timedelta(days=cal.horizon_days - 1)).isoformat()} for t in range(n)],
        "rows": {"gross": [fmt(v) for v in gross], "scheduled": [fmt(v) for v in scheduled],
                 "projected": [fmt(v) for v in projected], "net": [fmt(v) for v in net],
                 "planned_receipts": [fmt(v) for v in planned], "planned_releases": [fmt(v) for v in releases]},
        "demands": sorted(({**_doc(d.source), "date": d.on.isoformat(), "qty": fmt(d.qty),
                            "bucket": cal.bucket(d.on)} for d in planner.demands.get(iid, ())
                           if d.qty > 0 and cal.bucket(d.on) is not None), key=lambda x: (x["date"], x["document"])),
        "receipts": sorted(({**_doc(r.source), "date": r.on.isoformat(), "qty": fmt(r.qty),
                             "bucket": cal.bucket(r.on)} for r in planner.receipts.get(iid, ())
                            if r.qty > 0 and cal.bucket(r.on) is not None), key=lambda x: (x["date"], x["document"])),
        "planned_orders": planned_orders,
        "lines": lines,
        "exceptions": [{**e, "link": docs.get(str(e.get("document"))) if e.get("document") else None}
                       for e in exceptions],
        "matches_run": matches,
    }


def run_items(policy: AccessPolicy, run: Mapping[str, Any], q: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """The item picker: with ``q``, readable items whose SKU or name contains it (the run's
    items first); without, the items with planned orders or exceptions in the run. Each
    ``{id, sku, name, label, orders, exceptions}``."""
    if not policy.can("item", "read"):
        return []
    rt, run_id = policy.rt, int(run["id"])
    counts: dict[int, list[int]] = {}
    with policy.jimu.db.read() as conn:
        for k, entity in enumerate(("mrp_line", "mrp_exception")):
            if rt.spec.entity(entity) is None or not policy.can(entity, "read"):
                continue
            item_col, run_col = _col(policy, entity, "item"), _col(policy, entity, "run")
            sel = sa.select(item_col, sa.func.count()).where(run_col == run_id)
            clause = policy.row_clause(entity)
            if clause is not None:
                sel = sel.where(clause)
            for item, count in conn.execute(sel.group_by(item_col)):
                counts.setdefault(int(item), [0, 0])[k] = int(count)
        q = (q or "").strip()
        if q:
            t = rt.tables("item")
            conds = [sa.func.lower(c).contains(q.lower(), autoescape=True)
                     for c in (_col(policy, "item", "sku"), _col(policy, "item", "name")) if c is not None]
            clause = policy.row_clause("item")
            sel = sa.select(t.c.id).where(sa.or_(*conds) if conds else sa.false())
            if clause is not None:
                sel = sel.where(clause)
            found = [int(i) for (i,) in conn.execute(sel.order_by(t.c.id).limit(500))]
        else:
            found = list(counts)
        labels = _item_labels(policy, conn, found)
    rows = [{**labels[i], "orders": counts.get(i, [0, 0])[0], "exceptions": counts.get(i, [0, 0])[1]}
            for i in found if i in labels]
    rows.sort(key=lambda r: (not (r["orders"] or r["exceptions"]), str(r["sku"] or ""), str(r["name"] or ""), r["id"]))
    return rows[:limit]


def run_exceptions(policy: AccessPolicy, run: Mapping[str, Any], kind: str | None = None, item: Any = None,
                   limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """The run's exceptions (``kind`` and ``item`` filter them), ``limit`` from ``offset``,
    each with its item's label and a link to the document when the caller may read it."""
    if kind and kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)} (例外类型无效)", code="mrp.kind",
                              errors=[FieldError("kind", "choice", f"one of {', '.join(KINDS)}")])
    rt, run_id = policy.rt, int(run["id"])
    if rt.spec.entity("mrp_exception") is None:
        return {"data": [], "total": 0, "counts": {}}
    policy.require("mrp_exception", "read")
    t = rt.tables("mrp_exception")
    run_col, kind_col, item_col = (_col(policy, "mrp_exception", n) for n in ("run", "kind", "item"))
    where = [run_col == run_id]
    clause = policy.row_clause("mrp_exception")
    with policy.jimu.db.read() as conn:
        base = [*where, *([clause] if clause is not None else [])]
        counts = {str(k): int(c) for k, c in conn.execute(
            sa.select(kind_col, sa.func.count()).where(*base).group_by(kind_col))}
        if kind:
            where.append(kind_col == kind)
        if item is not None:
            where.append(item_col == int(item))
        total = int(conn.execute(sa.select(sa.func.count()).select_from(t).where(
            *where, *([clause] if clause is not None else []))).scalar() or 0)
        order = [sa.case({k: i for i, k in enumerate(KINDS)}, value=kind_col, else_=len(KINDS)),
                 _col(policy, "mrp_exception", "date"), t.c.id]
        rows = _records(policy, conn, "mrp_exception", where, order, limit=limit, offset=offset)
        docs = _documents(policy, conn, [str(r["document"]) for r in rows if r.get("document")])
        labels = _item_labels(policy, conn, [int(r["item"]) for r in rows if r.get("item") is not None])
    for r in rows:
        r["item_label"] = labels[int(r["item"])]["label"] if r.get("item") is not None and int(r["item"]) in labels \
            else (f"#{r['item']}" if r.get("item") is not None else "")
        r["link"] = docs.get(str(r["document"])) if r.get("document") else None
    return {"data": rows, "total": total, "counts": counts, "limit": limit, "offset": offset}

"""Trusted MRP actions of the ``mrp`` unit (hook ``jimu_automation_actions``).

``mrp_calculate`` (transitions ``calculate`` and ``replan`` of ``mrp_run``) plans one
warehouse with the time-phased engine (:mod:`jimu.runtime.mrp.engine`): the loader
(:mod:`jimu.runtime.mrp.data`) reads items, active BOMs, open sales, purchase and work
orders and on-hand stock in a few set-based queries; the planned orders become the run's
``mrp_line`` records (one per planned order, with due and release dates, supplier and
pegging) and ``mrp_exception`` records, linked to the run and written in bulk; the run
keeps their counts. With ``net_change: true`` only
the items the run's ``changed_document`` reaches (its items and their components, down
the BOMs) are re-planned; the other lines are kept and their planned releases still feed
the re-planned components.

``mrp_create_orders`` (transition ``create_orders``) turns the run's ``planned`` lines
into draft purchase orders, one per supplier and due date (the line's supplier: the
item's ``default_supplier``, else the last supplier the item was bought from; a buy line
with neither is refused, naming the item), and one draft work order per make line with
its planned start (release) and end (due); the document numbers are written back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import SimpleNamespace
from typing import Any

from jimu.core.errors import FieldError, ValidationError
from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl

__all__ = ["plan_run", "jimu_automation_actions"]


def _calendar(run: Mapping[str, Any]) -> Any:
    from jimu.core.clock import today
    from jimu.runtime.mrp.engine import Calendar

    start = run.get("run_date") or today()
    return Calendar(start, int(run.get("horizon_days") or 91), 1 if run.get("bucket") == "day" else 7)


def _refuse_cycle(ctx: Any, cycle: list[int]) -> None:
    from jimu.platform.hooks import get_plugin_manager

    bom = get_plugin_manager().get_plugin("cbu:bom")
    if bom is not None:
        bom._refuse_cycle(ctx.jimu, ctx.conn, ctx.app, cycle)
    raise ValidationError(f"BOM cycle: {cycle} (BOM 循环引用)", code="bom.cycle", extra={"cycle": cycle})


def plan_run(ctx: Any, run: Mapping[str, Any], net_change: bool = False) -> dict[str, int]:
    """Plan ``run`` into its lines and exceptions; returns counts (lines, exceptions, items)."""
    from jimu.platform.table_stats import refresh_statistics
    from jimu.runtime.mrp import data, netchange, structure
    from jimu.runtime.mrp.engine import gc_paused

    conn, rt = ctx.conn, ctx.jimu.apps.get(ctx.app, ctx.conn)
    cal = _calendar(run)
    user = (ctx.actor or SYSTEM).username
    bs = structure.structure(conn, rt)
    if bs.cycle is not None:
        _refuse_cycle(ctx, bs.cycle)
    rid = int(run["id"])
    if net_change:
        number = str(run.get("changed_document") or "").strip()
        found = data.items_of_document(conn, rt, number)
        if found is None:
            raise ValidationError(f"no sales, purchase or work order or transfer numbered {number!r} (找不到单据 {number})",
                                  code="mrp.document", errors=[FieldError("changed_document", "not_found", number)])
        done = netchange.replan(conn, rt, run, cal, found[1], bs, user)
        counts = {"planned_orders": done["planned_orders"], "exception_count": done["exception_count"]}
        _store_counts(ctx, rid, counts)
        return {**counts, "items": done["items"]}
    # One pause of the cyclic collector from loading to writing, ended once the run's
    # objects are freed: paused only around the engine and the writing, it ran a full
    # collection over the plan (millions of objects) each time it was switched back on.
    with gc_paused():
        written, planned, plan = _full_run(conn, rt, run, cal, bs, user)
        # The plan's million small objects are freed by a thread of their own while the
        # database analyses the new rows (the collector stays paused until they are gone).
        freeing = _free_in_background(plan)
        del plan
        # a net change reads these tables by (run, item) right after: plan it on their new rows
        refresh_statistics(conn, [rt.tables("mrp_line"), rt.tables("mrp_exception")])
        freeing.join()
    counts = {"planned_orders": written[0], "exception_count": written[1]}  # the run's rows are exactly those
    _store_counts(ctx, rid, counts)
    return {**counts, "items": planned}


def _full_run(conn: Any, rt: Any, run: Mapping[str, Any], cal: Any, bs: Any, user: str | None
              ) -> tuple[tuple[int, int], int, Any]:
    """Plan the whole warehouse and replace the run's lines and exceptions: ((lines,
    exceptions) written, items planned, the planner). Its other locals (the inputs, the
    rows) die with it."""
    from jimu.runtime.mrp import data, store
    from jimu.runtime.mrp.engine import Planner

    rid = int(run["id"])
    world = data.load_world(conn, rt, run["warehouse"], cal.start, boms=bs.boms)
    planner = Planner(cal, world.items, bs.boms, world.demands, world.receipts, levels=bs.levels)
    # the last supplier of every item that may be bought without a default one, asked
    # before planning: the connection is busy storing lines while the plan is made
    last = data.last_suppliers(conn, rt, {i for i in planner.everything()
                                          if i not in bs.boms and planner.item(i).supplier is None})
    # planned a batch of items at a time while the lines of the batches before are stored
    lines = store.stream_line_rows(planner.run_levels(), world.names, last)
    written_lines = store.replace_rows(conn, rt, "mrp_line", rid, store.LINE_FIELDS, lines, user)
    results = planner.results
    exceptions = store.exception_rows(results, world.names)
    written = (written_lines, store.replace_rows(conn, rt, "mrp_exception", rid, store.EXCEPTION_FIELDS, exceptions, user))
    return written, len(results), planner


def _free_in_background(planner: Any) -> Any:
    """A started thread that frees ``planner``'s results, dependent demand and inputs
    (about half a second of a 10,000-item run), which this one no longer holds: the
    caller goes on with work that waits for the database."""
    import threading

    held = [planner.results, planner.dependent, planner.demands, planner.receipts]
    planner.results, planner.dependent, planner.demands, planner.receipts = {}, {}, {}, {}
    thread = threading.Thread(target=_drain, args=(held,), name="jimu-mrp-free", daemon=True)
    thread.start()
    return thread


def _drain(held: list[dict[Any, Any]]) -> None:
    """Empty ``held`` an entry at a time: freeing a whole dict is one call that keeps the
    interpreter lock to its end, an entry at a time lets the waiting thread in."""
    for d in held:
        while d:
            d.popitem()


def _store_counts(ctx: Any, rid: int, counts: dict[str, int]) -> None:
    ctx.jimu.records.update(ctx.app, ctx.entity, rid, counts, actor=ctx.actor or SYSTEM, conn=ctx.conn,
                            _allow_state=True, _extra={"document": f"{ctx.entity}:{rid}"})


def _calculate(ctx: Any, spec: Mapping[str, Any]) -> None:
    run = ctx.jimu.records.get(ctx.app, ctx.entity, ctx.record["id"], conn=ctx.conn, with_children=False)
    plan_run(ctx, run, net_change=bool(spec.get("net_change")))


def _create_orders(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.core.clock import today
    from jimu.runtime.mrp import data, store

    jimu, conn, app = ctx.jimu, ctx.conn, ctx.app
    actor = ctx.actor or SYSTEM
    rt = jimu.apps.get(app, conn)
    run = jimu.records.get(app, ctx.entity, ctx.record["id"], conn=conn)
    all_lines = store.read_lines(conn, rt, int(run["id"]), None)
    wanted = [ln for ln in all_lines if (ln.get("status") or "planned") == "planned"
              and ln.get("net_qty") and ln["net_qty"] > 0 and not ln.get("document")]
    items = data.load_world(conn, rt, run["warehouse"], run.get("run_date") or today(),
                            only={int(ln["item"]) for ln in wanted})
    last = data.last_suppliers(conn, rt, {int(ln["item"]) for ln in wanted if ln["action"] == "buy"})
    missing: list[FieldError] = []
    by_supplier: dict[tuple[int, Any], list[dict[str, Any]]] = {}
    make: list[dict[str, Any]] = []
    wanted_ids = {int(ln["id"]) for ln in wanted}
    for ln in all_lines:
        if int(ln["id"]) not in wanted_ids:
            continue
        if ln["action"] == "make":
            make.append(ln)
            continue
        item = int(ln["item"])
        info = items.items.get(item)
        supplier = ln.get("supplier") or (info.supplier if info else None) or last.get(item)
        if supplier is None:
            name = items.names.get(item, str(item))
            missing.append(FieldError(f"mrp_line[{ln['id']}].supplier", "mrp.supplier",
                                      f"{name}: 没有默认供应商,也没有采购记录 / {name}: no default supplier and never "
                                      "bought; set the line's supplier or skip the line"))
            continue
        by_supplier.setdefault((int(supplier), ln.get("due_date")), []).append(ln)
    if missing:
        names = ", ".join(e.message.split(":")[0] for e in missing)
        raise ValidationError(f"MRP: no supplier for {names} (以下物料没有供应商: {names})", code="mrp.supplier",
                              errors=missing)
    numbers: dict[int, str] = {}
    for ln in make:
        wo = jimu.records.create(app, "work_order", {
            "product": ln["item"], "qty": ln["net_qty"], "warehouse": run["warehouse"], "source": run["number"],
            "planned_start": ln.get("release_date"), "planned_end": ln.get("due_date"),
            "planned_date": ln.get("due_date")}, actor=actor, conn=conn)
        numbers[int(ln["id"])] = wo["number"]
    for (supplier, due), group in sorted(by_supplier.items(), key=lambda kv: (kv[0][0], kv[0][1] or date.min)):
        po = jimu.records.create(app, "purchase_order", {
            "supplier": supplier, "warehouse": run["warehouse"], "note": f"MRP {run['number']}",
            "expected_date": due,
            "lines": [{"item": ln["item"], "qty": ln["net_qty"], "price": items.costs.get(int(ln["item"])) or 0}
                      for ln in group]}, actor=actor, conn=conn)
        for ln in group:
            numbers[int(ln["id"])] = po["number"]
    store.mark_ordered(conn, rt, numbers, actor.username)


def _action(name: str, description: str, params: dict[str, str], run: Any) -> Any:
    """An action kind as the automation engine and transitions call it: ``run(ctx, spec)``."""
    return SimpleNamespace(name=name, description=description, params=params, run=run)


ACTIONS = [
    _action("mrp_calculate", "Time-phased MRP of the run's warehouse: planned orders and exceptions as its lines.",
            {"net_change": "true: re-plan only what the run's changed_document reaches"}, _calculate),
    _action("mrp_create_orders", "Draft purchase orders (per supplier and due date) and work orders for the "
            "planned lines.", {}, _create_orders),
]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

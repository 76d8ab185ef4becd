"""Trusted actions of the ``bom`` unit, registered through the ordinary hooks when the
unit is installed (``jimu_automation_actions``, ``jimu_template_install_steps``).

- ``bom_check`` (transition ``activate``): refuses a BOM whose product would need itself
  (a cycle, at any depth, through the other active BOMs) or that already has an active BOM.
- ``bom_explode`` (e.g. work order ``release``): fills an empty child table with one level
  of the product's active BOM, then runs the transition's named ledger postings. The
  workflow engine runs postings before actions, so a posting over an empty child table
  posted nothing; running it again once the rows exist keeps the stock moves declared in
  the ledger spec (a child table filled by hand was already posted and is left alone).
- install step: sample BOMs are loaded as drafts; they are activated (and so checked).

The structure helpers (:func:`active_boms`, :func:`explode`, :func:`low_level_codes`) are
what MRP walks, level by level.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from jimu.core.errors import ValidationError
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.hooks import hookimpl

__all__ = ["Bom", "bom_of", "active_boms", "explode", "low_level_codes", "find_cycle", "all_records", "fill_then_post",
           "jimu_automation_actions", "jimu_template_install_steps"]


class Bom:
    """One active BOM: ``qty`` of ``product`` need ``lines`` [(component, qty)]."""

    def __init__(self, id: int, number: str, product: int, qty: Decimal, lines: list[tuple[int, Decimal]]) -> None:
        self.id, self.number, self.product, self.qty, self.lines = id, number, product, qty, lines


def all_records(jimu: Any, conn: Any, app: str, entity: str, filter: str | None = None,
                children: bool = False) -> list[dict[str, Any]]:
    """Every record of ``entity`` matching the expression ``filter`` (all pages)."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = jimu.records.list(app, entity, filter=filter, limit=500, cursor=cursor, with_children=children,
                                 conn=conn)
        out += [dict(r) for r in page.data]
        cursor = page.next_cursor
        if not cursor:
            return out


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def bom_of(rec: Mapping[str, Any]) -> Bom:
    """A BOM record as a :class:`Bom`; a line's ``scrap_rate`` raises what it needs
    (qty × (1 + scrap)), so work orders reserve and issue what MRP planned."""
    return Bom(int(rec["id"]), str(rec.get("number") or rec["id"]), int(rec["product"]), _dec(rec.get("qty") or 1),
               [(int(ln["item"]), _dec(ln["qty"]) * (1 + _dec(ln.get("scrap_rate")))) for ln in rec.get("lines") or []])


def active_boms(jimu: Any, conn: Any, app: str) -> dict[int, Bom]:
    """The active BOM of every product, by product id."""
    return {b.product: b for b in (bom_of(r) for r in all_records(jimu, conn, app, "bom", 'state == "active"', True))}


def explode(bom: Bom, qty: Any) -> list[tuple[int, Decimal]]:
    """One level: the components (summed per item) needed for ``qty`` of the product."""
    factor = _dec(qty) / bom.qty
    out: dict[int, Decimal] = {}
    for item, per in bom.lines:
        out[item] = out.get(item, Decimal(0)) + per * factor
    return list(out.items())


def _item_names(jimu: Any, conn: Any, app: str, ids: list[int]) -> dict[int, str]:
    names = {}
    for i in set(ids):
        rec = jimu.records.get(app, "item", i, conn=conn)
        names[i] = f"{rec.get('name')} ({rec.get('sku')})" if rec.get("sku") else str(rec.get("name") or i)
    return names


def find_cycle(boms: Mapping[int, Bom], start: int | None = None) -> list[int] | None:
    """A cycle of product ids ``[a, b, ..., a]`` in the BOM graph (from ``start`` when
    given), else None."""
    state: dict[int, int] = {}  # 1 visiting, 2 done

    def visit(node: int, path: list[int]) -> list[int] | None:
        if state.get(node) == 1:
            return [*path[path.index(node):], node]
        if state.get(node) == 2 or node not in boms:
            return None
        state[node] = 1
        for child, _ in boms[node].lines:
            found = visit(child, [*path, node])
            if found:
                return found
        state[node] = 2
        return None

    for node in [start] if start is not None else list(boms):
        found = visit(node, [])
        if found:
            return found
    return None


def low_level_codes(jimu: Any, conn: Any, app: str, boms: Mapping[int, Bom]) -> dict[int, int]:
    """The deepest level at which every item of the structure appears (0 for a product
    nobody uses); a cycle is refused (422) naming its items."""
    cycle = find_cycle(boms)
    if cycle:
        _refuse_cycle(jimu, conn, app, cycle)
    level: dict[int, int] = {}

    def walk(node: int, depth: int) -> None:
        if level.get(node, -1) >= depth:
            return
        level[node] = depth
        for child, _ in boms[node].lines if node in boms else []:
            walk(child, depth + 1)

    used = {c for b in boms.values() for c, _ in b.lines}
    for product in boms:
        if product not in used:
            walk(product, 0)
    return level


def _refuse_cycle(jimu: Any, conn: Any, app: str, cycle: list[int]) -> None:
    names = _item_names(jimu, conn, app, cycle)
    path = " → ".join(names[i] for i in cycle)
    raise ValidationError(f"BOM cycle: {path}; a product cannot need itself (BOM 循环引用: {path})",
                          code="bom.cycle", extra={"cycle": cycle})


def _check(ctx: Any, spec: Mapping[str, Any]) -> None:
    """``bom_check``: the record being activated against the other active BOMs."""
    rec = ctx.jimu.records.get(ctx.app, ctx.entity, ctx.record["id"], conn=ctx.conn)
    mine = bom_of(rec)
    boms = active_boms(ctx.jimu, ctx.conn, ctx.app)
    other = boms.get(mine.product)
    if other is not None and other.id != mine.id:
        name = _item_names(ctx.jimu, ctx.conn, ctx.app, [mine.product])[mine.product]
        raise ValidationError(f"{name} already has an active BOM ({other.number}); retire it first "
                              f"(该成品已有启用的 BOM {other.number},请先停用)", code="bom.duplicate")
    boms[mine.product] = mine
    cycle = find_cycle(boms, mine.product)
    if cycle:
        _refuse_cycle(ctx.jimu, ctx.conn, ctx.app, cycle)


def fill_then_post(ctx: Any, spec: Mapping[str, Any], into: str, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` into the record's empty child table ``into``, then run the ledger
    postings named in ``spec["postings"]`` of transition ``spec["transition"]``."""
    from jimu.runtime.workflow.postings import postings_for, run_postings

    jimu, conn, app = ctx.jimu, ctx.conn, ctx.app
    actor: Actor = getattr(ctx, "actor", None) or SYSTEM
    jimu.records.update(app, ctx.entity, ctx.record["id"], {into: rows}, actor=actor, conn=conn, _allow_state=True,
                        _extra={"document": f"{ctx.entity}:{ctx.record['id']}"})
    rt = jimu.apps.get(app, conn)
    ent = rt.entity(ctx.entity)
    wf = rt.workflow_for(ctx.entity)
    t = wf.transition(str(spec["transition"])) if wf is not None else None
    if t is None:
        raise ValidationError(f"{spec.get('kind')}: unknown transition {spec.get('transition')!r}")
    wanted = set(spec.get("postings") or [])
    pairs = [(lg, p) for lg, p in postings_for(rt, ctx.entity, "transition", t)
             if not wanted or (p.get("name") if isinstance(p, Mapping) else p.name) in wanted]
    doc = jimu.records.get(app, ctx.entity, ctx.record["id"], conn=conn)
    run_postings(conn, rt, ent, doc, pairs, actor, t.name, jimu.records)


def _explode_action(ctx: Any, spec: Mapping[str, Any]) -> None:
    """``bom_explode``: params ``into`` (child table, default ``components``), ``product``,
    ``qty``, ``bom`` (fields of the record), ``transition`` and ``postings``."""
    into = str(spec.get("into") or "components")
    rec = ctx.jimu.records.get(ctx.app, ctx.entity, ctx.record["id"], conn=ctx.conn)
    if rec.get(into):
        return  # filled by hand: the engine's own postings already covered these rows
    product = rec.get(str(spec.get("product") or "product"))
    qty = rec.get(str(spec.get("qty") or "qty"))
    chosen = rec.get(str(spec.get("bom") or "bom"))
    if chosen:
        bom = bom_of(ctx.jimu.records.get(ctx.app, "bom", chosen, conn=ctx.conn))
    else:
        found = active_boms(ctx.jimu, ctx.conn, ctx.app).get(int(product)) if product is not None else None
        if found is None:
            name = _item_names(ctx.jimu, ctx.conn, ctx.app, [int(product)])[int(product)] if product else "?"
            raise ValidationError(f"{name} has no active BOM: activate one or enter the components "
                                  f"(没有启用的 BOM,请启用 BOM 或手工填写用料)", code="bom.missing")
        bom = found
    rows = [{"item": item, "qty": q} for item, q in explode(bom, qty)]
    fill_then_post(ctx, spec, into, rows)




def _action(name: str, description: str, params: dict[str, str], run: Any) -> Any:
    """An action kind as the automation engine and transitions call it: ``run(ctx, spec)``."""
    return SimpleNamespace(name=name, description=description, params=params, run=run)


ACTIONS = [
    _action("bom_check", "Refuse activating a BOM that closes a cycle or duplicates an active BOM.", {}, _check),
    _action("bom_explode", "Fill an empty child table with one level of the product's BOM, then post.",
              {"into": "child table (default components)", "product": "field", "qty": "field", "bom": "field",
               "transition": "this transition", "postings": "ledger postings to run once filled"}, _explode_action),
]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)


def activate_sample_boms(ictx: Any) -> None:
    """Install step: activate the draft BOMs the sample data just loaded."""
    if not ictx.result.sample_rows.get("bom"):
        return
    from jimu.runtime.workflow.engine import WorkflowEngine

    rt = ictx.jimu.apps.get(ictx.app)
    if rt.workflow_for("bom") is None:
        return
    engine = WorkflowEngine(ictx.jimu)
    for rec in all_records(ictx.jimu, None, ictx.app, "bom", 'state == "draft"'):
        engine.fire(ictx.app, "bom", rec["id"], "activate", actor=SYSTEM)


@hookimpl
def jimu_template_install_steps() -> list[Any]:
    return [activate_sample_boms]

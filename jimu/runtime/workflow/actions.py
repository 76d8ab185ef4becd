"""Actions run by a transition (``TransitionSpec.actions``), inside its transaction.

Built in:
- ``{"kind": "freeze_system_qty", "ledger": "stock", "lines": "stocktake_line",
  "quantity": "system_qty"}``: copy each line's current on-hand balance (for its item and
  warehouse, and batch when the line has one) into ``quantity``, so counting starts from a
  frozen book figure. A document with no lines gets one line per item with stock in its
  warehouse (batches summed), so a full count needs no typing (DESIGN 16); when the
  document has an ``abc_class`` (the field named by ``"abc_class"``), only the items of
  that class (``item.abc_class``): a cycle count. ``"copy": [field, ...]`` copies those
  document fields onto every line (a blind count's ``blind`` flag).
- ``{"kind": "book_at_post", "ledger": "stock", "lines": "stocktake_line",
  "quantity": "book_qty", "before_postings": true}``: the dynamic rule of a stocktake —
  write each line's book figure at posting (its ``system_qty`` plus the net movements of
  its item/warehouse(/batch) since ``start``, i.e. the on-hand balance now) into
  ``quantity``, so the line's variance (counted - book) is what is posted and ``post``
  leaves on_hand at the count; movements during the count are never counted twice.
- ``{"kind": "set_lines", "lines": "stocktake_line", "values": {"blind": false}}``: set
  literal values on every line.
- ``{"kind": "stock_freeze", "ledger": "stock", "lines": "stocktake_line", "flag":
  "freeze_stock"}`` / ``{"kind": "stock_unfreeze"}``: a stocktake's freeze of the counted items
  (:mod:`jimu.runtime.stock.freeze`).
- ``{"kind": "stock_shortfalls", "on": "start" | "post", "lines": "stocktake_line"}``: a
  store's dish sales recorded beyond the book listed on its next count (``shortfalls.py``).
- ``{"kind": "credit_check", ...}``: an order's credit limit at submit (``credit.py``).
An action with ``before_postings: true`` runs before the transition's ledger postings
(they read what it wrote); the others run after them.
Any other kind is looked up among the automation actions (hook ``jimu_automation_actions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import ValidationError
from jimu.platform.actor import Actor
from jimu.platform.ledger import balances
from jimu.platform.specs import EntitySpec
from jimu.platform.specs.workflow import TransitionSpec
from jimu.runtime.apps import AppRuntime

__all__ = ["book_at_post", "freeze_system_qty", "run_transition_actions", "set_lines"]


def freeze_system_qty(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                      spec: Mapping[str, Any], actor: Actor) -> bool:
    """Write the book quantity of every line of ``doc`` into the line's quantity field."""
    lg = rt.spec.ledger(str(spec.get("ledger") or "stock"))
    if lg is None:
        raise ValidationError(f"freeze_system_qty: unknown ledger {spec.get('ledger')!r}")
    lines_field = str(spec.get("lines") or "lines")
    target = str(spec.get("quantity") or "system_qty")
    lines = list(doc.get(lines_field) or [])
    if not lines:
        rows: list[dict[str, Any]] = _stock_lines(conn, rt, lg, doc, target,
                                                  _class_items(conn, rt, doc.get(str(spec.get("abc_class")
                                                                                     or "abc_class"))))
    else:
        rows = [{"id": line["id"], target: qty} for line, qty in zip(lines, _on_hand_many(conn, rt, lg, doc, lines),
                                                                     strict=True)]
    copied = {name: doc.get(name) for name in spec.get("copy") or ()}
    rows = [{**row, **copied} for row in rows]
    if not rows:
        return False
    _write_lines(jimu, conn, rt, ent, doc, lines_field, rows, actor)
    return True


def _on_hand(conn: Connection, rt: AppRuntime, lg: Any, doc: Mapping[str, Any], line: Mapping[str, Any]) -> Decimal:
    """The on-hand balance for ``line``'s dimensions (each taken from the line, else the
    document; a dimension on neither is summed over, e.g. every batch of the item)."""
    filters = {d.name: line.get(d.name) if line.get(d.name) is not None else doc.get(d.name) for d in lg.dimensions}
    filters = {d: v for d, v in filters.items() if v is not None}
    return sum((Decimal(str(b["on_hand"])) for b in balances(conn, rt.name, lg, **filters)), Decimal(0))


def _on_hand_many(conn: Connection, rt: AppRuntime, lg: Any, doc: Mapping[str, Any],
                  lines: list[Mapping[str, Any]]) -> list[Decimal]:
    """:func:`_on_hand` of every line, reading the balances once per warehouse instead of
    once per line (a count of 5,000 lines is one query, not 5,000)."""
    from jimu.platform.ledger.spec import dim_text

    names = [d.name for d in lg.dimensions]
    if "warehouse" not in names:
        return [_on_hand(conn, rt, lg, doc, line) for line in lines]
    wanted = [{d: line.get(d) if line.get(d) is not None else doc.get(d) for d in names} for line in lines]
    by_wh: dict[str | None, dict[str | None, list[dict[str, Any]]]] = {}
    out: list[Decimal] = []
    for want, line in zip(wanted, lines, strict=True):
        if want.get("warehouse") is None:
            out.append(_on_hand(conn, rt, lg, doc, line))
            continue
        wh = dim_text(want["warehouse"])
        index = by_wh.get(wh)
        if index is None:
            index = by_wh[wh] = {}
            for b in balances(conn, rt.name, lg, warehouse=want["warehouse"]):
                index.setdefault(dim_text(b.get("item")), []).append(b)
        rows = index.get(dim_text(want.get("item")), []) if want.get("item") is not None else \
            [b for bs in index.values() for b in bs]
        others = {d: dim_text(v) for d, v in want.items() if d not in ("warehouse", "item") and v is not None}
        out.append(sum((Decimal(str(b["on_hand"])) for b in rows
                        if all(dim_text(b.get(d)) == v for d, v in others.items())), Decimal(0)))
    return out


def _class_items(conn: Connection, rt: AppRuntime, abc_class: Any) -> set[str] | None:
    """The ids (as text) of the items of ``abc_class`` (None: no class asked, every item)."""
    if not abc_class:
        return None
    item = rt.spec.entity("item")
    if item is None or item.field("abc_class") is None:
        return set()
    tbl = rt.tables("item")
    return {str(i) for i in conn.execute(sa.select(tbl.c.id).where(tbl.c.abc_class == str(abc_class))).scalars()}


def _stock_lines(conn: Connection, rt: AppRuntime, lg: Any, doc: Mapping[str, Any], target: str,
                 only: set[str] | None = None) -> list[dict[str, Any]]:
    """New lines for a document started empty: one per item with stock in the document's
    warehouse (batches summed; only the items in ``only`` when given, e.g. those of the
    document's ``abc_class``), with its book figure in ``target``."""
    warehouse = doc.get("warehouse")
    if warehouse is None:
        return []
    per_item: dict[Any, Decimal] = {}
    for b in balances(conn, rt.name, lg, warehouse=warehouse):
        if only is not None and str(b["item"]) not in only:
            continue
        per_item[b["item"]] = per_item.get(b["item"], Decimal(0)) + Decimal(str(b["on_hand"]))
    return [{"item": item, "warehouse": warehouse, target: qty}
            for item, qty in sorted(per_item.items(), key=lambda kv: str(kv[0])) if qty != 0]


def book_at_post(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                 spec: Mapping[str, Any], actor: Actor) -> bool:
    """Write the book figure at posting of every line of ``doc`` into ``quantity`` (see the
    module doc). ``system_qty`` was the balance at ``start`` (frozen in the same
    transaction), so the balance now is exactly ``system_qty`` + the net movements since."""
    lg = rt.spec.ledger(str(spec.get("ledger") or "stock"))
    if lg is None:
        raise ValidationError(f"book_at_post: unknown ledger {spec.get('ledger')!r}")
    lines_field = str(spec.get("lines") or "lines")
    target = str(spec.get("quantity") or "book_qty")
    lines = list(doc.get(lines_field) or [])
    rows = [{"id": line["id"], target: qty} for line, qty in zip(lines, _on_hand_many(conn, rt, lg, doc, lines),
                                                                 strict=True)]
    if not rows:
        return False
    _write_lines(jimu, conn, rt, ent, doc, lines_field, rows, actor)
    return True


def _write_lines(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                 lines_field: str, rows: list[dict[str, Any]], actor: Actor) -> None:
    """``records.update(doc, {lines_field: rows})``, set-based when ``rows`` only set
    values on the existing lines (``jimu.runtime.records.child_values``)."""
    from jimu.runtime.records.child_values import update_child_rows

    update_child_rows(jimu.records, conn, rt, ent, int(doc["id"]), lines_field, rows, actor,
                      extra={"document": f"{ent.name}:{doc['id']}"})


def set_lines(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
              spec: Mapping[str, Any], actor: Actor) -> bool:
    """Set literal ``values`` on every line of ``lines`` (a blind count's ``submit_count``
    lifts ``blind`` so the counters see book and variance from then on)."""
    lines_field = str(spec.get("lines") or "lines")
    values = dict(spec.get("values") or {})
    fresh = jimu.records.get(rt.name, ent.name, doc["id"], conn=conn)
    lines = list(fresh.get(lines_field) or [])
    if all(line.get(k) == v for line in lines for k, v in values.items()):
        return False
    rows = [{"id": line["id"], **values} for line in lines]  # the list given replaces the lines: all of them
    _write_lines(jimu, conn, rt, ent, doc, lines_field, rows, actor)
    return True


def _stock_freeze(*args: Any) -> bool:
    from jimu.runtime.stock.freeze import stock_freeze_action

    return stock_freeze_action(*args)


def _stock_unfreeze(*args: Any) -> bool:
    from jimu.runtime.stock.freeze import stock_unfreeze_action

    return stock_unfreeze_action(*args)


def _stock_shortfalls(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                      spec: Mapping[str, Any], actor: Actor) -> bool:
    from jimu.runtime.stock.shortfalls import on_count

    return on_count(jimu, conn, rt, ent, doc, spec, actor)


def _credit_check(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                  spec: Mapping[str, Any], actor: Actor) -> bool:
    from jimu.runtime.workflow.credit import credit_check

    return credit_check(jimu, conn, rt, ent, doc, spec, actor)


BUILTIN = {"freeze_system_qty": freeze_system_qty, "book_at_post": book_at_post,
           "set_lines": set_lines, "stock_freeze": _stock_freeze, "stock_unfreeze": _stock_unfreeze,
           "credit_check": _credit_check, "stock_shortfalls": _stock_shortfalls}


def run_transition_actions(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                           t: TransitionSpec, actor: Actor, phase: str = "after_postings") -> bool:
    """Run the ``t.actions`` of ``phase`` ("before_postings": those marked
    ``before_postings: true``; "after_postings": the others) in order; True when any of
    them changed the record."""
    changed = False
    for spec in t.actions:
        if bool(spec.get("before_postings")) != (phase == "before_postings"):
            continue
        kind = str(spec.get("kind") or spec.get("type") or "")
        if kind in BUILTIN:
            changed = BUILTIN[kind](jimu, conn, rt, ent, doc, spec, actor) or changed
            continue
        from jimu.platform.hooks import collect

        action = next((a for a in collect("jimu_automation_actions") if getattr(a, "name", None) == kind), None)
        if action is None:
            raise ValidationError(f"transition '{t.name}' runs unknown action {kind!r}")
        from types import SimpleNamespace

        ctx = SimpleNamespace(jimu=jimu, conn=conn, rt=rt, app=rt.name, entity=ent.name, record=dict(doc),
                              actor=actor, event={"record": doc["id"], "entity": ent.name})
        action.run(ctx, spec)
        changed = True
    return changed

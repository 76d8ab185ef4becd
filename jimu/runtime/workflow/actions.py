"""Actions run by a transition (``TransitionSpec.actions``), inside its transaction.

Built in:
- ``{"kind": "freeze_system_qty", "ledger": "stock", "lines": "stocktake_line",
  "quantity": "system_qty"}``: copy each line's current on-hand balance (for its item and
  warehouse, and batch when the line has one) into ``quantity``, so counting starts from a
  frozen book figure.
Any other kind is looked up among the automation actions (hook ``jimu_automation_actions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import ValidationError
from jimu.platform.actor import Actor
from jimu.platform.ledger import balances
from jimu.platform.specs import EntitySpec
from jimu.platform.specs.workflow import TransitionSpec
from jimu.runtime.apps import AppRuntime

__all__ = ["run_transition_actions", "freeze_system_qty"]


def freeze_system_qty(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                      spec: Mapping[str, Any], actor: Actor) -> bool:
    """Write the book quantity of every line of ``doc`` into the line's quantity field."""
    lg = rt.spec.ledger(str(spec.get("ledger") or "stock"))
    if lg is None:
        raise ValidationError(f"freeze_system_qty: unknown ledger {spec.get('ledger')!r}")
    lines_field = str(spec.get("lines") or "lines")
    target = str(spec.get("quantity") or "system_qty")
    dims = [d.name for d in lg.dimensions]
    rows = []
    for line in doc.get(lines_field) or []:
        filters = {d: line.get(d) if line.get(d) is not None else doc.get(d) for d in dims}
        filters = {d: v for d, v in filters.items() if v is not None}
        on_hand = sum((Decimal(str(b["on_hand"])) for b in balances(conn, rt.name, lg, **filters)), Decimal(0))
        rows.append({"id": line["id"], target: on_hand})
    if not rows:
        return False
    jimu.records.update(rt.name, ent.name, doc["id"], {lines_field: rows}, actor=actor, conn=conn,
                        _allow_state=True, _extra={"document": f"{ent.name}:{doc['id']}"})
    return True


BUILTIN = {"freeze_system_qty": freeze_system_qty}


def run_transition_actions(jimu: Any, conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                           t: TransitionSpec, actor: Actor) -> bool:
    """Run ``t.actions`` in order; True when any of them changed the record."""
    changed = False
    for spec in t.actions:
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

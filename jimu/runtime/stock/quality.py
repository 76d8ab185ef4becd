"""A batch's quality status drives its stock: ``released`` stock is on hand, stock of a
``quarantine`` or ``rejected`` batch sits in the ledger's ``quarantine`` bucket.

The record listener (hook ``jimu_record_listeners``) sees every write of an entity that is
a ledger dimension and has a ``quality_status`` field; when the status crosses between
released and blocked it posts, in the same transaction as the change (so both commit or
neither does):

- released -> quarantine|rejected: each balance row's available stock (on_hand −
  reserved) on_hand -> quarantine (kind ``quarantine``). Stock already held by a
  reservation stays reserved until that document ships or releases it.
- quarantine|rejected -> released: each row's quarantine bucket back to on_hand (kind
  ``unquarantine``): reversible.
- quarantine <-> rejected: nothing moves (both are blocked).

The status change is audited by the record service (who, when, old and new); the moves
name the batch as their document and the change as their reason. The legacy value
``available`` (before 1.1 of food_safety) counts as released.
"""

from __future__ import annotations

from typing import Any

from jimu.platform.ledger import Doc, MoveLine, as_ledger, balances, post
from jimu.runtime.stock.batch_rules import BLOCKED

__all__ = ["QualityListener", "LISTENER", "STATUS_FIELD", "move_for_status"]

STATUS_FIELD = "quality_status"


def _blocked(value: Any) -> bool:
    return value in BLOCKED


def move_for_status(conn: Any, app: str, spec: Any, dim: str, record_id: Any, old: Any, new: Any, *,
                    entity: str, user: str | None, actor: Any = None) -> list[int]:
    """Post the moves a status change from ``old`` to ``new`` needs on ledger ``spec``
    (batch dimension ``dim``); returns the movement ids."""
    if _blocked(old) == _blocked(new):
        return []
    lg = as_ledger(spec)
    lines: list[MoveLine] = []
    for row in balances(conn, app, lg, **{dim: record_id}):
        qty = row["available"] if _blocked(new) else row["quarantine"]
        if qty > 0:
            lines.append(MoveLine({d: row[d] for d in lg.dimensions}, qty))
    if not lines:
        return []
    kind = "quarantine" if _blocked(new) else "unquarantine"
    result = post(conn, app, lg, kind, lines, doc=Doc(entity, record_id, None, STATUS_FIELD), user=user,
                  reason=f"{STATUS_FIELD}: {old} -> {new}")
    if actor is not None:
        from jimu.runtime.workflow.postings import emit_ledger_moved

        emit_ledger_moved(conn, app, lg.name, result.movements, actor=actor, scale=lg.scale)
    return list(result.movements)


class QualityListener:
    """Moves a batch's stock when its quality status crosses released/blocked."""

    def after_write(self, event: Any) -> None:
        if event.action not in ("update", "transition") or event.entity.field(STATUS_FIELD) is None:
            return
        change = next((c for c in event.changes if c.get("field") == STATUS_FIELD), None)
        if change is None:
            return
        for spec in event.app.spec.ledgers:
            dim = next((d.name for d in spec.dimensions if d.entity == event.entity.name), None)
            if dim is None:
                continue
            move_for_status(event.conn, event.app.name, spec, dim, event.record_id, change.get("old"),
                            change.get("new"), entity=event.entity.name, user=event.actor.username,
                            actor=event.actor)


LISTENER = QualityListener()

"""A batch's quality status drives its stock: ``released`` stock is on hand, stock of a
``quarantine`` or ``rejected`` batch sits in the ledger's ``quarantine`` bucket.

The record listener (hook ``jimu_record_listeners``) sees every write of an entity that is
a ledger dimension and has a ``quality_status`` field; when the status crosses between
released and blocked it posts, in the same transaction as the change (so both commit or
neither does):

- released -> quarantine|rejected: the active reservations on the batch are released
  (quarantined goods must not ship; those documents' line allocations drop them and their
  shipment allocates other batches first-expiry-first-out), then each balance row's
  on_hand goes to quarantine (kind ``quarantine``), as a recall does
  (:func:`jimu.runtime.stock.recall.quarantine_batches`).
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
from jimu.runtime.stock.allocations import record_allocations
from jimu.runtime.stock.batch_rules import BLOCKED

__all__ = ["QualityListener", "LISTENER", "STATUS_FIELD", "move_for_status"]

STATUS_FIELD = "quality_status"


def _blocked(value: Any) -> bool:
    return value in BLOCKED


def move_for_status(conn: Any, app: str, spec: Any, dim: str, record_id: Any, old: Any, new: Any, *,
                    entity: str, user: str | None, actor: Any = None) -> tuple[list[int], list[tuple[Any, Any]]]:
    """Post the moves a status change from ``old`` to ``new`` needs on ledger ``spec``
    (batch dimension ``dim``); returns the movement ids and the (entity, id) of the
    documents whose holds were released."""
    from jimu.runtime.stock.recall import quarantine_batches

    if _blocked(old) == _blocked(new):
        return [], []
    lg = as_ledger(spec)
    doc = Doc(entity, record_id, None, STATUS_FIELD)
    reason = f"{STATUS_FIELD}: {old} -> {new}"
    released: list[tuple[Any, Any]] = []
    if _blocked(new):
        done = quarantine_batches(conn, app, lg, [record_id], batch_dim=dim, user=user, reason=reason, doc=doc)
        moved = list(done.movements)
        released = sorted({(e, d) for _, e, d, _ in done.released if e})
    else:
        lines = [MoveLine({d: row[d] for d in lg.dimensions}, row["quarantine"])
                 for row in balances(conn, app, lg, **{dim: record_id}) if row["quarantine"] > 0]
        moved = list(post(conn, app, lg, "unquarantine", lines, doc=doc, user=user, reason=reason).movements
                     ) if lines else []
    if actor is not None and moved:
        from jimu.runtime.workflow.postings import emit_ledger_moved

        emit_ledger_moved(conn, app, lg.name, moved, actor=actor, scale=lg.scale)
    return moved, released


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
            _, released = move_for_status(event.conn, event.app.name, spec, dim, event.record_id, change.get("old"),
                                          change.get("new"), entity=event.entity.name, user=event.actor.username,
                                          actor=event.actor)
            for doc_entity, doc_id in released:  # their lines no longer hold this batch
                record_allocations(event.conn, event.app, doc_entity, {"id": doc_id})


LISTENER = QualityListener()

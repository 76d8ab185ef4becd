"""The transactional outbox: event rows written inside the caller's write transaction.

:func:`emit` inserts one ``jimu_event`` row on ``conn`` (so it commits or rolls back with
the change it describes) and marks the transaction with the ``events`` wake-up topic
(:mod:`jimu.platform.wakeup`): after the commit the hub and the dispatcher of this process
wake up, and on PostgreSQL every listening worker (``NOTIFY jimu_events``, delivered only
when the transaction commits).

:class:`EventListener` is the record listener (``jimu_record_listeners``) that turns every
record create/update/delete/transition into an event; :func:`emit_ledger_moved` is called
by the ledger postings executor for every batch of movements.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.platform.lean_insert import LeanInsert, Row, insert_together, json_text, json_text_of
from jimu.platform.wakeup import channel, notify_channel
from jimu.runtime.events.tables import events, webhooks

__all__ = [
    "RECORD_KINDS", "EVENT_KINDS", "NOTIFY_CHANNEL", "EventListener", "LISTENER", "emit", "emit_ledger_moved",
    "event_depth", "current_depth", "ensure_listener", "event_id",
]

RECORD_KINDS = {"create": "record.created", "update": "record.updated", "delete": "record.deleted",
                "transition": "record.transitioned"}
EVENT_KINDS = ("record.created", "record.updated", "record.deleted", "record.transitioned", "ledger.moved")
NOTIFY_CHANNEL = channel("events")

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("jimu_event_depth", default=0)


def current_depth() -> int:
    """The automation depth of writes made in this context (0 for users' own writes)."""
    return _depth.get()


@contextlib.contextmanager
def event_depth(depth: int) -> Iterator[None]:
    """Events emitted inside this block carry ``depth`` (automations run their actions at
    the triggering event's depth + 1, which is how loops are stopped)."""
    token = _depth.set(depth)
    try:
        yield
    finally:
        _depth.reset(token)


# One INSERT for every event row, compiled once per dialect and run through the driver
# (jimu.platform.lean_insert); its JSON columns get their text from json_text.
_KEYS = ("id", "app", "kind", "entity", "record", "version", "changes", "data", "actor", "actor_roles", "depth", "at")
_ENCODED = ("changes", "data", "actor_roles")
_INSERT = LeanInsert(events, _KEYS, encoded=_ENCODED)


def _dispatched_unless_hooked(param: Any) -> Any:
    """``dispatched_at`` of a settled event: its ``at`` unless an active outgoing webhook
    of its app exists (then NULL: the dispatcher queues the deliveries), judged in the
    writer's statement and snapshot."""
    hooked = sa.exists().where(webhooks.c.app == param("app"), webhooks.c.direction == sa.literal_column("'out'"),
                               webhooks.c.active.is_(True))
    return sa.case((hooked, sa.null()), else_=param("at"))


# The same INSERT for an event no other consumer wants (see dispatcher.settled_at_emit).
_INSERT_SETTLED = LeanInsert(events, _KEYS, encoded=_ENCODED, computed={"dispatched_at": _dispatched_unless_hooked})


# A generator of its own, seeded from the OS and again in a forked child: tests (hypothesis)
# reseed the global one to the same state for every example.
_rng = random.Random()
os.register_at_fork(after_in_child=_rng.seed)
_bits = _rng.getrandbits


def event_id() -> str:
    """A new event id: a UUID version 7 (RFC 9562): 48 bits of Unix time in milliseconds,
    then 74 random bits. Unique as a version 4 is (the column is UNIQUE; receivers
    dedupe on it) but in time order, so the unique index takes each new id at its right
    edge instead of at a random page of a table of millions; and built without a system
    call for randomness (ids need uniqueness, not secrecy)."""
    rand = _bits(74)
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | (rand & (1 << 62) - 1)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def emit(conn: Connection, app: str, kind: str, *, entity: str | None = None, record: Any = None,
         version: int | None = None, changes: Sequence[Mapping[str, Any]] | None = None,
         data: Mapping[str, Any] | None = None, actor: Any = None, changes_json: str | None = None,
         along: Sequence[Row] = (), settled: bool = False) -> str:
    """Write one event row on ``conn`` (inside its transaction); returns the event id.

    ``actor`` is an :class:`~jimu.platform.actor.Actor` (or None for the system); its
    roles are kept so automations can act as the triggering user. ``changes_json``: the
    JSON text of ``changes`` when the caller has it (the record write's audit row has
    the same). ``along``: rows written before the event row, in the same statement on
    PostgreSQL (the record write's audit row), which also queues the ``NOTIFY``: one
    round trip for all three. ``settled``: no consumer but the outgoing webhooks can want
    the event (:func:`~jimu.runtime.events.dispatcher.settled_at_emit`); it is written
    dispatched unless the app has an active outgoing webhook (checked by the INSERT)."""
    eid = event_id()
    row = (_INSERT_SETTLED if settled else _INSERT, {
        "id": eid, "app": app, "kind": kind, "entity": entity, "record": None if record is None else str(record),
        "version": version,
        "changes": json_text_of(list(changes or [])) if changes_json is None else changes_json,
        "data": json_text_of(dict(data or {})),
        "actor": getattr(actor, "username", None),
        "actor_roles": json_text(list(getattr(actor, "roles", ()) or ())),
        "depth": current_depth(), "at": clock.now()})
    insert_together(conn, [*along, row], notify_channel(conn, "events"), deferrable=True)
    return eid


class EventListener:
    """Record listener: every committed create/update/delete/transition becomes an event
    carrying the changes and a snapshot of the record (for per-caller rendering)."""

    def after_write(self, ev: Any) -> None:
        from jimu.runtime.events.dispatcher import settled_at_emit

        kind = RECORD_KINDS.get(ev.action)
        if kind is None:
            return
        snapshot = ev.after if ev.after is not None else ev.before
        rec = {k: v for k, v in (snapshot or {}).items() if not isinstance(v, list) and not str(k).startswith("_")}
        data: dict[str, Any] = {"record": rec}
        if ev.action == "transition":
            data["transition"] = {k: ev.extra.get(k) for k in ("transition", "from", "to") if k in ev.extra}
        # The audit row the record service left for us goes in the event's statement.
        pending = getattr(ev, "pending", None)
        along = list(pending or ())
        if pending:
            pending.clear()
        settled = settled_at_emit(ev.app, {"kind": kind, "app": ev.app.name, "entity": ev.entity.name,
                                           "changes": ev.changes, "data": data})
        emit(ev.conn, ev.app.name, kind, entity=ev.entity.name, record=ev.record_id,
             version=(snapshot or {}).get("version"), changes=ev.changes, data=data, actor=ev.actor,
             changes_json=getattr(ev, "changes_json", None), along=along, settled=settled)


LISTENER = EventListener()


def ensure_listener(records: Any) -> None:
    """Add the outbox listener to a RecordService built before this plugin was registered."""
    if not any(isinstance(x, EventListener) for x in records.listeners):
        records.listeners.append(LISTENER)


def emit_ledger_moved(conn: Connection, app: str, ledger: str, movement_ids: Sequence[int], *,
                      actor: Any = None, scale: int = 4) -> str | None:
    """One ``ledger.moved`` event for the movements ``movement_ids`` just written on
    ``conn`` (called by the postings executor); None when there are none."""
    if not movement_ids:
        return None
    from jimu.platform.ledger.tables import BUCKETS
    from jimu.platform.ledger.tables import movement as movements

    rows = conn.execute(sa.select(movements).where(movements.c.id.in_(list(movement_ids)))
                        .order_by(movements.c.id)).mappings().all()
    changes = []
    for r in rows:
        deltas = {b: format(Decimal(int(r[f"d_{b}"])).scaleb(-scale), "f") for b in BUCKETS if r[f"d_{b}"]}
        changes.append({"movement": int(r["id"]), "kind": r["kind"], "dims": dict(r["dims"]), "deltas": deltas,
                        "document": {"entity": r["doc_entity"], "id": r["doc_id"]} if r["doc_entity"] else None})
    return emit(conn, app, "ledger.moved", entity=ledger, record=int(rows[0]["id"]) if rows else None,
                changes=changes, data={"ledger": ledger}, actor=actor)

"""Events: the transactional outbox, its dispatcher, webhooks and live updates (SSE).

Every committed record change, transition and ledger movement writes one ``jimu_event``
row in its own transaction (:mod:`.outbox`). After commit, the in-process hub (or
PostgreSQL ``LISTEN/NOTIFY`` across workers) wakes the SSE streams (:mod:`.hub`); the
dispatcher (:mod:`.dispatcher`) hands each event to its consumers (automations, webhook
queueing) at least once, retrying a failed consumer with backoff, while processed-markers
(:mod:`.consumed`) keep any consumer from applying an event twice; the sender delivers webhooks at least once with retries kept in the
database (:mod:`.webhooks`).

Importing this package registers the outbox record listener through
:func:`jimu.platform.hooks.register`.
"""

from jimu.platform import hooks as _hooks
from jimu.runtime.events import plugin as _plugin
from jimu.runtime.events.outbox import (
    EVENT_KINDS,
    EventListener,
    current_depth,
    emit,
    emit_ledger_moved,
    ensure_listener,
    event_depth,
)

_hooks.register(_plugin, name="jimu.runtime.events.plugin")

__all__ = ["EVENT_KINDS", "EventListener", "current_depth", "emit", "emit_ledger_moved", "ensure_listener",
           "event_depth"]

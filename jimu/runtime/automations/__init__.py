"""Automations: trigger + condition + actions, run once per committed event by the
event dispatcher (DESIGN sections 3 and 11). Importing this package registers the built-in
actions and the spec validator through :func:`jimu.platform.hooks.register` and the
dispatcher consumer through :func:`jimu.runtime.events.dispatcher.register_consumer`."""

from jimu.platform import hooks as _hooks
from jimu.runtime.automations import plugin as _plugin
from jimu.runtime.automations.engine import MAX_DEPTH, run_automations, triggered, wants_at_emit, wants_event
from jimu.runtime.automations.validate import automation_findings
from jimu.runtime.events.dispatcher import register_consumer

_hooks.register(_plugin, name="jimu.runtime.automations.plugin")
register_consumer("automations", run_automations, transactional=False, wants=wants_event, at_emit=wants_at_emit)
from jimu.runtime.automations import schedule as _schedule  # noqa: E402,F401 - schedule triggers: job kind + due runner

__all__ = ["MAX_DEPTH", "automation_findings", "run_automations", "triggered"]

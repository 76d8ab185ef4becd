"""Production on the shop floor: routings copied into work orders and operation reports
(:mod:`jimu.runtime.production.routing`), registered as a record listener on import."""

from __future__ import annotations

from jimu.platform import hooks as _hooks
from jimu.runtime.production import plugin as _plugin

_hooks.register(_plugin, name="jimu.runtime.production.plugin")

"""Rollups: dashboard figures kept up to date in the write transaction instead of computed
by scanning the entity table on every page view (issue 24, "data that has lived for
years").

- :mod:`.plan`: which rollups a published app needs (derived from its dashboards, report
  views, row filters and workflows).
- :mod:`.store`: the rollup tables, their build from the base table, the per-row
  maintenance and ``verify`` (rollup == full scan).
- :mod:`.listener`: the record listener that maintains them (registered through
  ``jimu_record_listeners`` when this package is imported).
- :mod:`.read`: the grouped queries the dashboards run against a rollup.

``jimu rollup verify|rebuild`` checks and recomputes them (like ``jimu ledger verify``).
"""

from jimu.platform import hooks as _hooks
from jimu.runtime.rollups import plugin as _plugin
from jimu.runtime.rollups.plan import RollupDef, plan_rollups
from jimu.runtime.rollups.store import ensure, rebuild, rollup_table, rollups_of, verify

_hooks.register(_plugin, name="jimu.runtime.rollups.plugin")

__all__ = ["RollupDef", "plan_rollups", "ensure", "rebuild", "rollup_table", "rollups_of", "verify"]

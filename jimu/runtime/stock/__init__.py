"""Stock operations on top of the ledger primitive: reservation sweeps and recurring
tasks, channel stock pools, two-sided transfers with discrepancies, stocktake helpers.

Importing this package registers its tables, its automation actions (hook
``jimu_automation_actions``), the ``stock.periodic`` job kind and its due runners.
"""

from jimu.platform import hooks as _hooks
from jimu.platform.store.bootstrap import SYSTEM_TABLE_MODULES as _TABLE_MODULES
from jimu.runtime.stock import accuracy as _accuracy
from jimu.runtime.stock import messages as _messages  # noqa: F401 - registers the stock error localizer
from jimu.runtime.stock import plugin as _plugin
from jimu.runtime.stock import sweeps as _sweeps
from jimu.runtime.stock.channels import _register as _register_rebalance
from jimu.runtime.stock.channels import (
    configure_channels,
    pools,
    rebalance,
    rebalance_pools,
    reserve_via_channel,
)
from jimu.runtime.stock.stocktake import (
    blind_lines,
    plan_cycle_count,
    trace,
    variance,
    variance_rate,
    variance_summary,
)
from jimu.runtime.stock.transfers import discrepancies, resolve_discrepancy, transfer_receive, transfer_send

if "jimu.runtime.stock.tables" not in _TABLE_MODULES:
    _TABLE_MODULES.append("jimu.runtime.stock.tables")
_hooks.register(_plugin, name="jimu.runtime.stock.plugin")
_sweeps.register()
_register_rebalance()
_accuracy.register()

__all__ = [
    "blind_lines", "configure_channels", "discrepancies", "plan_cycle_count", "pools", "rebalance",
    "rebalance_pools", "reserve_via_channel", "resolve_discrepancy", "trace", "transfer_receive", "transfer_send",
    "variance", "variance_rate", "variance_summary",
]

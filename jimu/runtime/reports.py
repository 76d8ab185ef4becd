"""Named reports a dashboard chart may show (``{kind: table|bar, report: NAME, params}``).

A report is computed through the caller's :class:`~jimu.runtime.access.AccessPolicy` by
the module that owns it (the same function its HTTP route calls), so a chart shows exactly
what the route would answer; a report the caller may not read raises and the chart is
left out. The owning package registers it on import (:func:`register_report`); the
screens only look it up (no import of the owner from the screens).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ChartReport", "chart_report", "register_report"]


@dataclass(frozen=True)
class ChartReport:
    """``run(policy, params) -> rows`` (dicts); ``columns``: (key, {zh, en}) shown in a
    table, the first the row's name in a bar chart; ``value``: the bar's measure key;
    ``percent``: keys holding fractions shown as percentages."""

    name: str
    run: Callable[[Any, Mapping[str, Any]], list[dict[str, Any]]]
    columns: tuple[tuple[str, Mapping[str, str]], ...]
    value: str
    percent: tuple[str, ...] = ()


_reports: dict[str, ChartReport] = {}
_lock = threading.Lock()
#: Modules that register reports on import, loaded on the first lookup of a name not yet
#: registered (a dashboard may render before any route module was imported).
OWNERS: list[str] = ["jimu.runtime.intel.reports"]
_owners_loaded = False


def register_report(report: ChartReport) -> ChartReport:
    """Add (or replace) a chart report."""
    with _lock:
        _reports[report.name] = report
    return report


def chart_report(name: str) -> ChartReport | None:
    """The registered report ``name``, or None."""
    global _owners_loaded
    with _lock:
        hit = _reports.get(name)
    if hit is None and not _owners_loaded:
        from jimu.core.modules import import_optional

        _owners_loaded = True
        for module in OWNERS:
            import_optional(module)
        with _lock:
            hit = _reports.get(name)
    return hit

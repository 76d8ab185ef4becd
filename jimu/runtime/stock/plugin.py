"""The stock operations' plugin: automation actions through the ordinary hook."""

from __future__ import annotations

from typing import Any

from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions"]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    from jimu.runtime.stock.actions import STOCK_ACTIONS

    return list(STOCK_ACTIONS)

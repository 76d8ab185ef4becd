"""The stock operations' plugin: automation actions, the stocktake freeze's ledger guard
and the batch quality listener, through the ordinary hooks."""

from __future__ import annotations

from typing import Any

from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions", "jimu_ledger_guards", "jimu_record_listeners"]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    from jimu.runtime.stock.actions import STOCK_ACTIONS
    from jimu.runtime.stock.digest import digest_action

    return [*STOCK_ACTIONS, digest_action()]


@hookimpl
def jimu_ledger_guards() -> list[Any]:
    from jimu.runtime.stock.freeze import guard

    return [guard]


@hookimpl
def jimu_record_listeners() -> list[Any]:
    from jimu.runtime.stock.quality import LISTENER

    return [LISTENER]

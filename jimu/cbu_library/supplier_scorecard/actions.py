"""Trusted action of the ``supplier_scorecard`` unit: ``scorecard_calculate`` (scorecard
period ``calculate``) rewrites the month's scorecard rows
(:func:`jimu.runtime.stock.scorecard.calculate_month`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions"]


def _calculate(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.stock.scorecard import calculate_period

    calculate_period(ctx.jimu, ctx.conn, ctx.app, ctx.record["id"], getattr(ctx, "actor", None) or SYSTEM)


ACTIONS = [SimpleNamespace(name="scorecard_calculate", description="Score every supplier for the period's month.",
                           params={}, run=_calculate, in_transaction=True)]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

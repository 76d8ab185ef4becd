"""Trusted action of the ``payment`` unit: ``payment_post`` (payment ``confirm``) settles
the allocated invoices in the confirming transaction
(:func:`jimu.runtime.money.payments.post_payment`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions"]


def _post(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.money.payments import post_payment

    post_payment(ctx.jimu, ctx.conn, ctx.app, ctx.record["id"], getattr(ctx, "actor", None) or SYSTEM)


ACTIONS = [SimpleNamespace(name="payment_post", description="Settle the allocated invoices of a payment.",
                           params={}, run=_post, in_transaction=True)]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

"""Trusted actions of the ``contract`` unit (hook ``jimu_automation_actions``):

- ``contract_sign`` (contract ``sign``): lock the day's exchange rate and write the
  contract's figures and margin in CNY (:func:`jimu.runtime.money.contracts.sign_contract`).
- ``contract_order`` (contract ``create_sales_order`` / ``create_purchase_order``, the
  action's ``entity`` says which): the draft order of the contract
  (:func:`jimu.runtime.money.contracts.order_from_contract`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions"]


def _sign(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.money.contracts import sign_contract

    sign_contract(ctx.jimu, ctx.conn, ctx.app, ctx.record["id"], getattr(ctx, "actor", None) or SYSTEM)


def _order(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.money.contracts import order_from_contract

    order_from_contract(ctx.jimu, ctx.conn, ctx.app, ctx.record["id"], str(spec.get("entity") or "sales_order"),
                        getattr(ctx, "actor", None) or SYSTEM)


ACTIONS = [
    SimpleNamespace(name="contract_sign", description="Sign a contract: lock the day's rate, write the margin.",
                    params={}, run=_sign, in_transaction=True),
    SimpleNamespace(name="contract_order", description="Raise the sales or purchase order of a contract.",
                    params={"entity": "sales_order or purchase_order"}, run=_order, in_transaction=True),
]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

"""Trusted actions of the ``invoice`` unit (hook ``jimu_automation_actions``):

- ``invoice_issue`` (invoice ``issue``): amount from the lines (or as entered), base and
  open amounts at the invoice's rate, due date from the payment terms
  (:func:`jimu.runtime.money.invoices.issue_invoice`).
- ``create_invoice`` (sales order / purchase order ``create_invoice``, and the
  ``invoice_on_ship`` / ``invoice_on_receive`` automations when ``auto_invoice`` is on):
  an issued invoice for what was shipped or received and not yet invoiced
  (:func:`jimu.runtime.money.invoices.invoice_from_order`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions"]


def _record_id(ctx: Any) -> Any:
    rec = getattr(ctx, "record", None) or {}
    return rec.get("id") if rec.get("id") is not None else (ctx.event or {}).get("record")


def _issue(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.money.invoices import issue_invoice

    issue_invoice(ctx.jimu, ctx.conn, ctx.app, _record_id(ctx), getattr(ctx, "actor", None) or SYSTEM)


def _create(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.money.invoices import invoice_from_order

    invoice_from_order(ctx.jimu, ctx.conn, ctx.app, str(ctx.entity), _record_id(ctx),
                       getattr(ctx, "actor", None) or SYSTEM)


def _action(name: str, description: str, run: Any) -> Any:
    return SimpleNamespace(name=name, description=description, params={}, run=run, in_transaction=True)


ACTIONS = [
    _action("invoice_issue", "Issue an invoice: amount, base and open amounts, due date.", _issue),
    _action("create_invoice", "Invoice what a sales order shipped or a purchase order received.", _create),
]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

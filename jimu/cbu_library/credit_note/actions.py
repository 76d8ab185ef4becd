"""Trusted action of the ``credit_note`` unit: ``create_credit_note`` (sales return
``create_credit_note``, a self-transition on the final ``received`` state, so the return
itself is never changed) raises and issues the credit note of a received return
(:func:`jimu.runtime.money.credit_notes.credit_note_from_return`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from jimu.platform.actor import SYSTEM
from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions"]


def _create(ctx: Any, spec: Mapping[str, Any]) -> None:
    from jimu.runtime.money.credit_notes import credit_note_from_return

    rec = getattr(ctx, "record", None) or {}
    rid = rec.get("id") if rec.get("id") is not None else (ctx.event or {}).get("record")
    credit_note_from_return(ctx.jimu, ctx.conn, ctx.app, rid, getattr(ctx, "actor", None) or SYSTEM)


ACTIONS = [SimpleNamespace(name="create_credit_note", description="Raise the credit note of a received sales return.",
                           params={}, run=_create, in_transaction=True)]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    return list(ACTIONS)

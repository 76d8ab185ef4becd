"""The automation engine's plugins: built-in actions and the spec validator (ordinary
hooks), plus the event-dispatcher consumer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jimu.platform.hooks import hookimpl

__all__ = ["jimu_automation_actions", "jimu_spec_validators"]


@hookimpl
def jimu_automation_actions() -> list[Any]:
    from jimu.runtime.automations.actions import BUILTIN_ACTIONS, ActionKind
    from jimu.runtime.intel.chat_action import run_chat_order

    chat = ActionKind("chat_order", "Create the draft sales order from a chat message (an incoming webhook's "
                      "payload).", run_chat_order, in_transaction=False)
    return [*BUILTIN_ACTIONS, chat]


@hookimpl
def jimu_spec_validators() -> list[Callable[..., Any]]:
    from jimu.runtime.automations.validate import automation_findings

    return [automation_findings]

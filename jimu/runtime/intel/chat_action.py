"""The ``chat_order`` automation action: an incoming webhook (a WeChat bot, a group
relay) posts a message; an automation with a ``webhook_in`` trigger creates the draft
sales order from it, as the hook's role, through the same code as ``POST .../chat-orders``.

Spec::

    {"type": "chat_order", "text": "text", "sender": "sender", "customer": "customer",
     "warehouse": 1}

``text``/``sender``/``customer`` name keys of the webhook payload (defaults ``text``,
``sender``, ``customer``). The sender (a WeChat nickname such as 李姐) is read as if the
message began with it, so a customer's nickname names the customer; ``customer`` in the
payload (an id) wins. A message with no confident line, or no customer, ends the run as
``error`` in the automation log (nothing is created; the order is never guessed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jimu.core.errors import ValidationError

__all__ = ["run_chat_order"]


def run_chat_order(ctx: Any, spec: Mapping[str, Any]) -> None:
    """Create the draft order of the triggering payload (see the module docstring)."""
    from jimu.runtime.access import AccessPolicy
    from jimu.runtime.intel.chat_orders import create_order

    payload = dict(ctx.record or {})
    text = payload.get(str(spec.get("text") or "text"))
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("the webhook payload has no message text")
    sender = payload.get(str(spec.get("sender") or "sender"))
    if isinstance(sender, str) and sender.strip():
        text = f"{sender.strip()}：{text}"
    body: dict[str, Any] = {"text": text, "customer": payload.get(str(spec.get("customer") or "customer"))}
    if spec.get("warehouse") is not None:
        body["warehouse"] = spec["warehouse"]
    create_order(AccessPolicy.for_actor(ctx.jimu, ctx.app, ctx.actor), body)

"""Shared helpers of the stock operations: finding an app's ledger, quantities, who acts,
and the ``ledger.moved`` event every stock movement sends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import NotFound
from jimu.platform.actor import Actor
from jimu.platform.ledger import Ledger, LedgerLike, as_ledger

__all__ = ["DEFAULT_LEDGER", "User", "actor_of", "emit_moved", "resolve_ledger", "total_available", "username"]

DEFAULT_LEDGER = "stock"

#: Who performs a stock operation: an :class:`Actor` (its roles travel with the events it
#: causes), a bare user name, or None (the system).
User = Actor | str | None


def username(user: User) -> str | None:
    """The name written on movements and documents for ``user``."""
    if user is None or isinstance(user, str):
        return user
    return getattr(user, "username", None)


def actor_of(user: User) -> Actor:
    """``user`` as an :class:`Actor` (a bare name gets no roles)."""
    if isinstance(user, Actor):
        return user
    if user is None or isinstance(user, str):
        return Actor(username=user)
    return Actor(username=getattr(user, "username", None), roles=tuple(getattr(user, "roles", ()) or ()))


def emit_moved(conn: Connection, app: str, lg: Ledger, movement_ids: Sequence[int], user: User) -> None:
    """One ``ledger.moved`` event for ``movement_ids`` in the events outbox, on ``conn`` (so
    it commits or rolls back with the movements). The workflow postings' helper does the
    work, so stock operations and document postings send the same event."""
    from jimu.runtime.workflow.postings import emit_ledger_moved

    emit_ledger_moved(conn, app, lg.name, list(movement_ids), actor=actor_of(user), scale=lg.scale)


def resolve_ledger(jimu: Any, app: str, ledger: LedgerLike | str | None, conn: Connection | None = None) -> Ledger:
    """``ledger`` as a :class:`Ledger`: given as one, or the app's published ledger of
    that name (default ``stock``)."""
    if ledger is not None and not isinstance(ledger, str):
        return as_ledger(ledger)
    name = ledger or DEFAULT_LEDGER
    spec = jimu.apps.get(app, conn).spec.ledger(name)
    if spec is None:
        raise NotFound(f"app {app} has no ledger {name!r}")
    return as_ledger(spec)


def total_available(conn: Connection, app: str, lg: Ledger, dims: Mapping[str, Any]) -> int:
    """Available units (on_hand - reserved, due holds discounted) summed over the balance
    rows matching ``dims`` (e.g. every batch of an item in a warehouse)."""
    from jimu.platform.ledger import balances

    return sum(lg.to_units(r["available"]) for r in balances(conn, app, lg, **dict(dims)))

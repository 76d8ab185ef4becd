"""Shared helpers of the stock operations: finding an app's ledger, quantities, documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import NotFound
from jimu.platform.ledger import Ledger, LedgerLike, as_ledger

__all__ = ["DEFAULT_LEDGER", "resolve_ledger", "total_available"]

DEFAULT_LEDGER = "stock"


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

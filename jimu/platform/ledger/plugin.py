"""The ledger's built-in posting kinds, registered through the ordinary hook."""

from __future__ import annotations

from jimu.platform.hooks import hookimpl
from jimu.platform.ledger.postings import POSTING_KINDS, PostingKind

__all__ = ["jimu_ledger_posting_kinds"]


@hookimpl
def jimu_ledger_posting_kinds() -> list[PostingKind]:
    """receipt, reserve, release, ship, transfer_out, transfer_in, adjust, quarantine,
    unquarantine, scrap, on_order."""
    return list(POSTING_KINDS.values())

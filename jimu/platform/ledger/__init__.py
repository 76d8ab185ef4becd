"""The ledger primitive: stock and balances per dimension combination.

Balances live in one row per (app, ledger, dimension key) of ``jimu_ledger_balance``;
every move is one guarded atomic UPDATE plus a movement row, inside the caller's write
transaction (``Database.write()``). Quantities are exact integers scaled by the ledger's
``scale``; the API speaks ``Decimal``. See DESIGN.md section 7.

Typical use from a document transition::

    with db.write() as conn:
        update_the_document(conn)
        post(conn, app, ledger_spec, "reserve", [MoveLine({"item": 1, "warehouse": 2}, "3")],
             doc=Doc("sales_order", 17, transition="submit"), user="sales",
             ttl=timedelta(minutes=30))
"""

from jimu.platform.ledger.batches import BatchExpiry, allocate_fefo, near_expiry, quarantine_expired
from jimu.platform.ledger.ordered import open_on_order, release_on_order
from jimu.platform.ledger.postings import (
    POSTING_KINDS,
    MoveLine,
    PostingKind,
    PostResult,
    adjust,
    on_order,
    post,
    quarantine,
    receipt,
    ship,
    transfer_in,
    transfer_out,
)
from jimu.platform.ledger.queries import balances, movements
from jimu.platform.ledger.reservations import (
    confirm_reservation,
    expire_due,
    get_reservations,
    release,
    release_document,
    reserve,
    sweep_expired,
)
from jimu.platform.ledger.spec import Doc, Ledger, LedgerLike, as_ledger
from jimu.platform.ledger.tables import BUCKETS
from jimu.platform.ledger.valuation import valuation
from jimu.platform.ledger.verify import Difference, verify

__all__ = [
    "BUCKETS", "POSTING_KINDS", "BatchExpiry", "Difference", "Doc", "Ledger", "LedgerLike",
    "MoveLine", "PostResult", "PostingKind",
    "adjust", "allocate_fefo", "as_ledger", "balances", "confirm_reservation", "expire_due",
    "get_reservations", "movements", "near_expiry", "on_order", "open_on_order", "post", "quarantine",
    "quarantine_expired", "receipt", "release", "release_document", "release_on_order", "reserve", "ship",
    "sweep_expired", "transfer_in", "transfer_out", "valuation", "verify",
]

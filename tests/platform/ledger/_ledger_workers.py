"""Code run in other processes by the ledger tests (spawned workers, crash subprocess)."""

from __future__ import annotations

import random
import sys

from jimu.core.errors import StockConflict
from jimu.platform.db import Database
from jimu.platform.ledger import Ledger, MoveLine, post, reserve, ship, transfer_in, transfer_out

STOCK = Ledger("stock", ("item", "warehouse", "batch"), required=("item", "warehouse"), scale=3)
LOOSE = Ledger("loose", ("item", "warehouse"), scale=0, allow_negative=True)
APP = "shop"


def reserve_units(args: tuple[str, str, int]) -> tuple[int, int]:
    """Open a Database on ``url`` and try ``n`` single-unit reservations of item 1.
    Returns (reserved, refused)."""
    url, app, n = args
    db = Database(url)
    ok = refused = 0
    try:
        for _ in range(n):
            try:
                with db.write() as c:
                    reserve(c, app, STOCK, {"item": 1, "warehouse": 10}, 1)
                ok += 1
            except StockConflict:
                refused += 1
    finally:
        db.dispose()
    return ok, refused


def churn(url: str, app: str) -> None:
    """Move stock around forever (ships, transfers, two-line documents) until killed."""
    db = Database(url)
    rnd = random.Random()
    print("ready", flush=True)
    while True:
        item = rnd.choice((1, 2))
        wh = rnd.choice((10, 20))
        try:
            with db.write() as c:
                op = rnd.random()
                if op < 0.3:
                    ship(c, app, STOCK, {"item": item, "warehouse": wh}, 1)
                elif op < 0.6:
                    transfer_out(c, app, STOCK, {"item": item, "warehouse": wh}, 2)
                    transfer_in(c, app, STOCK, {"item": item, "warehouse": wh},
                                {"item": item, "warehouse": 30 - wh}, 2)
                else:
                    post(c, app, STOCK, "ship", [MoveLine({"item": 1, "warehouse": wh}, 1),
                                                 MoveLine({"item": 2, "warehouse": wh}, 1)])
        except StockConflict:
            pass


if __name__ == "__main__":
    churn(sys.argv[1], sys.argv[2])

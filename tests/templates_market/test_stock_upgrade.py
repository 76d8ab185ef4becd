"""An app installed with the single-item transfer (stock unit 1.1.0) upgrades to the
multi-line transfer (1.2.0): the transfer already in transit still receives with its
document figures, new transfers carry lines, and the ledger verifies afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jimu.platform.actor import Actor
from jimu.platform.ledger import balances, verify
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_cbu
from jimu.templates_market.lifecycle import installed, upgrade_cbu

OLD_STOCK = Path(__file__).parent / "fixtures" / "stock_v1_1"
APP = "depot"
WH = Actor("wh", ("warehouse",))


@pytest.fixture
def old_app(db_url: str) -> Iterator[Any]:
    from jimu.runtime.context import Jimu

    j = Jimu.open(db_url, cbu_paths=[str(OLD_STOCK)])
    install_cbu(j, APP, "stock", version="1.1.0", sample_data=False)
    yield j
    j.close()


def _bal(jimu: Any, item: int, wh: int) -> dict[str, Decimal]:
    lg = jimu.apps.get(APP).spec.ledger("stock")
    with jimu.db.read() as c:
        rows = balances(c, APP, lg, item=item, warehouse=wh)
    return {k: sum((r[k] for r in rows), Decimal(0)) for k in ("on_hand", "in_transit")}


def test_single_item_transfer_in_transit_survives_the_upgrade_to_lines(old_app: Any) -> None:
    """Before: A 10, a single-item transfer of 4 ships (A 6 on hand, 4 in transit). After
    the upgrade it is received short (3): B 3, A in transit 0, one discrepancy. A new
    transfer with two lines (2 + 1) ships and receives in full: A 3, B 6.

    Mutation caught: dropping the single-item branch of ship/receive (the old transfer
    could not be received), or a stock unit whose version was not bumped (no upgrade)."""
    j = old_app
    assert {u.cbu: u.version for u in installed(j, APP)}["stock"] == "1.1.0"
    rec, engine = j.records, WorkflowEngine(j)
    a = rec.create(APP, "warehouse", {"name": "A", "confirm_code": "1"})["id"]
    b = rec.create(APP, "warehouse", {"name": "B", "confirm_code": "2"})["id"]
    item = rec.create(APP, "item", {"sku": "U-1", "name": "Upgrade box"})["id"]
    rec.create(APP, "stock_adjustment", {"item": item, "warehouse": a, "qty": "10", "reason": "opening"})
    old = rec.create(APP, "stock_transfer", {"item": item, "from_warehouse": a, "to_warehouse": b, "qty": "4"},
                     actor=WH)
    engine.fire(APP, "stock_transfer", old["id"], "ship", actor=WH)
    assert _bal(j, item, a) == {"on_hand": Decimal(6), "in_transit": Decimal(4)}

    done = upgrade_cbu(j, APP, "stock")  # to the library's version: 1.2.0 brought lines, later ones add more
    assert done.applied and done.to_version >= "1.2.0" and done.to_version != done.from_version, done.as_dict()
    spec = j.apps.get(APP).spec
    assert spec.entity("stock_transfer_line") is not None and spec.entity("stock_transfer").field("lines")

    after = engine.fire(APP, "stock_transfer", old["id"], "receive", {"received_qty": "3"}, actor=WH)
    assert after["state"] == "received" and after["received_qty"] == Decimal("3.0000")
    assert _bal(j, item, b) == {"on_hand": Decimal(3), "in_transit": Decimal(0)}
    assert _bal(j, item, a) == {"on_hand": Decimal(6), "in_transit": Decimal(0)}

    new = rec.create(APP, "stock_transfer", {"from_warehouse": a, "to_warehouse": b, "lines": [
        {"item": item, "qty": "2"}, {"item": item, "qty": "1"}]}, actor=WH)
    engine.fire(APP, "stock_transfer", new["id"], "ship", actor=WH)
    engine.fire(APP, "stock_transfer", new["id"], "receive", actor=WH)
    assert _bal(j, item, a) == {"on_hand": Decimal(3), "in_transit": Decimal(0)}
    assert _bal(j, item, b) == {"on_hand": Decimal(6), "in_transit": Decimal(0)}
    assert verify(j.db, APP, "stock") == []

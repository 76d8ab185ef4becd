"""Apps installed with stock 1.2.0 (and batch_tracking 1.1.0, which then carried the
quarantine write-off) upgrade to stock 1.3.0 / batch_tracking 1.2.0, where the write-off
lives in the stock unit.

Figures by hand: opening 10 on hand (before the upgrade). After it the old adjustment
reads ``bucket`` on_hand; a write-off of 1 from an empty quarantine is 409; −2 on hand
→ 8. With batches: 10 of batch L1, then 4 moved to quarantine by hand on the ledger;
after both upgrades a write-off of 3 on L1's quarantine → L1 on hand 6, quarantine 1.

Mutation tried and seen to fail: the upgrade without ``_keep_handed_over`` (upgrading
batch_tracking archives ``bucket``, which stock 1.3 now owns: the write-off is refused).
The batch dimension of the write-off on a fresh install is tests/runtime/stock/test_quality.py's."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jimu.platform.actor import Actor
from jimu.platform.ledger import balances, verify
from jimu.templates_market.installer import install_cbu
from jimu.templates_market.lifecycle import installed, upgrade_cbu

OLD = Path(__file__).parent / "fixtures" / "stock_v1_2"
APP = "depot"
WH = Actor("wh", ("warehouse",))
D = Decimal


@pytest.fixture
def old_jimu(db_url: str) -> Iterator[Any]:
    from jimu.runtime.context import Jimu

    j = Jimu.open(db_url, cbu_paths=[str(OLD)])
    yield j
    j.close()


def _bal(jimu: Any, **dims: Any) -> tuple[Decimal, Decimal]:
    lg = jimu.apps.get(APP).spec.ledger("stock")
    with jimu.db.read() as c:
        rows = balances(c, APP, lg, **dims)
    return sum((r["on_hand"] for r in rows), D(0)), sum((r["quarantine"] for r in rows), D(0))


def test_stock_upgrade_brings_the_bucket(old_jimu: Any) -> None:
    j = old_jimu
    install_cbu(j, APP, "stock", version="1.2.0", sample_data=False)
    assert j.apps.get(APP).spec.entity("stock_adjustment").field("bucket") is None
    rec = j.records
    wh = rec.create(APP, "warehouse", {"name": "A", "confirm_code": "1"})["id"]
    item = rec.create(APP, "item", {"sku": "U-1", "name": "Upgrade box"})["id"]
    old = rec.create(APP, "stock_adjustment", {"item": item, "warehouse": wh, "qty": "10", "reason": "opening"})

    done = upgrade_cbu(j, APP, "stock")
    assert done.applied and done.to_version >= "1.3.0", done.as_dict()  # 1.3.0 or a later stock unit
    assert rec.get(APP, "stock_adjustment", old["id"])["bucket"] == "on_hand"
    from jimu.core.errors import Conflict

    with pytest.raises(Conflict):
        rec.create(APP, "stock_adjustment", {"item": item, "warehouse": wh, "qty": "-1", "bucket": "quarantine",
                                             "reason": "damage"}, actor=WH)
    rec.create(APP, "stock_adjustment", {"item": item, "warehouse": wh, "qty": "-2", "reason": "damage"}, actor=WH)
    assert _bal(j, item=item, warehouse=wh) == (D(8), D(0))
    assert verify(j.db, APP, "stock") == []


def test_batch_app_upgrades_and_still_writes_a_batch_off(old_jimu: Any) -> None:
    j = old_jimu
    install_cbu(j, APP, "stock", version="1.2.0", sample_data=False)
    install_cbu(j, APP, "batch_tracking", version="1.1.0", sample_data=False)
    units = {u.cbu: u.version for u in installed(j, APP)}
    assert (units["stock"], units["batch_tracking"]) == ("1.2.0", "1.1.0")
    rec = j.records
    wh = rec.create(APP, "warehouse", {"name": "A", "confirm_code": "1"})["id"]
    item = rec.create(APP, "item", {"sku": "U-2", "name": "Batch box"})["id"]
    lot = rec.create(APP, "batch", {"item": item, "batch_no": "L1"})["id"]
    rec.create(APP, "stock_adjustment", {"item": item, "warehouse": wh, "batch": lot, "qty": "10", "reason": "opening"})
    assert upgrade_cbu(j, APP, "stock").applied
    assert upgrade_cbu(j, APP, "batch_tracking").applied
    spec = j.apps.get(APP).spec
    assert spec.entity("stock_adjustment").field("bucket") is not None
    _quarantine(j, item, wh, lot, D(4))
    assert _bal(j, batch=lot) == (D(6), D(4))
    rec.create(APP, "stock_adjustment", {"item": item, "warehouse": wh, "batch": lot, "qty": "-3",
                                         "bucket": "quarantine", "reason": "damage"}, actor=WH)
    assert _bal(j, batch=lot) == (D(6), D(1))
    assert verify(j.db, APP, "stock") == []


def _quarantine(jimu: Any, item: int, wh: int, lot: int, qty: Decimal) -> None:
    """Set ``qty`` of the batch aside on the ledger (what a quality status change does)."""
    from jimu.platform.ledger.postings import quarantine

    lg = jimu.apps.get(APP).spec.ledger("stock")
    with jimu.db.write() as c:
        quarantine(c, APP, lg, {"item": item, "warehouse": wh, "batch": lot}, qty)

"""An app installed with stock 1.3.0 upgrades to 1.4.0, which gives transfers an
``expected_date`` (MRP reads it for transfers in transit): the column is added to the
existing table, a transfer shipped before the upgrade keeps its figures, takes an
expected date afterwards and still receives.

Mutation tried and seen to fail: the stock unit's version left at 1.3.0 with the field
added (the library's unit then stands for 1.3.0: no upgrade step brings the field)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jimu.platform.actor import Actor
from jimu.platform.ledger import balances, verify
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_cbu
from jimu.templates_market.lifecycle import installed, upgrade_cbu

OLD = Path(__file__).parent / "fixtures" / "stock_v1_3"
APP = "depot"
WH = Actor("wh", ("warehouse",))


@pytest.fixture
def old_jimu(db_url: str) -> Iterator[Any]:
    from jimu.runtime.context import Jimu

    j = Jimu.open(db_url, cbu_paths=[str(OLD)])
    yield j
    j.close()


def test_transfer_in_transit_gets_an_expected_date_after_the_upgrade(old_jimu: Any) -> None:
    """A 10; a transfer of 4 ships before the upgrade (A 6 on hand, 4 in transit); after it
    the lines are locked (stock 1.5.0; mutation: in_transit without editable_fields fails the
    state check), and
    the transfer takes expected_date 2026-03-02 and receives in full: B 4, A in transit 0."""
    j = old_jimu
    install_cbu(j, APP, "stock", version="1.3.0", sample_data=False)
    assert j.apps.get(APP).spec.entity("stock_transfer").field("expected_date") is None
    rec, engine = j.records, WorkflowEngine(j)
    a = rec.create(APP, "warehouse", {"name": "A", "confirm_code": "1"})["id"]
    b = rec.create(APP, "warehouse", {"name": "B", "confirm_code": "2"})["id"]
    item = rec.create(APP, "item", {"sku": "U-1", "name": "Upgrade box"})["id"]
    rec.create(APP, "stock_adjustment", {"item": item, "warehouse": a, "qty": "10", "reason": "opening"})
    tr = rec.create(APP, "stock_transfer", {"from_warehouse": a, "to_warehouse": b,
                                            "lines": [{"item": item, "qty": "4"}]}, actor=WH)
    engine.fire(APP, "stock_transfer", tr["id"], "ship", actor=WH)

    done = upgrade_cbu(j, APP, "stock")
    assert done.applied and done.from_version == "1.3.0" and done.to_version >= "1.4.0", done.as_dict()
    assert {u.cbu: u.version for u in installed(j, APP)}["stock"] == done.to_version
    assert rec.get(APP, "stock_transfer", tr["id"])["expected_date"] is None
    rec.update(APP, "stock_transfer", tr["id"], {"expected_date": "2026-03-02"}, actor=WH)
    got = rec.get(APP, "stock_transfer", tr["id"])
    assert (got["state"], got["expected_date"]) == ("in_transit", date(2026, 3, 2))
    # stock 1.5.0: the upgraded app locks a transfer in transit but for its date (the gate
    # refuses line edits through these editable_fields: tests/cbu_library/test_child_rows_units.py).
    in_transit = j.apps.get(APP).spec.workflow_for("stock_transfer").state("in_transit")
    assert in_transit is not None and in_transit.editable_fields == ["expected_date"]
    engine.fire(APP, "stock_transfer", tr["id"], "receive", actor=WH)
    lg = j.apps.get(APP).spec.ledger("stock")
    with j.db.read() as c:
        rows = {(r["warehouse"], k): r[k] for r in balances(c, APP, lg, item=item) for k in ("on_hand", "in_transit")}
    assert rows[(a, "on_hand")] == Decimal(6) and rows[(a, "in_transit")] == 0 and rows[(b, "on_hand")] == Decimal(4)
    assert verify(j.db, APP, "stock") == []

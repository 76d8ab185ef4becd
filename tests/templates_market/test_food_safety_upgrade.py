"""An app on food_safety 1.0.0 (quality_status available|quarantine|released) upgrades to
1.1.0 (released|quarantine|rejected): stored ``available`` becomes ``released``, nothing
else changes, and no stock moves (both mean usable stock)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jimu.platform.ledger import movements, receipt
from jimu.templates_market.installer import install_cbu
from jimu.templates_market.lifecycle import installed, upgrade_cbu

OLD = Path(__file__).parent / "fixtures" / "food_safety_v1_0"
APP = "deli"


@pytest.fixture
def old_app(db_url: str) -> Iterator[Any]:
    from jimu.runtime.context import Jimu

    j = Jimu.open(db_url, cbu_paths=[str(OLD)])
    install_cbu(j, APP, "food_safety", version="1.0.0", sample_data=False)
    yield j
    j.close()


def test_available_becomes_released_on_upgrade(old_app: Any) -> None:
    """Mutation caught: an upgrade that leaves 'available' rows behind (every later write
    of those batches would fail the choice check, and FEFO/digest would misread them)."""
    j = old_app
    assert {u.cbu: u.version for u in installed(j, APP)}["food_safety"] == "1.0.0"
    rec = j.records
    wh = rec.create(APP, "warehouse", {"name": "A", "confirm_code": "1"})["id"]
    item = rec.create(APP, "item", {"sku": "S-1", "name": "Soy"})["id"]
    ok = rec.create(APP, "batch", {"item": item, "batch_no": "OK"})
    held = rec.create(APP, "batch", {"item": item, "batch_no": "HELD", "quality_status": "quarantine"})
    assert ok["quality_status"] == "available"
    lg = j.apps.get(APP).spec.ledger("stock")
    with j.db.write() as c:
        receipt(c, APP, lg, {"item": item, "warehouse": wh, "batch": ok["id"]}, 5)
    done = upgrade_cbu(j, APP, "food_safety")
    assert done.applied and done.to_version == "1.1.0", done.as_dict()
    assert rec.get(APP, "batch", ok["id"])["quality_status"] == "released"
    assert rec.get(APP, "batch", held["id"])["quality_status"] == "quarantine"
    with j.db.read() as c:
        assert [m["kind"] for m in movements(c, APP, lg, batch=ok["id"])] == ["receipt"]
    choices = j.apps.get(APP).spec.entity("batch").field("quality_status").choice_values
    assert choices == ["released", "quarantine", "rejected"]

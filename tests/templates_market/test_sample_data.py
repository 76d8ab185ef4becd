"""Sample files may date a row relative to the day they are loaded (``$today±N``), so a
demo's open orders stay ahead of whoever starts it (jimu/templates_market/sample_data.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from jimu.core import clock as clock_mod
from jimu.core.errors import ValidationError
from jimu.templates_market.installer import install_template
from jimu.templates_market.sample_data import SampleLoader, relative_date


@pytest.fixture
def frozen() -> Any:
    previous = clock_mod.set_clock(clock_mod.ManualClock(frozen=datetime(2026, 3, 1, 9, 0, tzinfo=UTC)))
    yield
    clock_mod.set_clock(previous)


def test_relative_date(frozen: Any) -> None:
    assert relative_date("$today") == date(2026, 3, 1)
    assert relative_date("$today+14") == date(2026, 3, 15)
    assert relative_date("$today - 3") == date(2026, 2, 26)
    assert relative_date("$tomorrow") is None and relative_date("$today+x") is None


def test_loader_dates_rows_from_today(jimu: Any, frozen: Any, tmp_path: Path) -> None:
    """Mutation tried: the loader leaving ``$today+30`` as text (no date branch in
    ``_resolve``): the record service refuses it as a date (422), the test fails."""
    install_template(jimu, "f", "food", sample_data=False)
    jimu.records.create("f", "item", {"sku": "MILK", "name": "Milk"})
    good = tmp_path / "batches.yaml"
    good.write_text("entity: batch\nrows:\n- {item: MILK, batch_no: M1, production_date: $today-10, "
                    "expiry_date: $today+30}\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("entity: batch\nrows:\n- {item: MILK, batch_no: M2, expiry_date: $nextweek}\n", encoding="utf-8")
    with jimu.db.write() as c:
        loader = SampleLoader(jimu, "f", c)
        assert loader.load_file(good) == 1
        with pytest.raises(ValidationError) as err:
            loader.load_file(bad)
    assert err.value.code == "cbu.sample_date" and "$nextweek" in str(err.value)
    (batch,) = jimu.records.list("f", "batch").data
    assert (batch["production_date"], batch["expiry_date"]) == (date(2026, 2, 19), date(2026, 3, 31))


def test_batch_tracked_template_loads_no_unbatched_opening_stock(jimu: Any) -> None:
    """Food (batch_tracking installed) gets its opening stock by batch only: the stock
    unit's unbatched opening file (``replaced_by: [batch_tracking]``) is skipped, so every
    unit on hand is in a batch first-expiry-first-out can allocate. The standard template
    (no batch_tracking) still loads it. Mutation tried: ignoring ``replaced_by`` in
    ``load_file``: food had 169 balance rows without a batch (35,390 units) and this fails."""
    from jimu.platform.ledger import balances

    install_template(jimu, "f", "food")
    install_template(jimu, "s", "standard")
    with jimu.db.read() as c:
        food = balances(c, "f", jimu.apps.get("f").spec.ledger("stock"))
        std = balances(c, "s", jimu.apps.get("s").spec.ledger("stock"))
    assert food and all(r["batch"] is not None for r in food if r["on_hand"])
    assert sum(r["on_hand"] for r in food) > 0
    assert len([r for r in std if r["on_hand"]]) >= 100

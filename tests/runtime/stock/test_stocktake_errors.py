"""A cycle count reads the items' own ABC classes from the published app; only "no
published app" means computing them (issue 17's rule: no swallowed exceptions)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.ledger import Ledger, receipt
from jimu.runtime.stock import plan_cycle_count

APP = "shop"
LG = Ledger("stock", ("item", "warehouse"), scale=2)


def test_a_failing_app_lookup_is_raised_not_replaced_by_computed_classes(jimu: Any, monkeypatch: Any) -> None:
    """Without a published app the classes are computed from stock value; a database error
    while looking the app up is raised (it was caught with every other exception, and the
    count then planned by computed classes instead of the items' own).

    Mutation tried: ``_field_classes`` back to ``except Exception``: the plan is returned
    and this test fails on the missing OperationalError."""
    with jimu.db.write() as c:
        receipt(c, APP, LG, {"item": 1, "warehouse": 10}, 100, unit_cost="10")
    assert [x["abc_class"] for x in plan_cycle_count(jimu, APP, 10, ledger=LG)] == ["A"]

    def broken(*_a: Any, **_k: Any) -> Any:
        raise sa.exc.OperationalError("SELECT jimu_app", {}, Exception("database is locked"))

    monkeypatch.setattr(jimu.apps, "get", broken)
    with pytest.raises(sa.exc.OperationalError):
        plan_cycle_count(jimu, APP, 10, ledger=LG)

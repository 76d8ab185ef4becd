"""Each library unit installs alone (with its dependencies) through ``jimu.testing``."""

from __future__ import annotations

from typing import Any

import pytest

from jimu.templates_market.catalog import default_catalog

UNITS = default_catalog().cbu_names()


@pytest.mark.parametrize("cbu", UNITS)
def test_unit_installs_alone(jimu_app: Any, cbu: str) -> None:
    installed = jimu_app(cbu)
    assert installed.result.installed[-1].startswith(f"{cbu}@")
    owners = installed.spec.owners
    assert any(v.startswith(f"{cbu}@") for v in owners.values())


def test_stock_opening_balances_post(jimu_app: Any) -> None:
    from jimu.platform.ledger.queries import balances

    installed = jimu_app("stock", sample_data=True)
    with installed.jimu.db.read() as c:
        rows = balances(c, installed.name, installed.spec.ledger("stock"))
    assert len(rows) >= 100 and all(r["on_hand"] > 0 for r in rows)

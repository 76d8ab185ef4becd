"""A money app (the payment unit and what it depends on: invoice, customer, supplier, item,
orders, stock) on each backend, with a customer per call of ``customer()``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

APP = "money"


class MoneyApp:
    def __init__(self, jimu: Any) -> None:
        from jimu.runtime.workflow.engine import WorkflowEngine

        self.jimu = jimu
        self.engine = WorkflowEngine(jimu)
        self._n = itertools.count(1)

    def customer(self) -> int:
        return int(self.jimu.records.create(APP, "customer", {"name": f"客户 {next(self._n)}"})["id"])

    def invoice(self, customer: int, amount: str, **extra: Any) -> dict[str, Any]:
        inv = self.jimu.records.create(APP, "invoice", {"kind": "sales", "customer": customer, "amount": amount,
                                                         **extra})
        return dict(self.engine.fire(APP, "invoice", inv["id"], "issue"))

    def payment(self, customer: int, amount: str, allocations: list[tuple[int, str]], **extra: Any) -> dict[str, Any]:
        return dict(self.jimu.records.create(APP, "payment", {
            "kind": "receipt", "customer": customer, "amount": amount,
            "allocations": [{"invoice": i, "amount": a} for i, a in allocations], **extra}))

    def confirm(self, payment: dict[str, Any]) -> dict[str, Any]:
        return dict(self.engine.fire(APP, "payment", payment["id"], "confirm"))

    def get(self, entity: str, rid: Any) -> dict[str, Any]:
        return dict(self.jimu.records.get(APP, entity, rid))


@pytest.fixture
def money(db_url: str) -> Iterator[MoneyApp]:
    from jimu.templates_market.installer import install_cbu
    from tests.dbcache import open_built

    def build(jimu: Any) -> None:
        install_cbu(jimu, APP, "payment", {}, sample_data=False)

    jimu, _ = open_built(db_url, "money:payment", build)  # installed once per worker, copied (tests.dbcache)
    try:
        yield MoneyApp(jimu)
    finally:
        jimu.close()

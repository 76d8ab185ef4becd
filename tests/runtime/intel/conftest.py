"""An app with the dashboard unit (sales and purchase orders, stock, items) on each backend,
a frozen clock, and helpers that put shipments of sales orders on chosen days."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from jimu.core import clock as clock_mod
from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy

APP = "intel"
TODAY = date(2026, 3, 10)


class DayClock(clock_mod.Clock):
    """A clock standing still at ``value``, moved by the helpers."""

    def __init__(self, value: datetime) -> None:
        self.value = value

    def now(self) -> datetime:
        return self.value


class IntelApp:
    def __init__(self, jimu: Any, clock: DayClock) -> None:
        self.jimu = jimu
        self.clock = clock
        self._n = itertools.count(1)
        self.customer = int(jimu.records.create(APP, "customer", {"name": "客户甲"})["id"])
        self.warehouse = int(jimu.records.create(APP, "warehouse", {"code": "W1", "name": "主仓", "confirm_code": "1234"})["id"])

    @property
    def ledger(self) -> Any:
        return self.jimu.apps.get(APP).spec.ledger("stock")

    def item(self, sku: str, name: str, **extra: Any) -> int:
        return int(self.jimu.records.create(APP, "item", {"sku": sku, "name": name, **extra})["id"])

    def supplier(self, name: str) -> int:
        return int(self.jimu.records.create(APP, "supplier", {"name": name})["id"])

    def at(self, day: date, hour: int = 10) -> None:
        self.clock.value = datetime.combine(day, time(hour), UTC)

    def stock(self, item: int, qty: str, day: date = date(2026, 1, 1)) -> None:
        from jimu.platform.ledger import adjust

        self.at(day)
        with self.jimu.db.write() as conn:
            adjust(conn, APP, self.ledger, {"item": item, "warehouse": self.warehouse}, qty, reason="opening")
        self.at(TODAY)

    def on_order(self, item: int, qty: str) -> None:
        from jimu.platform.ledger import on_order

        with self.jimu.db.write() as conn:
            on_order(conn, APP, self.ledger, {"item": item, "warehouse": self.warehouse}, qty)

    def order(self, lines: list[tuple[int, str]], day: date, **extra: Any) -> int:
        self.at(day)
        rec = self.jimu.records.create(APP, "sales_order", {
            "customer": self.customer, "warehouse": self.warehouse, "order_date": day.isoformat(),
            "lines": [{"item": i, "qty": q, "price": "1"} for i, q in lines], **extra})
        self.at(TODAY)
        return int(rec["id"])

    def ship(self, order: int, item: int, qty: str, day: date) -> None:
        from jimu.platform.ledger import Doc, ship

        self.at(day)
        with self.jimu.db.write() as conn:
            ship(conn, APP, self.ledger, {"item": item, "warehouse": self.warehouse}, qty,
                 doc=Doc("sales_order", order, transition="ship"))
        self.at(TODAY)

    def sell(self, item: int, qty: str, day: date) -> int:
        """An order of ``qty`` placed and shipped on ``day``."""
        so = self.order([(item, qty)], day)
        self.ship(so, item, qty, day)
        return so

    def purchase(self, item: int, supplier: int, day: date, qty: str = "1") -> int:
        rec = self.jimu.records.create(APP, "purchase_order", {
            "supplier": supplier, "warehouse": self.warehouse, "order_date": day.isoformat(),
            "lines": [{"item": item, "qty": qty, "price": "1"}]})
        return int(rec["id"])

    def policy(self, role: str) -> AccessPolicy:
        return AccessPolicy.for_actor(self.jimu, APP, Actor(role, (role,)))


@contextlib.contextmanager
def open_intel(db_url: str) -> Iterator[IntelApp]:
    """The app on ``db_url`` with the clock standing at 09:00 on :data:`TODAY`."""
    from jimu.templates_market.installer import install_cbu
    from tests.dbcache import open_built

    def build(jimu: Any) -> None:
        install_cbu(jimu, APP, "inventory_dashboards", {}, sample_data=False)

    clock = DayClock(datetime.combine(TODAY, time(9), UTC))
    previous = clock_mod.set_clock(clock)
    try:  # built once per worker under the same standing clock, and copied (tests.dbcache)
        jimu, _ = open_built(db_url, "intel:inventory_dashboards", build)
    except BaseException:
        clock_mod.set_clock(previous)
        raise
    try:
        yield IntelApp(jimu, clock)
    finally:
        jimu.close()
        clock_mod.set_clock(previous)


@pytest.fixture
def intel(db_url: str) -> Iterator[IntelApp]:
    with open_intel(db_url) as app:
        yield app

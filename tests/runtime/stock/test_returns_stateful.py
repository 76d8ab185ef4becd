"""Hypothesis state machine over returns and transfers mixed with receipts and shipments
(DESIGN 16, issue 18), on the standard template, SQLite and (with ``JIMU_TEST_PG_URL``)
PostgreSQL.

Per example: two fresh warehouses (A, B) and one item. Rules, in any interleaving:
purchase orders received at A, sales orders shipped from A (refused with 409 when A is
short), sales returns of a shipped order (quality ones to quarantine; above shipped less
earlier returns refused with ``return.exceeds``), purchase returns of a received order
(quality ones from quarantine first; above received less earlier returns refused; short
stock refused with 409), transfers A → B shipped and received with any received quantity
(short, exact or over). Checked after every step:

- on_hand, quarantine and in_transit at A and B equal the model;
- nothing is ever below zero; ``ledger verify`` finds no difference (balances equal the
  replayed movements).

The run counts refusals for exceeding returns (sales and purchase), for short stock,
quality returns in both directions and short transfer receipts; the test fails when any
is 0, so it cannot pass without exercising them.

Mutations checked:
- earlier returns not subtracted (``returned_by_order`` answering ``{}`` in
  ``jimu/runtime/stock/returns.py``): a second return above what is left is accepted and
  the rule fails;
- quality sales returns booked to on_hand: the balance check fails.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from jimu.core.errors import JimuError, StockConflict
from jimu.platform.actor import Actor
from jimu.platform.ledger import balances, verify
from jimu.runtime.context import Jimu
from jimu.runtime.workflow import WorkflowEngine
from jimu.templates_market.installer import install_template

APP = "standard"
D = Decimal
REACHED: Counter[str] = Counter()
SALES, MANAGER, WAREHOUSE, PURCHASING = (Actor(r, (r,)) for r in ("sales", "manager", "warehouse", "purchasing"))


class ReturnsLife(RuleBasedStateMachine):
    jimu: Jimu
    customer: int
    supplier: int

    @initialize()
    def setup(self) -> None:
        rec = self.jimu.records.create
        tag = uuid.uuid4().hex[:8]
        self.engine = WorkflowEngine(self.jimu)
        self.wh = {k: rec(APP, "warehouse", {"name": f"{k}-{tag}", "confirm_code": "C"})["id"] for k in "AB"}
        self.item = rec(APP, "item", {"sku": f"R-{tag}", "name": "退货测试品", "unit": "个"})["id"]
        self.model = {(w, b): D(0) for w in "AB" for b in ("on_hand", "quarantine", "in_transit")}
        self.sos: list[dict[str, Any]] = []  # {"id", "moved", "returned"}
        self.pos: list[dict[str, Any]] = []
        self.receive_po(12)  # every example starts with stock and one shipped order
        self.ship_so(4)

    def _fire(self, entity: str, rid: int, name: str, actor: Actor, inputs: dict[str, Any] | None = None) -> Any:
        return self.engine.fire(APP, entity, rid, name, inputs, actor=actor)

    @rule(qty=st.integers(1, 8))
    def receive_po(self, qty: int) -> None:
        po = self.jimu.records.create(APP, "purchase_order", {"supplier": self.supplier, "warehouse": self.wh["A"],
                                                               "lines": [{"item": self.item, "qty": str(qty),
                                                                          "price": "2.00"}]}, actor=PURCHASING)
        for name, who in (("submit", PURCHASING), ("approve", MANAGER), ("receive", WAREHOUSE)):
            self._fire("purchase_order", po["id"], name, who)
        self.model["A", "on_hand"] += qty
        self.pos.append({"id": po["id"], "moved": D(qty), "returned": D(0)})

    @rule(qty=st.integers(1, 6))
    def ship_so(self, qty: int) -> None:
        so = self.jimu.records.create(APP, "sales_order", {"customer": self.customer, "warehouse": self.wh["A"],
                                                            "lines": [{"item": self.item, "qty": str(qty),
                                                                       "price": "1.00"}]}, actor=SALES)
        if qty > self.model["A", "on_hand"]:
            try:
                self._fire("sales_order", so["id"], "submit", SALES)
            except StockConflict:
                REACHED["stock_refused"] += 1
                return
            raise AssertionError(f"an order of {qty} was accepted with {self.model['A', 'on_hand']} on hand")
        for name, who, inputs in (("submit", SALES, None), ("approve", MANAGER, None),
                                  ("ship", WAREHOUSE, {"warehouse_confirm_code": "C", "logistics_no": "L"})):
            self._fire("sales_order", so["id"], name, who, inputs)
        self.model["A", "on_hand"] -= qty
        self.sos.append({"id": so["id"], "moved": D(qty), "returned": D(0)})

    def _return(self, entity: str, order: dict[str, Any], qty: int, quality: bool, approver: Actor,
                creator: Actor) -> int | None:
        """Create and approve a return; None when refused (and checked to be refused)."""
        field = "sales_order" if entity == "sales_return" else "purchase_order"
        doc = self.jimu.records.create(APP, entity, {field: order["id"], "lines": [
            {"item": self.item, "qty": str(qty), "reason": "quality" if quality else "other"}]}, actor=creator)
        left = order["moved"] - order["returned"]
        if qty > left:
            try:
                self._fire(entity, doc["id"], "approve", approver)
            except JimuError as exc:
                assert exc.code == "return.exceeds", exc.code
                assert exc.extra["lines"][0]["returnable"] == str(left.quantize(D("0.0001")))
                REACHED[f"exceeds_{entity}"] += 1
                return None
            raise AssertionError(f"a return of {qty} was approved with {left} returnable")
        self._fire(entity, doc["id"], "approve", approver)
        return int(doc["id"])

    @precondition(lambda self: self.sos)
    @rule(i=st.integers(0, 50), qty=st.integers(1, 6), quality=st.sampled_from((True, True, False)))
    def sales_return(self, i: int, qty: int, quality: bool) -> None:
        order = self.sos[i % len(self.sos)]
        rid = self._return("sales_return", order, qty, quality, MANAGER, SALES)
        if rid is None:
            return
        self._fire("sales_return", rid, "receive", WAREHOUSE)
        order["returned"] += qty
        self.model["A", "quarantine" if quality else "on_hand"] += qty
        REACHED["quality_in"] += quality

    @precondition(lambda self: self.pos)
    @rule(i=st.integers(0, 50), qty=st.integers(1, 6), quality=st.sampled_from((True, True, False)))
    def purchase_return(self, i: int, qty: int, quality: bool) -> None:
        order = self.pos[i % len(self.pos)]
        rid = self._return("purchase_return", order, qty, quality, MANAGER, PURCHASING)
        if rid is None:
            return
        from_q = min(D(qty), self.model["A", "quarantine"]) if quality else D(0)
        if qty - from_q > self.model["A", "on_hand"]:
            try:
                self._fire("purchase_return", rid, "ship", WAREHOUSE)
            except StockConflict:
                REACHED["stock_refused"] += 1
                self._fire("purchase_return", rid, "cancel", MANAGER)  # an approved return may be cancelled
                return
            raise AssertionError("a purchase return shipped more than was there")
        self._fire("purchase_return", rid, "ship", WAREHOUSE)
        order["returned"] += qty
        self.model["A", "quarantine"] -= from_q
        self.model["A", "on_hand"] -= qty - from_q
        REACHED["quality_out_from_quarantine"] += bool(from_q)

    @rule(qty=st.integers(1, 5), delta=st.integers(-3, 2))
    def transfer(self, qty: int, delta: int) -> None:
        tr = self.jimu.records.create(APP, "stock_transfer", {"from_warehouse": self.wh["A"], "to_warehouse":
                                                              self.wh["B"], "lines": [{"item": self.item,
                                                                                       "qty": str(qty)}]},
                                      actor=WAREHOUSE)
        if qty > self.model["A", "on_hand"]:
            try:
                self._fire("stock_transfer", tr["id"], "ship", WAREHOUSE)
            except StockConflict:
                REACHED["stock_refused"] += 1
                return
            raise AssertionError("a transfer shipped more than was there")
        self._fire("stock_transfer", tr["id"], "ship", WAREHOUSE)
        self.model["A", "on_hand"] -= qty
        self.model["A", "in_transit"] += qty
        self._check()
        got = max(qty + delta, 0)
        line = tr["lines"][0]["id"]
        self._fire("stock_transfer", tr["id"], "receive", WAREHOUSE,
                   {"receipts": [{"line": line, "received_qty": str(got)}]})
        self.model["A", "in_transit"] -= qty
        self.model["B", "on_hand"] += min(qty, got)  # a surplus waits on its discrepancy
        REACHED["short_transfer"] += got < qty

    def _check(self) -> None:
        with self.jimu.db.read() as c:
            lg = self.jimu.apps.get(APP, c).spec.ledger("stock")
            for w in "AB":
                rows = balances(c, APP, lg, item=self.item, warehouse=self.wh[w])
                for b in ("on_hand", "quarantine", "in_transit"):
                    have = sum((r[b] for r in rows), D(0))
                    assert have == self.model[w, b], (w, b, have, self.model[w, b])
                    assert have >= 0

    @invariant()
    def balances_match_the_model(self) -> None:
        if hasattr(self, "item"):
            self._check()

    def teardown(self) -> None:
        if hasattr(self, "item"):
            assert verify(self.jimu.db, APP, "stock") == []


def test_returns_and_transfers_life(backend: str, make_db_url: Callable[[str], str]) -> None:
    jimu = Jimu.open(make_db_url(backend))
    try:
        install_template(jimu, APP, "standard", sample_data=False)
        for user in ("sales", "manager", "warehouse", "purchasing"):
            jimu.users.create(user, user, [user])
        ReturnsLife.jimu = jimu
        ReturnsLife.customer = jimu.records.create(APP, "customer", {"name": "状态机客户"})["id"]
        ReturnsLife.supplier = jimu.records.create(APP, "supplier", {"name": "状态机供应商"})["id"]
        REACHED.clear()
        run_state_machine_as_test(ReturnsLife, settings=settings(
            max_examples=20, stateful_step_count=20, deadline=None, derandomize=True, database=None,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)))
    finally:
        jimu.close()
    assert all(REACHED[k] > 0 for k in ("exceeds_sales_return", "exceeds_purchase_return", "stock_refused",
                                          "quality_in", "quality_out_from_quarantine", "short_transfer")), REACHED

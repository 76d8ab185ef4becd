"""Hypothesis state machine over stocktakes mixed with stock adjustments (DESIGN 16,
issue 18), on the standard template, SQLite and (with ``JIMU_TEST_PG_URL``) PostgreSQL.

Per example: a fresh warehouse and two items. Rules, in any interleaving: adjustments
(in and out; one that would take stock below zero must be refused and change nothing),
stocktakes started with chosen lines or with none (auto-filled with the items in stock),
blind or not, freezing or not, counts typed and submitted, posts and cancels — several
stocktakes may be open at once and movements land between start and post. Checked:

- on_hand of each item == the model (after a post: the count of each counted line);
- on_hand == the replay of its movements (sum of their on_hand deltas);
- on_hand is never below zero;
- while a freezing stocktake (``freeze_stock``) holds an item, an adjustment of it is
  refused with ``stocktake.in_progress`` and changes nothing, and so is another count's
  post that would move it; after that count is posted or cancelled it moves again;
- the counting role (warehouse) reads system_qty and variance of a blind count's lines
  as null until ``submit_count``, and the book figures after it.

The run counts posts made after a movement during their count, adjustments refused for
stock and for a freeze, and blind counts submitted; the test fails when any is 0, so it
cannot pass without exercising the rules.

Mutations checked:
- re-introduce "variance applied on top of later movements" (drop the ``book_at_post``
  action from ``post`` in ``jimu/cbu_library/stocktake/cbu.yaml``): the first post after a
  movement during its count leaves on_hand off the count and the model check fails;
- make the freeze guard (``jimu.runtime.stock.freeze.guard``) return at once: a frozen
  item's adjustment is accepted and ``adjust`` fails;
- drop the warehouse role's masks on ``stocktake_line``: ``start`` of a blind count sees
  the book figure and fails.
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

from jimu.core.errors import JimuError
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.ledger import as_ledger, balances, movements
from jimu.runtime.access import AccessPolicy
from jimu.runtime.context import Jimu
from jimu.runtime.workflow import WorkflowEngine
from jimu.templates_market.installer import install_template

APP = "standard"
KEYS = ("A", "B")
REACHED: Counter[str] = Counter()


class StocktakeLife(RuleBasedStateMachine):
    """One app per backend; each example its own warehouse and items."""

    jimu: Jimu

    @initialize()
    def setup(self) -> None:
        rec = self.jimu.records.create
        tag = uuid.uuid4().hex[:8]
        self.engine = WorkflowEngine(self.jimu)
        self.wh = rec(APP, "warehouse", {"name": "W-" + tag, "confirm_code": "X"})["id"]
        self.items = {k: rec(APP, "item", {"sku": f"{k}-{tag}", "name": k, "unit": "个"})["id"] for k in KEYS}
        self.on_hand: dict[str, Decimal] = {k: Decimal(0) for k in KEYS}
        self.takes: dict[int, dict[str, Any]] = {}  # id -> {"state", "lines": {key: counted}, "moved": bool}
        with self.jimu.db.read() as c:
            self.lg = as_ledger(self.jimu.apps.get(APP, c).spec.ledger("stock"))

    def _key(self, item: Any) -> str:
        return next(k for k, v in self.items.items() if str(v) == str(item))

    def _pick(self, i: int, state: str) -> int:
        ids = sorted(t for t, v in self.takes.items() if v["state"] == state)
        return ids[i % len(ids)]

    def _has(state: str) -> Callable[[Any], bool]:  # type: ignore[misc]  # noqa: N805 - a precondition factory
        return lambda self: any(v["state"] == state for v in self.takes.values())

    def _frozen_by(self, key: str, other_than: int | None = None) -> int | None:
        """The open freezing stocktake holding ``key``, if any (other than ``other_than``)."""
        return next((t for t, v in sorted(self.takes.items()) if t != other_than and v["freeze"]
                     and v["state"] in ("counting", "counted") and key in v["lines"]), None)

    @rule(key=st.sampled_from(KEYS), qty=st.integers(-6, 9).filter(bool))
    def adjust(self, key: str, qty: int) -> None:
        data = {"item": self.items[key], "warehouse": self.wh, "qty": str(qty), "reason": "correction"}
        if self._frozen_by(key) is not None:
            try:
                self.jimu.records.create(APP, "stock_adjustment", data)
            except JimuError as exc:
                assert exc.code == "stocktake.in_progress", exc.code
                REACHED["refused_frozen"] += 1
                return
            raise AssertionError(f"an adjustment of frozen {key} was accepted")
        if self.on_hand[key] + qty < 0:
            try:
                self.jimu.records.create(APP, "stock_adjustment", data)
            except JimuError:
                REACHED["refused_below_zero"] += 1
                return
            raise AssertionError(f"an adjustment of {qty} on {self.on_hand[key]} was accepted")
        self.jimu.records.create(APP, "stock_adjustment", data)
        self.on_hand[key] += qty
        for t in self.takes.values():
            if t["state"] in ("counting", "counted") and key in t["lines"]:
                t["moved"] = True
                REACHED["moved_during_count"] += 1

    def _counter_view(self, tid: int) -> dict[str, Any]:
        """The stocktake as the counting role reads it (through the access layer)."""
        policy = AccessPolicy.for_actor(self.jimu, APP, Actor("counter", ("warehouse",)))
        return policy.render("stocktake", self.jimu.records.get(APP, "stocktake", tid))

    @rule(keys=st.lists(st.sampled_from(KEYS), unique=True, max_size=2), blind=st.booleans(),
          freeze=st.sampled_from((False, False, False, True)))
    def start(self, keys: list[str], blind: bool, freeze: bool) -> None:
        lines = [{"item": self.items[k], "warehouse": self.wh} for k in keys]
        doc = self.jimu.records.create(APP, "stocktake", {"warehouse": self.wh, "stocktake_line": lines,
                                                          "blind": blind, "freeze_stock": freeze})
        after = self.engine.fire(APP, "stocktake", doc["id"], "start", actor=SYSTEM)
        got = {self._key(ln["item"]): Decimal(str(ln["system_qty"])) for ln in after["stocktake_line"]}
        want = {k: self.on_hand[k] for k in keys} if keys else {k: q for k, q in self.on_hand.items() if q != 0}
        assert got == want, (got, want)
        seen = {self._key(ln["item"]): ln["system_qty"] for ln in self._counter_view(doc["id"])["stocktake_line"]}
        if blind:  # the counters see no book figure...
            assert all(v is None for v in seen.values()), seen
        else:  # ... unless the count is open
            assert {k: Decimal(str(v)) for k, v in seen.items()} == got, seen
        self.takes[doc["id"]] = {"state": "counting", "lines": {k: None for k in got}, "moved": False,
                                 "blind": blind, "freeze": freeze}

    @precondition(_has("counting"))
    @rule(i=st.integers(0, 9), counts=st.lists(st.integers(0, 12), min_size=2, max_size=2), then_post=st.booleans())
    def count(self, i: int, counts: list[int], then_post: bool) -> None:
        tid = self._pick(i, "counting")
        doc = self.jimu.records.get(APP, "stocktake", tid)
        rows = [{"id": ln["id"], "counted_qty": str(counts[KEYS.index(self._key(ln["item"]))])}
                for ln in doc["stocktake_line"]]
        self.jimu.records.update(APP, "stocktake", tid, {"stocktake_line": rows})
        self.engine.fire(APP, "stocktake", tid, "submit_count", actor=SYSTEM)
        t = self.takes[tid]
        t["state"] = "counted"
        t["lines"] = {k: Decimal(counts[KEYS.index(k)]) for k in t["lines"]}
        lines = self._counter_view(tid)["stocktake_line"]
        assert all(ln["system_qty"] is not None and ln["variance"] is not None for ln in lines), lines
        if t["blind"]:
            REACHED["blind_submitted"] += 1
        if then_post:  # the manager posts right away (else a later ``post`` step does)
            self._post(tid)

    @precondition(_has("counted"))
    @rule(i=st.integers(0, 9))
    def post(self, i: int) -> None:
        self._post(self._pick(i, "counted"))

    def _post(self, tid: int) -> None:
        t = self.takes[tid]
        held = [k for k, counted in t["lines"].items()
                if counted != self.on_hand[k] and self._frozen_by(k, other_than=tid) is not None]
        if held:  # another count's freeze holds an item this post would move
            try:
                self.engine.fire(APP, "stocktake", tid, "post", actor=SYSTEM)
            except JimuError as exc:
                assert exc.code == "stocktake.in_progress", exc.code
                REACHED["post_refused_frozen"] += 1
                return
            raise AssertionError(f"post of {tid} moved {held}, frozen by another count")
        self.engine.fire(APP, "stocktake", tid, "post", actor=SYSTEM)
        t["state"] = "posted"
        REACHED["posted"] += 1
        for k, counted in t["lines"].items():
            self.on_hand[k] = counted
        if t["moved"]:
            REACHED["post_after_movement"] += 1

    @precondition(lambda self: any(v["state"] in ("counting", "counted") for v in self.takes.values()))
    @rule(i=st.integers(0, 9))
    def cancel(self, i: int) -> None:
        ids = sorted(t for t, v in self.takes.items() if v["state"] in ("counting", "counted"))
        tid = ids[i % len(ids)]
        self.engine.fire(APP, "stocktake", tid, "cancel", actor=SYSTEM)
        self.takes[tid]["state"] = "cancelled"

    @invariant()
    def stock_is_the_model_and_the_replay(self) -> None:
        if not hasattr(self, "lg"):
            return
        with self.jimu.db.read() as c:
            for k, item in self.items.items():
                on_hand = sum((Decimal(str(b["on_hand"])) for b in balances(c, APP, self.lg, item=item,
                                                                            warehouse=self.wh)), Decimal(0))
                replay = sum((Decimal(str(m["on_hand"])) for m in movements(c, APP, self.lg, item=item,
                                                                             warehouse=self.wh)), Decimal(0))
                assert on_hand == self.on_hand[k], (k, on_hand, self.on_hand[k])
                assert on_hand == replay, (k, on_hand, replay)
                assert on_hand >= 0, (k, on_hand)


def test_stocktake_life(backend: str, make_db_url: Callable[[str], str]) -> None:
    jimu = Jimu.open(make_db_url(backend))
    try:
        install_template(jimu, APP, "standard", sample_data=False)
        StocktakeLife.jimu = jimu
        REACHED.clear()
        run_state_machine_as_test(StocktakeLife, settings=settings(
            max_examples=30, stateful_step_count=20, deadline=None, derandomize=True, database=None,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)))
    finally:
        jimu.close()
    assert all(REACHED[k] > 0 for k in ("post_after_movement", "refused_below_zero", "refused_frozen",
                                          "blind_submitted")), REACHED

"""Hypothesis state machine: random moves against the ledger and a plain Python model.

After every step: no bucket negative, available = on_hand - reserved, verify() finds no
difference between the balances and the movement log, FEFO allocation is ordered and
covers the request, and every balance equals the model's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from jimu.core import clock as clock_mod
from jimu.core.errors import StockConflict
from jimu.platform.ledger import adjust as l_adjust
from jimu.platform.ledger import (
    allocate_fefo,
    balances,
    ship,
    transfer_in,
    transfer_out,
    verify,
)
from jimu.platform.ledger import quarantine as l_quarantine
from jimu.platform.ledger import receipt as l_receipt
from jimu.platform.ledger import release as l_release
from jimu.platform.ledger import reserve as l_reserve
from tests.platform.ledger._ledger_workers import STOCK

ITEMS, WAREHOUSES, BATCHES = (1, 2), (10, 20), (101, 102, 103)
EXPIRY = {101: date(2026, 3, 3), 102: date(2026, 3, 2), 103: date(2026, 3, 9)}
TODAY = date(2026, 3, 1)
keys = st.tuples(st.sampled_from(ITEMS), st.sampled_from(WAREHOUSES), st.sampled_from(BATCHES))
qtys = st.integers(1, 12)


@dataclass
class Res:
    id: int
    key: tuple[int, int, int]
    open: int
    expires: datetime | None


def dims(k):
    return {"item": k[0], "warehouse": k[1], "batch": k[2]}


def make_machine(db):
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.app = "h" + uuid.uuid4().hex[:10]
            self.clock = clock_mod.ManualClock(frozen=datetime(2026, 3, 1, 9, tzinfo=UTC))
            self.prev_clock = clock_mod.set_clock(self.clock)
            self.on_hand: dict[tuple, int] = {}
            self.quar: dict[tuple, int] = {}
            self.transit: dict[tuple, int] = {}
            self.res: list[Res] = []
            self.pending: list[tuple[tuple, tuple, int]] = []

        def teardown(self):
            clock_mod.set_clock(self.prev_clock)

        # -- model helpers -------------------------------------------------------
        def live(self):
            now = self.clock.now()
            self.res = [r for r in self.res if r.expires is None or r.expires > now]
            return self.res

        def reserved(self, k):
            return sum(r.open for r in self.live() if r.key == k)

        def avail(self, k):
            return self.on_hand.get(k, 0) - self.reserved(k)

        def attempt(self, ok, fn):
            if ok:
                with db.write() as c:
                    return fn(c)
            with pytest.raises(StockConflict), db.write() as c:
                fn(c)
            return None

        # -- rules ---------------------------------------------------------------
        @rule(k=keys, q=qtys)
        def receive(self, k, q):
            with db.write() as c:
                l_receipt(c, self.app, STOCK, dims(k), q)
            self.on_hand[k] = self.on_hand.get(k, 0) + q

        @rule(k=keys, q=qtys, ttl=st.sampled_from([None, 10, 30]))
        def reserve(self, k, q, ttl):
            delta = timedelta(minutes=ttl) if ttl else None
            rid = self.attempt(q <= self.avail(k), lambda c: l_reserve(c, self.app, STOCK, dims(k), q, ttl=delta))
            if rid is not None:
                self.res.append(Res(rid, k, q, self.clock.now() + delta if delta else None))

        @rule(minutes=st.integers(0, 25))
        def advance(self, minutes):
            self.clock.advance(timedelta(minutes=minutes))

        @rule(data=st.data())
        def ship_reserved(self, data):
            if not self.live():
                return
            r = data.draw(st.sampled_from(self.res))
            q = data.draw(st.integers(1, r.open))
            with db.write() as c:
                ship(c, self.app, STOCK, {}, q, reservation=r.id)
            r.open -= q
            self.on_hand[r.key] -= q
            if r.open == 0:
                self.res.remove(r)

        @rule(data=st.data())
        def release(self, data):
            if not self.live():
                return
            r = data.draw(st.sampled_from(self.res))
            with db.write() as c:
                l_release(c, self.app, STOCK, r.id)
            self.res.remove(r)

        @rule(k=keys, q=qtys)
        def ship_direct(self, k, q):
            if self.attempt(q <= self.avail(k), lambda c: ship(c, self.app, STOCK, dims(k), q)) is not None:
                self.on_hand[k] -= q

        @rule(k=keys, q=qtys)
        def transfer(self, k, q):
            dst = (k[0], 30 - k[1], k[2])
            if self.attempt(q <= self.avail(k), lambda c: transfer_out(c, self.app, STOCK, dims(k), q)) is not None:
                self.on_hand[k] -= q
                self.transit[k] = self.transit.get(k, 0) + q
                self.pending.append((k, dst, q))

        @rule(data=st.data())
        def arrive(self, data):
            if not self.pending:
                return
            src, dst, q = data.draw(st.sampled_from(self.pending))
            with db.write() as c:
                transfer_in(c, self.app, STOCK, dims(src), dims(dst), q)
            self.pending.remove((src, dst, q))
            self.transit[src] -= q
            self.on_hand[dst] = self.on_hand.get(dst, 0) + q

        @rule(k=keys, d=st.integers(-8, 8).filter(bool))
        def adjust(self, k, d):
            ok = d > 0 or -d <= self.avail(k)
            if self.attempt(ok, lambda c: l_adjust(c, self.app, STOCK, dims(k), d, reason="count")) is not None:
                self.on_hand[k] = self.on_hand.get(k, 0) + d

        @rule(k=keys, q=qtys)
        def quarantine(self, k, q):
            if self.attempt(q <= self.avail(k), lambda c: l_quarantine(c, self.app, STOCK, dims(k), q)) is not None:
                self.on_hand[k] -= q
                self.quar[k] = self.quar.get(k, 0) + q

        # -- invariants ------------------------------------------------------------
        @invariant()
        def matches_model_and_log(self):
            with db.read() as c:
                rows = balances(c, self.app, STOCK)
                for r in rows:
                    k = (r["item"], r["warehouse"], r["batch"])
                    for b in ("on_hand", "reserved", "in_transit", "quarantine", "available"):
                        assert r[b] >= 0, (k, b, r)
                    assert r["available"] == r["on_hand"] - r["reserved"]
                    assert r["on_hand"] == self.on_hand.get(k, 0), (k, r)
                    assert r["reserved"] == self.reserved(k), (k, r)
                    assert r["in_transit"] == self.transit.get(k, 0)
                    assert r["quarantine"] == self.quar.get(k, 0)
                seen = {(r["item"], r["warehouse"], r["batch"]) for r in rows}
                assert all(v == 0 for k, v in self.on_hand.items() if k not in seen)
                for item in ITEMS:
                    ks = [k for k in seen if k[0] == item and k[1] == 10 and EXPIRY[k[2]] >= TODAY]
                    total = sum(max(self.avail(k), 0) for k in ks)
                    if total:
                        got = allocate_fefo(c, self.app, STOCK, item, 10, total, EXPIRY, today=TODAY)
                        assert sum(q for _, q in got) == total
                        assert [EXPIRY[b] for b, _ in got] == sorted(EXPIRY[b] for b, _ in got)
                        assert all(q == self.avail((item, 10, b)) for b, q in got)
            assert verify(db, self.app) == []

    return LedgerMachine


def test_ledger_state_machine(ldb):
    run_state_machine_as_test(
        make_machine(ldb),
        settings=settings(max_examples=20, stateful_step_count=25, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )

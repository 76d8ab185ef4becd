"""Hypothesis state machine over the whole life of sales orders, against a model.

Orders with one or two lines over two items are created, submitted (reserving stock, or
refused with 409 when stock is short), voted on by the right and the wrong people through
both ``fire("approve"/"reject")`` and the approvals API (manager, then the vp when the
amount is above 5000), rejected, shipped with the right or a wrong confirm code,
completed and cancelled from every state; stock is restocked; the injectable clock moves
so that unpaid online orders are auto-cancelled after 30 minutes, their reservations run
out, and approvals waiting 48 h escalate to the approver's manager. Every outcome
(state, HTTP-style status) is predicted by the model; after every step:

- each order's state is the model's, and the audit trail replays to it;
- ``reserved`` of each item == the sum of the open orders' (still live) lines, from the
  balances and from the reservation rows, and each open order holds exactly one active
  reservation per line;
- ``on_hand`` == opening + restocks - shipped, and the movements sum to the balance row's
  buckets;
- an order that reached approved/shipped/completed has an approved instance with a
  manager vote, and a vote by a vp holder when its amount is above 5000.

The run counts what it reached (approved above and below 5000, shipped, completed,
cancelled by a user and by the timer, rejected, escalated, refused for stock) and the
test fails when any count is 0, so it cannot pass while proving nothing (the run is
derandomized, so the counts are the same on every run of the same code). It runs on
SQLite and, with ``JIMU_TEST_PG_URL``, on PostgreSQL: one database and app per backend,
a fresh warehouse, items and customer per example (a database or an app per example cost
more than the steps; the invariants look only at the example's own rows).

Mutations this was seen to catch: in ``approvals.resolve_steps`` every step with a
``condition`` marked skipped (orders above 5000 approved after the manager alone);
``run_postings`` posting each ``reserve`` twice (reserved doubled, two reservations per
line); ``run_postings`` skipping ``release`` (cancel and reject keep the stock reserved).
Each made the test fail on its first invariant or model check.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from jimu.core import clock
from jimu.core.errors import (
    Conflict,
    JimuError,
    PermissionDenied,
    StockConflict,
    TransitionNotAllowed,
    ValidationError,
)
from jimu.platform.audit import query_audit
from jimu.platform.ledger import balances, get_reservations
from jimu.platform.ledger.tables import balance, movement, reservation
from jimu.runtime.context import Jimu
from jimu.runtime.scheduler import run_due_jobs
from jimu.runtime.workflow.tables import approvals, jobs, votes
from tests.runtime.workflow.conftest import STOCK, World, build_sales_app, make_users

THRESHOLD = Decimal("5000")
OPENING = Decimal("6")
TTL = timedelta(minutes=30)
ESCALATE = timedelta(hours=48)
#: The standard template's ledger releases on reject as well as on cancel.
LEDGER = {**STOCK, "postings": [*STOCK["postings"], {"name": "so_reject_release", "entity": "sales_order",
                                                       "transition": "reject", "kind": "release"}]}
FROM = {"submit": {"draft"}, "approve": {"pending_approval"}, "reject": {"pending_approval"},
        "ship": {"approved"}, "complete": {"shipped"}, "cancel": {"draft", "pending_approval", "approved"}}
STATES = ["draft", "pending_approval", "approved", "shipped", "completed", "rejected", "cancelled"]
NEW_ORDER = {"amount": st.sampled_from(["100", "5000", "5000.01", "9000"]),
             "lines": st.lists(st.tuples(st.sampled_from("AB"), st.integers(1, 4)), min_size=1, max_size=2),
             "online": st.sampled_from([False, False, True])}
EXAMPLES, STEPS = 30, 30
#: What the run reached, per backend (asserted > 0 after the run).
REACHED: dict[str, Counter[str]] = {}


@dataclass
class Order:
    """The model of one order."""

    id: int
    amount: Decimal
    lines: list[tuple[str, Decimal]]  # (item key, qty)
    online: bool
    state: str = "draft"
    step: int = 0  # 1 manager, 2 vp (while pending_approval)
    pending_since: datetime | None = None
    held: bool = False  # has a reservation (not released, shipped or cancelled)
    held_until: datetime | None = None  # reservation expiry (online unpaid orders)
    escalated: bool = False  # the 48 h escalation let the vp decide the manager step

    def live(self, now: datetime) -> bool:
        return self.held and (self.held_until is None or now < self.held_until)

    def need(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for item, qty in self.lines:
            out[item] += qty  # type: ignore[assignment]
        return out


def _has(*states: str) -> Callable[[Any], bool]:
    """Precondition: some order is in one of ``states``."""
    return lambda self: any(o.state in states for o in self.orders.values())


class OrderLife(RuleBasedStateMachine):
    """One app per backend (set by the test); each example gets its own warehouse, items
    and customer, so its stock and orders are its own."""

    jimu: Jimu
    backend: str
    app = "std"

    @initialize()
    def setup(self) -> None:
        self.clock = clock.ManualClock()
        self.prev = clock.set_clock(self.clock)
        self.world = World(self.jimu, self.app)
        self.items = {"A": self.world.item,
                      "B": self.jimu.records.create(self.app, "item", {"sku": "B-2", "name": "Nut"})["id"]}
        self.on_hand: Counter[str] = Counter()
        for key in self.items:
            self._adjust(key, OPENING)
        self.orders: dict[int, Order] = {}
        self.reached = REACHED.setdefault(self.backend, Counter())

    def teardown(self) -> None:
        if hasattr(self, "world"):
            clock.set_clock(self.prev)
            with self.jimu.db.write() as c:  # this example's timers must not fire in the next one
                c.execute(sa.update(jobs).where(jobs.c.app == self.app, jobs.c.status == "pending")
                          .values(status="cancelled"))

    # Helpers -----------------------------------------------------------------------------
    def _adjust(self, key: str, qty: Decimal) -> None:
        self.jimu.records.create(self.app, "stock_adjustment", {"item": self.items[key], "warehouse": self.world.wh,
                                                             "qty": str(qty), "reason": "restock"},
                                 actor=self.world.actor("warehouse"))
        self.on_hand[key] += qty  # type: ignore[assignment]

    def _pick(self, i: int, *states: str) -> Order:
        cands = [o for o in self.orders.values() if o.state in states]
        return cands[i % len(cands)]

    def _reserved(self, now: datetime) -> Counter[str]:
        out: Counter[str] = Counter()
        for o in self.orders.values():
            if o.live(now):
                out.update(o.need())
        return out

    @contextlib.contextmanager
    def _expect(self, error: type[JimuError] | None) -> Iterator[list[Any]]:
        """Run the block; it must raise ``error`` (or succeed when None)."""
        box: list[Any] = []
        if error is None:
            yield box
            return
        with pytest.raises(error):
            yield box

    def _moved(self, o: Order, state: str) -> None:
        o.state = state
        self.reached[state] += 1
        if state == "approved":
            self.check_approved(o)
        if state in ("rejected", "cancelled", "shipped"):
            o.held = False

    # Rules ------------------------------------------------------------------------------
    def _create(self, amount: str, lines: list[tuple[str, int]], online: bool) -> None:
        data = {"number": f"SO-{len(self.orders) + 1}", "customer": self.world.customer, "warehouse": self.world.wh,
                "amount": amount, "channel": "online" if online else "shop",
                "payment_status": "unpaid" if online else "paid",
                "lines": [{"item": self.items[k], "qty": str(q), "price": "10"} for k, q in lines]}
        rec = self.jimu.records.create(self.app, "sales_order", data, actor=self.world.actor("sales"))
        assert rec["state"] == "draft"
        self.orders[rec["id"]] = Order(rec["id"], Decimal(amount), [(k, Decimal(q)) for k, q in lines], online)

    # Rules registered more than once are weighted: Hypothesis picks among enabled rules evenly.
    create = rule(**NEW_ORDER)(_create)
    create_more = rule(**NEW_ORDER)(_create)

    @rule(item=st.sampled_from("AB"), qty=st.integers(1, 12))
    def restock(self, item: str, qty: int) -> None:
        self._adjust(item, Decimal(qty))

    @precondition(_has("draft"))
    @rule(i=st.integers(0, 99), user=st.sampled_from(["sales", "sales", "warehouse"]))
    def submit(self, i: int, user: str) -> None:
        o = self._pick(i, "draft")
        now = self.clock.now()
        free = {k: self.on_hand[k] - self._reserved(now)[k] for k in self.items}
        short = any(q > free[k] for k, q in o.need().items())
        error = PermissionDenied if user != "sales" else StockConflict if short else None
        with self._expect(error):
            rec = self.world.fire(o.id, "submit", user)
            assert rec["state"] == "pending_approval"
            self._moved(o, "pending_approval")
            o.step, o.pending_since, o.held = 1, now, True
            o.held_until = now + TTL if o.online else None
        if error is StockConflict:
            self.reached["stock_refused"] += 1

    @precondition(_has("pending_approval"))
    @rule(i=st.integers(0, 99), user=st.sampled_from(["manager", "manager", "vp", "vp", "sales", "admin"]),
          decision=st.sampled_from(["approve", "approve", "approve", "reject"]), api=st.booleans())
    def vote(self, i: int, user: str, decision: str, api: bool) -> None:
        o = self._pick(i, "pending_approval")
        eligible = ({"manager"} | ({"vp"} if o.escalated else set())) if o.step == 1 else {"vp"}
        escalated_vote = user == "vp" and o.step == 1
        with self._expect(None if user in eligible else PermissionDenied):
            if api:
                rec = self.world.engine.decide(self.app, "sales_order", o.id, o.step, decision, self.world.actor(user))
            else:
                rec = self.world.fire(o.id, decision, user)
            if decision == "reject":
                expected = "rejected"
            elif o.step == 1 and o.amount > THRESHOLD:
                expected, o.step = "pending_approval", 2
            else:
                expected = "approved"
            assert rec["state"] == expected, (o, user, decision, rec["state"])
            if expected != "pending_approval":
                self._moved(o, expected)
                if expected == "approved":
                    self.reached["approved_by_vp" if o.amount > THRESHOLD else "approved_by_manager"] += 1
            if escalated_vote:
                self.reached["escalated_vote"] += 1

    def _advance(self, i: int, n: int, pick: int) -> None:
        """The happy path (mostly): move one order up to ``n`` steps on by the right
        people (a random eligible approver; one vote in six rejects; one in six first
        waits 49 h so the escalation fires), so that runs reach approved, shipped,
        completed and escalated votes often. Registered three times (rule weight)."""
        o = self._pick(i, "draft", "pending_approval", "approved", "shipped")
        for _ in range(n):
            if o.state == "draft":
                self.submit(self._index(o, "draft"), "sales")
                if o.state == "draft":
                    return  # refused for stock
            elif o.state == "pending_approval":
                if pick == 4 and o.step == 1 and not o.escalated:
                    self._tick(49 * 60)  # the approver sits on it: the 48 h escalation fires
                    if o.state != "pending_approval":
                        return
                users = sorted({"manager", "vp"} if o.step == 1 and o.escalated else {"manager" if o.step == 1 else "vp"})
                who = users[-1] if pick == 4 else users[pick % len(users)]  # after the wait: the vp
                self.vote(self._index(o, "pending_approval"), who,
                          "reject" if pick == 5 else "approve", bool(pick % 2))
            elif o.state == "approved":
                self.ship(self._index(o, "approved"), "warehouse", "8888")
            elif o.state == "shipped":
                self.complete(self._index(o, "shipped"), "sales")
            else:
                return

    _ADVANCE = dict(i=st.integers(0, 99), n=st.integers(1, 4), pick=st.integers(0, 5))
    _LIVING = _has("draft", "pending_approval", "approved", "shipped")
    advance = precondition(_LIVING)(rule(**_ADVANCE)(_advance))
    advance_more = precondition(_LIVING)(rule(**_ADVANCE)(_advance))
    advance_again = precondition(_LIVING)(rule(**_ADVANCE)(_advance))

    def _index(self, o: Order, *states: str) -> int:
        return [x.id for x in self.orders.values() if x.state in states].index(o.id)

    @precondition(_has("pending_approval"))
    @rule(i=st.integers(0, 99))
    def vote_wrong_step(self, i: int) -> None:
        o = self._pick(i, "pending_approval")
        wrong = 2 if o.step == 1 else 1
        with pytest.raises(Conflict) as info:
            self.world.engine.decide(self.app, "sales_order", o.id, wrong, "approve", self.world.actor("vp"))
        assert info.value.code == "approval.step"

    @precondition(_has("approved"))
    @rule(i=st.integers(0, 99), user=st.sampled_from(["warehouse", "warehouse", "sales"]),
          code=st.sampled_from(["8888", "8888", "1234"]))
    def ship(self, i: int, user: str, code: str) -> None:
        o = self._pick(i, "approved")
        now = self.clock.now()
        error: type[JimuError] | None = PermissionDenied if user != "warehouse" else (
            ValidationError if code != "8888" else None)  # the guard names the input: 422
        if error is None and not o.live(now):
            # the reservation ran out: shipping takes free stock, or is refused for it
            free = {k: self.on_hand[k] - self._reserved(now)[k] for k in self.items}
            if any(q > free[k] for k, q in o.need().items()):
                error = StockConflict
        with self._expect(error):
            rec = self.world.fire(o.id, "ship", user, {"warehouse_confirm_code": code, "logistics_no": "SF-1"})
            assert rec["state"] == "shipped"
            self.on_hand.subtract(o.need())
            self._moved(o, "shipped")

    @precondition(_has("shipped"))
    @rule(i=st.integers(0, 99), user=st.sampled_from(["sales", "manager", "warehouse"]))
    def complete(self, i: int, user: str) -> None:
        o = self._pick(i, "shipped")
        with self._expect(PermissionDenied if user == "warehouse" else None):
            assert self.world.fire(o.id, "complete", user)["state"] == "completed"
            self._moved(o, "completed")

    @precondition(_has(*FROM["cancel"]))
    @rule(i=st.integers(0, 99), user=st.sampled_from(["sales", "manager", "admin", "warehouse"]))
    def cancel(self, i: int, user: str) -> None:
        o = self._pick(i, *FROM["cancel"])
        with self._expect(PermissionDenied if user == "warehouse" else None):
            assert self.world.fire(o.id, "cancel", user)["state"] == "cancelled"
            self._moved(o, "cancelled")
            self.reached["cancelled_by_user"] += 1

    @precondition(lambda self: bool(self.orders))
    @rule(i=st.integers(0, 99), t=st.sampled_from(sorted(FROM)), user=st.sampled_from(["sales", "manager", "vp"]))
    def illegal(self, i: int, t: str, user: str) -> None:
        """A transition from a state it does not leave: 409, nothing changes."""
        wrong = [o for o in self.orders.values() if o.state not in FROM[t]]
        if not wrong:
            return
        o = wrong[i % len(wrong)]
        with pytest.raises(TransitionNotAllowed):
            self.world.fire(o.id, t, user, {"warehouse_confirm_code": "8888", "logistics_no": "X"})

    def _tick(self, minutes: int) -> None:
        """Time passes (never a multiple of 30 minutes: no tie at a due time); due timers fire."""
        now = self.clock.advance(timedelta(minutes=minutes))
        run_due_jobs(self.jimu, now, "hyp")
        for o in self.orders.values():
            if o.state != "pending_approval" or o.pending_since is None:
                continue
            if o.online and o.pending_since + TTL <= now:
                self._moved(o, "cancelled")
                self.reached["cancelled_by_timer"] += 1
            elif o.pending_since + ESCALATE <= now and o.step == 1:
                o.escalated = True
                self.reached["escalated"] += 1

    tick = rule(minutes=st.sampled_from([12, 42, 24 * 60, 49 * 60]))(_tick)
    tick_more = rule(minutes=st.sampled_from([12, 42, 24 * 60, 49 * 60]))(_tick)

    # Invariants ---------------------------------------------------------------------------
    @invariant()
    def consistent(self) -> None:
        """States, stock and reservations as the model says, in one read transaction."""
        if not hasattr(self, "world"):
            return
        self.reached["steps"] += 1
        now = self.clock.now()
        expected = self._reserved(now)
        rt = self.jimu.apps.get(self.app)
        lg = rt.spec.ledger("stock")
        table = rt.tables("sales_order")
        mine = {str(i) for i in self.items.values()}
        wh = str(self.world.wh)
        with self.jimu.db.read() as c:
            actual = dict(c.execute(sa.select(table.c.id, table.c.state).where(table.c.id.in_(list(self.orders)))).all())
            rows = {str(r["item"]): r for r in balances(c, self.app, lg, now=now, warehouse=self.world.wh)}
            active = [r for r in get_reservations(c, self.app, lg, entity="sales_order", state="active")
                      if int(r["document"]["id"]) in self.orders]
            raw = {r.key: r for r in c.execute(sa.select(balance).where(balance.c.app == self.app))
                   if str(r.dims.get("item")) in mine and str(r.dims.get("warehouse")) == wh}
            keys = list(raw)
            moved = {r.key: r for r in c.execute(
                sa.select(movement.c.key, sa.func.sum(movement.c.d_on_hand).label("on_hand"),
                          sa.func.sum(movement.c.d_reserved).label("reserved"))
                .where(movement.c.app == self.app, movement.c.key.in_(keys)).group_by(movement.c.key))}
            held = {r.key: r.units for r in c.execute(
                sa.select(reservation.c.key, sa.func.sum(reservation.c.open_qty).label("units"))
                .where(reservation.c.app == self.app, reservation.c.state == "active", reservation.c.key.in_(keys))
                .group_by(reservation.c.key))}
        assert len(raw) == len(self.items)
        assert actual == {o.id: o.state for o in self.orders.values()}
        for key, item in self.items.items():
            row = rows[str(item)]
            assert row["reserved"] == expected[key], ("reserved", key, row["reserved"], expected[key])
            assert row["on_hand"] == self.on_hand[key], ("on_hand", key, row["on_hand"], self.on_hand[key])
        for key, r in raw.items():  # the balance row is the sum of its movements
            assert (r.on_hand, r.reserved) == (moved[key].on_hand, moved[key].reserved), key
            assert r.reserved == held.get(key, 0), "reserved bucket != active reservations"
        live = Counter(int(r["document"]["id"]) for r in active if r["expires_at"] is None or r["expires_at"] > now)
        for o in self.orders.values():
            assert live[o.id] == (len(o.lines) if o.live(now) else 0), ("reservations per line", o)
        if self.reached["steps"] % 10 == 0:
            self.check_audit()

    def check_approved(self, o: Order) -> None:
        """An order that reached approved has an approved instance with a manager vote,
        and a vote by a vp holder when its amount is above 5000."""
        people = {u.username: u.roles for u in self.jimu.users.list()}
        with self.jimu.db.read() as c:
            inst = c.execute(sa.select(approvals).where(approvals.c.app == self.app, approvals.c.record == o.id,
                                                        approvals.c.status == "approved")).mappings().first()
            assert inst is not None, "approved without an approval"
            voters = {v["step_name"]: v for v in c.execute(sa.select(votes).where(
                votes.c.approval_id == inst["id"], votes.c.decision == "approve")).mappings()}
        assert "manager" in voters
        if o.amount > THRESHOLD:
            assert "vp" in voters, f"order {o.id} above 5000 approved without the vp"
            assert "vp" in people[voters["vp"]["on_behalf_of"]]

    def check_audit(self) -> None:
        """The audit trail of every order replays to its state."""
        with self.jimu.db.read() as c:
            for o in self.orders.values():
                audit = list(reversed(query_audit(c, self.app, entity="sales_order", record=str(o.id), limit=500)))
                replay = "draft"
                for row in audit:
                    for ch in row["changes"]:
                        if ch["field"] == "state" and ch["old"] is not None:
                            assert ch["old"] == replay, (o.id, ch)
                            replay = ch["new"]
                assert replay == o.state, (o.id, replay, o.state)


def test_order_life(backend: str, make_db_url: Callable[[str], str]) -> None:
    jimu = Jimu.open(make_db_url(backend))
    try:
        build_sales_app(jimu, OrderLife.app, ledger=LEDGER)
        make_users(jimu)
        OrderLife.jimu, OrderLife.backend = jimu, backend
        REACHED.pop(backend, None)
        run_state_machine_as_test(OrderLife, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True, database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing run stays short
            suppress_health_check=list(HealthCheck)))
    finally:
        jimu.close()
    reached = REACHED[backend]
    wanted = ["approved_by_manager", "approved_by_vp", "shipped", "completed", "rejected", "cancelled_by_user",
              "cancelled_by_timer", "escalated", "escalated_vote", "stock_refused"]
    assert all(reached[k] > 0 for k in wanted), reached

"""Hypothesis state machine: random transitions, votes and timer ticks by random users
never reach a forbidden state, never skip a required approval, and the audit trail
replays to the current state."""

from __future__ import annotations

import uuid
from datetime import timedelta

import hypothesis.strategies as st
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from jimu.core import clock
from jimu.core.errors import JimuError
from jimu.platform.audit import query_audit
from jimu.runtime.context import Jimu
from jimu.runtime.scheduler import run_due_jobs
from jimu.runtime.workflow.tables import approvals, votes
from tests.runtime.workflow.conftest import SO_WORKFLOW, World, build_sales_app, make_users

USERS = ["sales", "manager", "vp", "warehouse", "admin", "finance"]
TRANSITIONS = [t["name"] for t in SO_WORKFLOW["transitions"]]
EDGES = {(s, t["to"]) for t in SO_WORKFLOW["transitions"] for s in t["from"]}


class WorkflowMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self) -> None:
        import tempfile

        self.clock = clock.ManualClock()
        self.prev = clock.set_clock(self.clock)
        self.jimu = Jimu.open(f"sqlite:///{tempfile.gettempdir()}/wf-{uuid.uuid4().hex[:8]}.db")
        build_sales_app(self.jimu)
        make_users(self.jimu)
        self.world = World(self.jimu)
        self.world.stock("1000000")
        self.orders: list[int] = []
        self.last: dict[int, str] = {}

    def teardown(self) -> None:
        if hasattr(self, "jimu"):
            self.jimu.close()
            clock.set_clock(self.prev)

    @rule(amount=st.sampled_from(["100", "5000", "5000.01", "9000"]))
    def create(self, amount: str) -> None:
        so = self.world.order(amount, qty="1")
        self.orders.append(so["id"])
        self.last[so["id"]] = "draft"

    @rule(i=st.integers(0, 50), t=st.sampled_from(TRANSITIONS), user=st.sampled_from(USERS))
    def fire(self, i: int, t: str, user: str) -> None:
        if not self.orders:
            return
        rid = self.orders[i % len(self.orders)]
        inputs = {"warehouse_confirm_code": "8888", "logistics_no": "X"} if t == "ship" else {}
        try:
            self.world.fire(rid, t, user, inputs)
        except JimuError as exc:
            assert exc.status in (403, 409, 422), exc

    @rule(i=st.integers(0, 50), user=st.sampled_from(USERS), decision=st.sampled_from(["approve", "reject"]),
          step=st.sampled_from([1, 2]))
    def decide(self, i: int, user: str, decision: str, step: int) -> None:
        if not self.orders:
            return
        rid = self.orders[i % len(self.orders)]
        try:
            self.world.engine.decide("std", "sales_order", rid, step, decision, self.world.actor(user))
        except JimuError as exc:
            assert exc.status in (403, 404, 409, 422), exc

    @rule(hours=st.sampled_from([0.1, 1, 24, 49]))
    def tick(self, hours: float) -> None:
        run_due_jobs(self.jimu, self.clock.advance(timedelta(hours=hours)), "hyp")

    @invariant()
    def consistent(self) -> None:
        if not hasattr(self, "jimu"):
            return
        with self.jimu.db.read() as c:
            for rid in self.orders:
                rec = self.jimu.records.get("std", "sales_order", rid, conn=c)
                state = rec["state"]
                old = self.last[rid]
                assert state == old or (old, state) in EDGES, (old, state)
                if state in ("approved", "shipped", "completed"):
                    self._approvals_complete(c, rid, rec)
                audit = list(reversed(query_audit(c, "std", entity="sales_order", record=str(rid), limit=500)))
                replay = None
                for row in audit:
                    for ch in row["changes"]:
                        if ch["field"] == "state":
                            assert replay in (None, ch["old"])
                            replay = ch["new"]
                assert replay == state
                self.last[rid] = state

    def _approvals_complete(self, c: sa.Connection, rid: int, rec: dict) -> None:
        inst = c.execute(sa.select(approvals).where(approvals.c.record == rid, approvals.c.status == "approved")
                         ).mappings().first()
        assert inst is not None, "approved without an approval"
        voters = {v["step_name"]: v for v in c.execute(sa.select(votes).where(
            votes.c.approval_id == inst["id"], votes.c.decision == "approve")).mappings()}
        assert "manager" in voters
        if rec["amount"] > 5000:
            assert "vp" in voters, "an order above 5000 approved without the vp"
            people = {u.username: u.roles for u in self.jimu.users.list()}
            assert "vp" in people[voters["vp"]["on_behalf_of"]]


WorkflowMachine.TestCase.settings = settings(max_examples=6, stateful_step_count=30, deadline=None,
                                             suppress_health_check=list(HealthCheck))
TestWorkflowMachine = WorkflowMachine.TestCase

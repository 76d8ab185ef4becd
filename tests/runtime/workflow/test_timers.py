"""Timers: 48 h escalation, conditional auto-cancel, cancel on leaving, set on a linked record."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from jimu.core import clock
from jimu.platform.audit import query_audit
from jimu.runtime.scheduler import run_due_jobs
from jimu.runtime.workflow import list_inbox
from jimu.runtime.workflow.tables import jobs
from tests.runtime.workflow.conftest import SO_WORKFLOW, World, build_sales_app, make_users


def tick(world, hours):
    now = clock.get_clock().advance(timedelta(hours=hours))  # type: ignore[attr-defined]
    return run_due_jobs(world.jimu, now, "test")


def test_48h_pending_escalates_to_approvers_manager(world):
    world.stock()
    so = world.order("1000")
    world.fire(so["id"], "submit", "sales")
    assert tick(world, 47) == 1  # the 30-minute unpaid check (its condition is false: no effect)
    with world.jimu.db.read() as c:
        assert [e for e in list_inbox(c, world.app, "vp") if e["kind"] == "escalation"] == []
    assert tick(world, 2) == 1
    with world.jimu.db.read() as c:
        entries = list_inbox(c, world.app, "vp")
        audit = query_audit(c, world.app, entity="sales_order", record=str(so["id"]))
    esc = [e for e in entries if e["kind"] == "escalation"]
    assert len(esc) == 1 and esc[0]["record"] == so["id"] and set(esc[0]) >= {"id", "kind", "title", "entity",
                                                                              "record", "at", "read"}
    assert audit[0]["action"] == "escalate" and "vp" in audit[0]["summary"]["en"]
    assert world.fire(so["id"], "approve", "vp")["state"] == "approved"  # the escalated manager may decide
    assert tick(world, 100) == 0


def test_leaving_the_state_cancels_timers(world):
    world.stock()
    so = world.order("1000")
    world.fire(so["id"], "submit", "sales")
    world.fire(so["id"], "approve", "manager")
    with world.jimu.db.read() as c:
        statuses = sorted(c.execute(sa.select(jobs.c.status)).scalars())
    assert statuses == ["cancelled", "cancelled"]
    assert tick(world, 100) == 0


def test_unpaid_online_order_cancelled_after_30_min(world):
    world.stock("10")
    online = world.order("100", qty="4", channel="online", payment_status="unpaid")
    shop = world.order("100", qty="1", channel="shop")
    world.fire(online["id"], "submit", "sales")
    world.fire(shop["id"], "submit", "sales")
    assert world.balance()["reserved"] == Decimal("5")
    tick(world, 0.6)
    rec = world.jimu.records.get(world.app, "sales_order", online["id"])
    assert rec["state"] == "cancelled"
    assert world.jimu.records.get(world.app, "sales_order", shop["id"])["state"] == "pending_approval"
    assert world.balance()["reserved"] == Decimal("1")


def test_set_action_freezes_customer(jimu, manual_clock):
    wf = {**SO_WORKFLOW, "timers": [{"name": "freeze", "state": "approved", "after": "P7D",
                                     "action": {"kind": "set", "target": "customer", "values": {"frozen": True}}}]}
    build_sales_app(jimu, workflow=wf)
    make_users(jimu)
    world = World(jimu)
    world.stock()
    so = world.order("100")
    world.fire(so["id"], "submit", "sales")
    world.fire(so["id"], "approve", "manager")
    assert tick(world, 24 * 8) == 1
    assert jimu.records.get(world.app, "customer", world.customer)["frozen"] is True


def test_notify_job_kind_and_read(world):
    from jimu.runtime.scheduler import schedule_job
    from jimu.runtime.workflow import mark_read

    with world.jimu.db.write() as c:
        schedule_job(c, "notify", clock.now(), app=world.app, payload={"user": "sales", "title": "hello"})
    assert tick(world, 0) == 1
    with world.jimu.db.write() as c:
        [entry] = list_inbox(c, world.app, "sales")
        assert entry["title"] == "hello" and entry["read"] is False
        assert mark_read(c, world.app, "sales", entry["id"])["read"] is True

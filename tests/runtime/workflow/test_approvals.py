"""Approvals: manager then vp above 5000, votes, rejection, delegation, vacancy, modes, inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jimu.core import clock
from jimu.core.errors import Conflict, PermissionDenied
from jimu.runtime.workflow import add_delegation, list_inbox
from tests.runtime.workflow.conftest import SO_WORKFLOW, World, build_sales_app, make_users


def inbox(world, user):
    with world.jimu.db.read() as c:
        return list_inbox(c, world.app, user)


def test_small_order_needs_manager_only(world):
    world.stock()
    so = world.order("1000")
    assert world.fire(so["id"], "submit", "sales")["state"] == "pending_approval"
    assert [e["kind"] for e in inbox(world, "manager")] == ["approval"]
    assert world.fire(so["id"], "approve", "manager")["state"] == "approved"
    assert inbox(world, "manager") == []


def test_big_order_needs_manager_then_vp(world):
    world.stock()
    so = world.order("6000")
    world.fire(so["id"], "submit", "sales")
    with pytest.raises(PermissionDenied):
        world.fire(so["id"], "approve", "vp")  # the manager step comes first
    assert world.fire(so["id"], "approve", "manager")["state"] == "pending_approval"
    with pytest.raises(PermissionDenied):
        world.fire(so["id"], "approve", "manager")  # already voted; step 2 is the vp's
    assert [e["title"] for e in inbox(world, "vp")][0].endswith("副总审批")
    assert world.fire(so["id"], "approve", "vp")["state"] == "approved"


def test_reject_ends_approval(world):
    world.stock()
    so = world.order("6000")
    world.fire(so["id"], "submit", "sales")
    world.fire(so["id"], "approve", "manager")
    assert world.fire(so["id"], "reject", "vp", comment="too big")["state"] == "rejected"


def test_decide_api_checks_step(world):
    world.stock()
    so = world.order("6000")
    world.fire(so["id"], "submit", "sales")
    with pytest.raises(Conflict):
        world.engine.decide(world.app, "sales_order", so["id"], 2, "approve", world.actor("vp"))
    world.engine.decide(world.app, "sales_order", so["id"], "manager", "approve", world.actor("manager"))
    rec = world.engine.decide(world.app, "sales_order", so["id"], 2, "approve", world.actor("vp"))
    assert rec["state"] == "approved"


def test_delegation_while_away(world):
    world.jimu.users.create("deputy", "deputy", ["sales"])
    world.stock()
    with world.jimu.db.write() as c:
        add_delegation(c, "manager", "deputy", until_at=clock.now() + timedelta(days=1))
    so = world.order("1000")
    world.fire(so["id"], "submit", "sales")
    assert [e["user"] for e in inbox(world, "deputy")] == ["manager"]
    assert world.fire(so["id"], "approve", "deputy")["state"] == "approved"
    clock.get_clock().advance(timedelta(days=2))  # type: ignore[attr-defined]
    so2 = world.order("1000")
    world.fire(so2["id"], "submit", "sales")
    with pytest.raises(PermissionDenied):
        world.fire(so2["id"], "approve", "deputy")


def test_vacant_vp_falls_back_to_admin(world):
    vp = world.jimu.users.by_name("vp")
    world.jimu.users.update(vp.id, {"active": False})
    world.stock()
    so = world.order("9000")
    world.fire(so["id"], "submit", "sales")
    world.fire(so["id"], "approve", "manager")
    assert world.fire(so["id"], "approve", "admin")["state"] == "approved"


@pytest.mark.parametrize("mode,n,needed", [("all", None, 3), ("n_of_m", 2, 2), ("any", None, 1)])
def test_modes(jimu, manual_clock, mode, n, needed):
    wf = {**SO_WORKFLOW, "transitions": [dict(t) for t in SO_WORKFLOW["transitions"]]}
    wf["transitions"][0] = {**wf["transitions"][0], "approval": {"steps": [
        {"name": "board", "mode": mode, "n": n, "approvers": [{"kind": "role", "value": "manager"}]}]}}
    build_sales_app(jimu, workflow=wf)
    make_users(jimu)
    jimu.users.create("manager2", "m2", ["manager"])
    jimu.users.create("manager3", "m3", ["manager"])
    world = World(jimu)
    world.stock()
    so = world.order("100")
    world.fire(so["id"], "submit", "sales")
    states = [world.fire(so["id"], "approve", u)["state"] for u in ("manager", "manager2", "manager3")[:needed]]
    assert states[-1] == "approved" and all(s == "pending_approval" for s in states[:-1])


def test_manager_chain_and_field_rules(jimu, manual_clock):
    wf = {**SO_WORKFLOW, "transitions": [dict(t) for t in SO_WORKFLOW["transitions"]]}
    wf["transitions"][0] = {**wf["transitions"][0], "approval": {"steps": [
        {"name": "boss", "approvers": [{"kind": "manager", "value": "1"}]},
        {"name": "owner", "approvers": [{"kind": "field", "value": "owner"}]},
        {"name": "expr", "approvers": [{"kind": "expression", "value": "IF(amount > 10, 'vp', 'admin')"}]}]}}
    build_sales_app(jimu, workflow=wf)
    make_users(jimu)
    world = World(jimu)
    world.stock()
    so = world.order("100", owner="finance")
    world.fire(so["id"], "submit", "sales")
    for user in ("manager", "finance", "vp"):
        rec = world.fire(so["id"], "approve", user)
    assert rec["state"] == "approved"


def test_no_step_applies_auto_approves(jimu, manual_clock):
    wf = {**SO_WORKFLOW, "transitions": [dict(t) for t in SO_WORKFLOW["transitions"]]}
    wf["transitions"][0] = {**wf["transitions"][0], "approval": {"steps": [
        {"name": "vp", "condition": "amount > 5000", "approvers": [{"kind": "role", "value": "vp"}]}]}}
    build_sales_app(jimu, workflow=wf)
    make_users(jimu)
    world = World(jimu)
    world.stock()
    assert world.fire(world.order("100")["id"], "submit", "sales")["state"] == "approved"

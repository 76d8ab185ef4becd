"""Transitions: legality, roles, inputs, guards, set, stored inputs, audit, atomicity."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from jimu.core.errors import (
    Conflict,
    GuardFailed,
    PermissionDenied,
    StockConflict,
    TransitionNotAllowed,
    ValidationError,
)
from jimu.platform.audit import query_audit


def approved_order(world, amount="1000"):
    world.stock()
    so = world.order(amount)
    world.fire(so["id"], "submit", "sales")
    world.fire(so["id"], "approve", "manager")
    if Decimal(amount) > 5000:
        world.fire(so["id"], "approve", "vp")
    return so


def test_illegal_transition_409_lists_allowed(world):
    so = world.order()
    with pytest.raises(TransitionNotAllowed) as ei:
        world.fire(so["id"], "complete", "sales")
    assert ei.value.status == 409
    assert ei.value.extra["allowed"] == ["submit", "cancel"]
    with pytest.raises(TransitionNotAllowed):
        world.fire(so["id"], "no_such", "sales")


def test_role_not_allowed_is_403_naming_transition(world):
    so = world.order()
    with pytest.raises(PermissionDenied) as ei:
        world.fire(so["id"], "submit", "warehouse")
    assert "submit" in ei.value.message and ei.value.status == 403


def test_direct_state_write_refused(world):
    so = world.order()
    with pytest.raises(Conflict) as ei:
        world.jimu.records.update(world.app, "sales_order", so["id"], {"state": "approved"})
    assert ei.value.status == 409


def test_guard_on_record_is_409(world):
    so = world.order(amount="0")
    with pytest.raises(GuardFailed) as ei:
        world.fire(so["id"], "submit", "sales")
    assert ei.value.message == "金额必须大于 0"


def test_ship_inputs_and_confirm_code(world):
    so = approved_order(world)
    with pytest.raises(ValidationError) as ei:
        world.fire(so["id"], "ship", "warehouse", {})
    assert {e.field for e in ei.value.errors} == {"warehouse_confirm_code", "logistics_no"}
    with pytest.raises(ValidationError) as ei:
        world.fire(so["id"], "ship", "warehouse", {"warehouse_confirm_code": "0000", "logistics_no": "SF1"})
    assert ei.value.status == 422
    assert [e.field for e in ei.value.errors] == ["warehouse_confirm_code"]
    with pytest.raises(ValidationError) as ei:
        world.fire(so["id"], "ship", "warehouse", {"warehouse_confirm_code": "8888", "logistics_no": "SF1", "x": 1})
    assert [e.field for e in ei.value.errors] == ["x"]
    after = world.fire(so["id"], "ship", "warehouse", {"warehouse_confirm_code": "8888", "logistics_no": "SF1"},
                       comment="out")
    assert after["state"] == "shipped" and after["logistics_no"] == "SF1"
    assert after["approved_at"] is not None  # set by approve's ``set``
    assert world.balance()["on_hand"] == Decimal("95") and world.balance()["reserved"] == 0


def test_transition_audit_row_with_summary(world):
    so = approved_order(world)
    with world.jimu.db.read() as c:
        rows = query_audit(c, world.app, entity="sales_order", record=str(so["id"]))
    actions = [r["action"] for r in reversed(rows)]
    assert actions == ["create", "transition", "approval", "transition"]
    last = rows[0]
    assert {"field": "state", "old": "pending_approval", "new": "approved"} in last["changes"]
    assert "approve" in last["summary"]["en"] and "pending_approval" in last["summary"]["zh"]


def test_reserve_conflict_rolls_back_everything(world):
    world.stock("3")
    so = world.order(qty="5")
    with pytest.raises(StockConflict):
        world.fire(so["id"], "submit", "sales")
    rec = world.jimu.records.get(world.app, "sales_order", so["id"])
    assert rec["state"] == "draft" and rec["version"] == so["version"]
    from jimu.runtime.workflow.tables import approvals, jobs

    with world.jimu.db.read() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(approvals)).scalar() == 0
        assert c.execute(sa.select(sa.func.count()).select_from(jobs)).scalar() == 0
    assert world.balance()["reserved"] == 0


def test_cancel_releases_reservations_from_any_state(world):
    world.stock("10")
    so = world.order(qty="4")
    world.fire(so["id"], "submit", "sales")
    assert world.balance()["reserved"] == Decimal("4")
    world.fire(so["id"], "cancel", "sales")
    assert world.balance()["reserved"] == 0 and world.balance()["available"] == Decimal("10")
    draft = world.order(qty="1")
    assert world.fire(draft["id"], "cancel", "sales")["state"] == "cancelled"  # nothing reserved: fine


def test_allowed_per_user(world):
    world.stock()
    so = world.order()
    assert world.engine.allowed(world.app, "sales_order", so, world.actor("sales")) == ["submit", "cancel"]
    assert world.engine.allowed(world.app, "sales_order", so["id"], world.actor("warehouse")) == []
    world.fire(so["id"], "submit", "sales")
    assert world.engine.allowed(world.app, "sales_order", so["id"], world.actor("manager")) == [
        "approve", "reject", "cancel"]
    assert world.engine.allowed(world.app, "sales_order", so["id"], world.actor("vp")) == []


def test_purchase_receive_and_adjustment_post(world):
    rt = world.jimu.records
    po = rt.create(world.app, "purchase_order", {"warehouse": world.wh, "lines": [
        {"item": world.item, "qty": "7", "price": "2.5"}]})
    for t, u in (("submit", "purchasing"), ("approve", "manager"), ("receive", "warehouse")):
        po = world.engine.fire(world.app, "purchase_order", po["id"], t, {}, world.actor(u))
    assert po["state"] == "received" and world.balance()["on_hand"] == Decimal("7")
    rt.create(world.app, "stock_adjustment", {"item": world.item, "warehouse": world.wh, "qty": "-2",
                                              "reason": "broken"})
    assert world.balance()["on_hand"] == Decimal("5")


def test_role_rights_may_grant_a_transition(jimu, manual_clock):
    """DESIGN 8: a role grants transitions per entity, in addition to the transition's roles."""
    from tests.runtime.workflow.conftest import World, build_sales_app, make_users

    build_sales_app(jimu)
    make_users(jimu)
    draft = jimu.store.draft("std").dump()
    finance = next(r for r in draft["roles"] if r["name"] == "finance")
    finance["entities"]["sales_order"]["transitions"] = ["cancel"]
    jimu.store.save_draft("std", draft)
    jimu.store.publish("std")
    world = World(jimu)
    so = world.order()
    with pytest.raises(PermissionDenied):
        world.fire(so["id"], "submit", "finance")  # not granted, not in the transition's roles
    assert world.fire(so["id"], "cancel", "finance")["state"] == "cancelled"

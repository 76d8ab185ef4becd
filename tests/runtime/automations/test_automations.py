"""Automations run once per committed event by the dispatcher; loops stop at the depth
limit and are reported by the spec validator."""

from __future__ import annotations

import sqlalchemy as sa

from jimu.runtime.automations import MAX_DEPTH, automation_findings
from jimu.runtime.events.dispatcher import run_once
from jimu.runtime.events.tables import automation_runs
from jimu.runtime.workflow.tables import inbox

TAG = {"name": "tag_service", "entity": "item", "trigger": {"type": "updated", "fields": ["name"]},
       "condition": "CONTAINS(name, 'svc')",
       "actions": [{"type": "set_fields", "values": {"kind": "'service'"}},
                   {"type": "notify", "users": ["boss"], "title": "service item renamed"},
                   {"type": "create_record", "entity": "warehouse", "values": {"name": "CONCAT('WH for ', sku)"}}]}
LOOP = {"name": "shout", "entity": "item", "trigger": {"type": "updated"},
        "actions": [{"type": "set_fields", "values": {"name": "CONCAT(name, '!')"}}]}


def _publish(jimu, *autos):
    for a in autos:
        jimu.store.put_element("shop", "automation", a["name"], a)
    jimu.store.publish("shop", author="admin")


def _drain(jimu):
    for _ in range(MAX_DEPTH + 3):
        if run_once(jimu)["dispatched"] == 0:
            return


def test_trigger_condition_and_actions(shop):
    _publish(shop, TAG)
    rec = shop.records.create("shop", "item", {"sku": "S1", "name": "plain"})
    shop.records.update("shop", "item", rec["id"], {"name": "plain svc"})
    _drain(shop)
    assert shop.records.get("shop", "item", rec["id"])["kind"] == "service"
    assert [w["name"] for w in shop.records.list("shop", "warehouse").data] == ["WH for S1"]
    with shop.db.read() as c:
        assert c.execute(sa.select(inbox.c.title).where(inbox.c.user == "boss")).scalars().all() == [
            "service item renamed"]
        runs = c.execute(sa.select(automation_runs.c.status)).scalars().all()
    assert runs == ["ok"]  # once, though the dispatcher ran several rounds


def test_condition_false_does_nothing(shop):
    _publish(shop, TAG)
    rec = shop.records.create("shop", "item", {"sku": "S2", "name": "a"})
    shop.records.update("shop", "item", rec["id"], {"name": "b"})
    _drain(shop)
    assert shop.records.get("shop", "item", rec["id"])["kind"] is None


def test_self_triggering_automation_is_stopped_and_reported(shop):
    _publish(shop, LOOP)
    findings = automation_findings(shop.apps.get("shop").spec)
    assert [f.id for f in findings] == ["AUT-W001"] and "shout" in findings[0].message
    rec = shop.records.create("shop", "item", {"sku": "L1", "name": "hey"})
    shop.records.update("shop", "item", rec["id"], {"name": "hi"})
    _drain(shop)
    assert shop.records.get("shop", "item", rec["id"])["name"] == "hi" + "!" * MAX_DEPTH
    with shop.db.read() as c:
        stopped = c.execute(sa.select(automation_runs).where(automation_runs.c.status == "loop_stopped")).all()
    assert len(stopped) == 1


def test_cycle_between_automations_is_reported(shop):
    a = {"name": "a", "entity": "item", "trigger": {"type": "created"},
         "actions": [{"type": "create_record", "entity": "warehouse", "values": {"name": "'x'"}}]}
    b = {"name": "b", "entity": "warehouse", "trigger": {"type": "created"},
         "actions": [{"type": "create_record", "entity": "item", "values": {"sku": "'y'"}}]}
    _publish(shop, a, b)
    ids = [f.id for f in automation_findings(shop.apps.get("shop").spec)]
    assert "AUT-W002" in ids

"""Schedule-triggered automations: the cron subset, one run per tick through leased jobs
(also with concurrent runners), and the food template's expiry quarantine."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from jimu.runtime.automations.schedule import JOB_KIND, next_tick, parse_cron
from jimu.runtime.due import run_due
from jimu.runtime.events.tables import automation_runs
from jimu.runtime.workflow.tables import jobs


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("cron", "after", "expected"), [
    ("0 8 * * *", _utc(2026, 3, 1, 7, 59), _utc(2026, 3, 1, 8, 0)),
    ("0 8 * * *", _utc(2026, 3, 1, 8, 0), _utc(2026, 3, 2, 8, 0)),  # strictly after
    ("*/15 * * * *", _utc(2026, 3, 1, 10, 7), _utc(2026, 3, 1, 10, 15)),
    ("*/15 * * * *", _utc(2026, 3, 1, 10, 45, 30), _utc(2026, 3, 1, 11, 0)),
    ("5,35 9-10 * * *", _utc(2026, 3, 1, 10, 36), _utc(2026, 3, 2, 9, 5)),
    ("0 9 * * 1", _utc(2026, 3, 1, 0, 0), _utc(2026, 3, 2, 9, 0)),  # 2026-03-01 is a Sunday
    ("0 9 * * 1-5", _utc(2026, 3, 6, 10, 0), _utc(2026, 3, 9, 9, 0)),  # Fri after 9 -> Mon
    ("0 0 * * 7", _utc(2026, 3, 2, 0, 0), _utc(2026, 3, 8, 0, 0)),  # 7 is Sunday too
    ("0 0 1 * *", _utc(2026, 1, 31, 12, 0), _utc(2026, 2, 1, 0, 0)),
    ("0 0 31 * *", _utc(2026, 2, 1, 0, 0), _utc(2026, 3, 31, 0, 0)),  # months without a 31st skipped
    ("0 0 29 2 *", _utc(2026, 3, 1, 0, 0), _utc(2028, 2, 29, 0, 0)),
    ("0 0 1 * 1", _utc(2026, 3, 1, 0, 0), _utc(2026, 3, 2, 0, 0)),  # dom OR dow when both restricted
    ("30 1-23/6 * * *", _utc(2026, 3, 1, 8, 0), _utc(2026, 3, 1, 13, 30)),
    ("0 12 * 6 *", _utc(2026, 7, 1, 0, 0), _utc(2027, 6, 1, 12, 0)),
])
def test_cron_next(cron, after, expected):
    assert next_tick({"type": "schedule", "cron": cron}, after) == expected


def test_cron_fields_and_errors():
    spec = parse_cron("1,2 */6 1-5 */3 0,6")
    assert spec.minutes == {1, 2} and spec.hours == {0, 6, 12, 18}
    assert spec.days == {1, 2, 3, 4, 5} and spec.months == {1, 4, 7, 10} and spec.weekdays == {0, 6}
    for bad in ("0 8 * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *",
                "*/0 * * * *", "a * * * *", "1,,2 * * * *", "0 8 * * * *"):
        with pytest.raises(ValueError):
            parse_cron(bad)


def test_timezone_and_every():
    # 08:00 in Shanghai is 00:00 UTC
    assert next_tick({"cron": "0 8 * * *", "timezone": "Asia/Shanghai"}, _utc(2026, 3, 1, 1, 0)) == _utc(2026, 3, 2, 0, 0)
    # DST: 09:00 in Berlin is 08:00 UTC in winter, 07:00 UTC in summer
    assert next_tick({"cron": "0 9 * * *", "timezone": "Europe/Berlin"}, _utc(2026, 3, 28, 12)) == _utc(2026, 3, 29, 7)
    assert next_tick({"every": "PT15M"}, _utc(2026, 3, 1, 10, 7, 12)) == _utc(2026, 3, 1, 10, 15)
    assert next_tick({"every": "PT15M"}, _utc(2026, 3, 1, 10, 15)) == _utc(2026, 3, 1, 10, 30)
    assert next_tick({"every": "P1D"}, _utc(2026, 3, 1, 10, 0)) == _utc(2026, 3, 2, 0, 0)
    for bad in ({"type": "schedule"}, {"every": "PT10S"}, {"every": "soon"}, {"cron": "0 8 * * *", "timezone": "Nowhere/X"}):
        with pytest.raises(Exception):  # noqa: B017,PT011 - ValueError or ZoneInfoNotFoundError
            next_tick(bad, _utc(2026, 3, 1))


def test_bad_schedule_is_a_publish_error(shop):
    from jimu.platform.specs import AppSpec
    from jimu.runtime.automations import automation_findings
    from jimu.runtime.automations.schedule import schedule_findings

    spec = shop.apps.get("shop").spec.model_dump()
    spec["automations"] = [{"name": "bad", "entity": "item", "trigger": {"type": "schedule", "cron": "0 25 * * *"},
                            "actions": []},
                           {"name": "good", "entity": "item", "trigger": {"type": "schedule", "every": "PT1H"},
                            "actions": []}]
    found = schedule_findings(AppSpec.model_validate(spec))
    assert [(f.id, f.path) for f in found] == [("AUT-E004", "automations.bad.trigger")]
    assert automation_findings(AppSpec.model_validate(spec)) == []  # the generic checks pass


DAILY = {"name": "daily_mark", "entity": "item", "trigger": {"type": "schedule", "cron": "0 8 * * *"},
         "condition": "active == true",
         "actions": [{"type": "notify", "users": ["boss"], "title": "daily"}]}


def _runs(jimu, name):
    with jimu.db.read() as c:
        return c.execute(sa.select(automation_runs.c.status, automation_runs.c.record).where(
            automation_runs.c.automation == name).order_by(automation_runs.c.id)).all()


def _advance_to(manual_clock, target):
    manual_clock.advance(target - manual_clock.now())
    return manual_clock.now()


def test_daily_schedule_runs_once_per_day_with_concurrent_runners(shop, manual_clock):
    shop.store.put_element("shop", "automation", DAILY["name"], DAILY)
    shop.store.publish("shop", author="admin")
    a = shop.records.create("shop", "item", {"sku": "A", "name": "a"})
    shop.records.create("shop", "item", {"sku": "B", "name": "b", "active": False})
    start = manual_clock.now()
    run_due(shop, start)
    assert _runs(shop, "daily_mark") == []
    for hour in range(1, 3 * 24 + 1, 3):  # 3 days in 3-hour steps, two runners each time
        now = _advance_to(manual_clock, start + timedelta(hours=hour))
        errors: list[BaseException] = []

        def go(at=now, errors=errors):
            try:
                for r in run_due(shop, at):
                    assert r["ok"], r
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
    runs = _runs(shop, "daily_mark")
    assert [r.status for r in runs] == ["ok"] * 3
    assert {r.record for r in runs} == {str(a["id"])}  # condition: the inactive item is skipped
    with shop.db.read() as c:
        pending = c.execute(sa.select(jobs.c.due_at).where(jobs.c.kind == JOB_KIND, jobs.c.status == "pending")).all()
    assert len(pending) == 1


def test_clock_jump_coalesces_missed_ticks(shop, manual_clock):
    shop.store.put_element("shop", "automation", DAILY["name"], DAILY)
    shop.store.publish("shop", author="admin")
    shop.records.create("shop", "item", {"sku": "A", "name": "a"})
    now = manual_clock.advance(timedelta(days=3, hours=1))
    run_due(shop, now)
    run_due(shop, now)
    assert len(_runs(shop, "daily_mark")) == 1


def test_disabled_or_removed_schedule_does_not_run(shop, manual_clock):
    shop.store.put_element("shop", "automation", DAILY["name"], {**DAILY, "enabled": False})
    shop.store.publish("shop", author="admin")
    shop.records.create("shop", "item", {"sku": "A", "name": "a"})
    run_due(shop, manual_clock.advance(timedelta(days=2)))
    assert _runs(shop, "daily_mark") == []


def test_food_template_quarantines_expired_batches(jimu, manual_clock):
    from jimu.platform.ledger import balances, receipt
    from jimu.templates_market.installer import install_template

    install_template(jimu, "food", "food", sample_data=False)
    spec = jimu.apps.get("food").spec
    auto = next(a for a in spec.automations if a.name == "quarantine_expired")
    assert {"type": "ledger_quarantine", "ledger": "stock"} in auto.actions
    wh = jimu.records.create("food", "warehouse", {"name": "WH1", "confirm_code": "1234"})
    item = jimu.records.create("food", "item", {"sku": "MILK", "name": "milk"})
    today = manual_clock.now().date()
    expired = jimu.records.create("food", "batch", {"item": item["id"], "batch_no": "B-OLD",
                                                    "expiry_date": (today - timedelta(days=1)).isoformat()})
    fresh = jimu.records.create("food", "batch", {"item": item["id"], "batch_no": "B-NEW",
                                                  "expiry_date": (today + timedelta(days=200)).isoformat()})
    lg = spec.ledger("stock")
    with jimu.db.write() as c:
        receipt(c, "food", lg, {"item": item["id"], "warehouse": wh["id"], "batch": expired["id"]}, 10)
        receipt(c, "food", lg, {"item": item["id"], "warehouse": wh["id"], "batch": fresh["id"]}, 5)
    start = manual_clock.now()
    next_one = start.replace(hour=1, minute=0, second=0, microsecond=0)
    if next_one <= start:
        next_one += timedelta(days=1)
    run_due(jimu, _advance_to(manual_clock, next_one + timedelta(minutes=5)))
    assert jimu.records.get("food", "batch", expired["id"])["quality_status"] == "quarantine"
    assert jimu.records.get("food", "batch", fresh["id"])["quality_status"] == "available"
    with jimu.db.read() as c:
        old = balances(c, "food", lg, batch=expired["id"])
        new = balances(c, "food", lg, batch=fresh["id"])
    assert len(old) == 1 and old[0]["quarantine"] == 10 and old[0]["available"] == 0
    assert new[0]["available"] == 5 and new[0]["quarantine"] == 0
    assert [r.status for r in _runs(jimu, "quarantine_expired")] == ["ok"]
    # the next day: already quarantined, nothing more happens
    run_due(jimu, manual_clock.advance(timedelta(days=1)))
    assert [r.status for r in _runs(jimu, "quarantine_expired")] == ["ok"]

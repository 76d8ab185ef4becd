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
    # Start at 12:00 UTC so the three 08:00 ticks fall at +20 h, +44 h and +68 h, inside the
    # 3-hour steps below whatever the wall clock says (started at 08:50 the third tick came at
    # +71 h, after the last step, and the test saw two runs).
    now = manual_clock.now()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    _advance_to(manual_clock, noon if noon > now else noon + timedelta(days=1))
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
    # setting quality_status moves the stock (the batch quality listener), no separate action
    assert [a["type"] for a in auto.actions] == ["set_fields"]
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
    assert jimu.records.get("food", "batch", fresh["id"])["quality_status"] == "released"
    with jimu.db.read() as c:
        old = balances(c, "food", lg, batch=expired["id"])
        new = balances(c, "food", lg, batch=fresh["id"])
    assert len(old) == 1 and old[0]["quarantine"] == 10 and old[0]["available"] == 0
    assert new[0]["available"] == 5 and new[0]["quarantine"] == 0
    assert [r.status for r in _runs(jimu, "quarantine_expired")] == ["ok"]
    # the next day: already quarantined, nothing more happens
    run_due(jimu, manual_clock.advance(timedelta(days=1)))
    assert [r.status for r in _runs(jimu, "quarantine_expired")] == ["ok"]


def _tick_jobs(jimu, name):
    with jimu.db.read() as c:
        return c.execute(sa.select(jobs.c.id, jobs.c.status, jobs.c.attempts, jobs.c.due_at, jobs.c.last_error,
                                   jobs.c.payload).where(jobs.c.kind == JOB_KIND, jobs.c.name == name)
                         .order_by(jobs.c.id)).all()


def test_failing_tick_backs_off_then_is_marked_failed_not_requeued(shop, manual_clock, monkeypatch):
    from jimu.runtime.automations import schedule
    from jimu.runtime.scheduler.jobs import MAX_ATTEMPTS

    shop.store.put_element("shop", "automation", DAILY["name"], DAILY)
    shop.store.publish("shop", author="admin")
    shop.records.create("shop", "item", {"sku": "A", "name": "a"})
    real = schedule._matching_ids

    def broken(*args, **kwargs):
        raise RuntimeError("the condition cannot run")

    monkeypatch.setattr(schedule, "_matching_ids", broken)
    start = manual_clock.now()
    run_due(shop, start)
    [first] = _tick_jobs(shop, "daily_mark")
    tick = first.due_at
    delays = []  # how long after a failed attempt the next one is due
    now = _advance_to(manual_clock, tick.replace(tzinfo=UTC) + timedelta(minutes=1))
    for _ in range(60):  # five hours in 5-minute steps, a due-runner pass each
        before = _tick_jobs(shop, "daily_mark")[0].attempts
        run_due(shop, now)
        rows = _tick_jobs(shop, "daily_mark")
        if rows[0].status == "pending" and rows[0].attempts > before:
            delays.append(rows[0].due_at.replace(tzinfo=UTC) - now)
        now = _advance_to(manual_clock, now + timedelta(minutes=5))
    rows = _tick_jobs(shop, "daily_mark")
    assert rows[0].status == "failed" and rows[0].attempts == MAX_ATTEMPTS
    assert "the condition cannot run" in rows[0].last_error
    assert len(delays) == MAX_ATTEMPTS - 1 and delays[0] > timedelta(0)
    assert all(b > a for a, b in zip(delays, delays[1:], strict=False))  # exponential backoff
    # the failed tick is recorded where the designer looks, and the schedule moves on
    runs = _runs(shop, "daily_mark")
    assert [r.status for r in runs] == ["failed"]
    with shop.db.read() as c:
        detail = c.execute(sa.select(automation_runs.c.detail).where(
            automation_runs.c.automation == "daily_mark")).scalar_one()
    assert "the condition cannot run" in detail and f"after {MAX_ATTEMPTS} attempts" in detail
    assert len(rows) == 2 and rows[1].status == "pending"  # only the next day's tick, not the failed one again
    assert rows[1].due_at > tick and rows[1].payload["tick"] != rows[0].payload["tick"]
    # fixed before the next day: that tick runs normally
    monkeypatch.setattr(schedule, "_matching_ids", real)
    run_due(shop, _advance_to(manual_clock, rows[1].due_at.replace(tzinfo=UTC) + timedelta(minutes=1)))
    assert [r.status for r in _runs(shop, "daily_mark")] == ["failed", "ok"]
    assert len(_tick_jobs(shop, "daily_mark")) == 3


def test_scheduled_and_event_automations_share_the_engine_path(shop, manual_clock, monkeypatch):
    """A schedule runs its actions through ``engine.run_automation`` (one transaction per
    record: a record whose action fails is rolled back and logged alone), like a record
    event does: the tick emits ``schedule.fired`` events the dispatcher hands to the
    engine."""
    from jimu.runtime.automations import engine

    calls: list[tuple[str, str | None]] = []
    real = engine.run_automation

    def spy(jimu, auto, event, actor, **kwargs):
        calls.append((auto.name, str(event["kind"])))
        return real(jimu, auto, event, actor, **kwargs)

    monkeypatch.setattr(engine, "run_automation", spy)
    hourly = {"name": "rename", "entity": "item", "trigger": {"type": "schedule", "every": "PT1H"},
              "condition": "active == true",
              # the second record's run fails: its new item clashes with the first's on the unique sku
              "actions": [{"type": "set_fields", "values": {"name": "CONCAT(name, ' checked')"}},
                          {"type": "create_record", "entity": "item", "values": {"sku": "'DUP'"}}]}
    on_create = {"name": "note", "entity": "warehouse", "trigger": {"type": "created"},
                 "actions": [{"type": "notify", "users": ["boss"], "title": "new warehouse"}]}
    shop.store.put_element("shop", "automation", "rename", hourly)
    shop.store.put_element("shop", "automation", "note", on_create)
    shop.store.publish("shop", author="admin")
    a = shop.records.create("shop", "item", {"sku": "A", "name": "a"})
    b = shop.records.create("shop", "item", {"sku": "B", "name": "b"})
    shop.records.create("shop", "warehouse", {"name": "W"})
    from jimu.runtime.events.dispatcher import run_once

    run_once(shop)
    run_due(shop, manual_clock.now())
    run_due(shop, manual_clock.advance(timedelta(hours=1, minutes=1)))
    assert ("note", "record.created") in calls
    assert [c for c in calls if c[0] == "rename"] == [("rename", "schedule.fired")] * 2
    # the first record's run created DUP; the second clashed on the unique sku and was
    # rolled back alone (its rename too), logged as an error by the shared path
    assert shop.records.get("shop", "item", a["id"])["name"] == "a checked"
    assert shop.records.get("shop", "item", b["id"])["name"] == "b"
    runs = _runs(shop, "rename")
    assert [(r.status, r.record) for r in runs] == [("ok", str(a["id"])), ("error", str(b["id"]))]

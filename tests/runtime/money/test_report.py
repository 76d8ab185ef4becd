"""The aging report (buckets at their boundaries, rights, the dashboard table, the per-caller
OpenAPI) and the overdue notices fired by the scheduler's recurring job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.core import clock as clock_mod
from jimu.core.errors import NotFound, PermissionDenied
from jimu.platform.actor import Actor
from jimu.runtime.access import AccessPolicy
from tests.runtime.money.conftest import APP, MoneyApp

NOW = datetime(2026, 3, 31, 8, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def frozen() -> Iterator[clock_mod.ManualClock]:
    clock = clock_mod.ManualClock(frozen=NOW)
    previous = clock_mod.set_clock(clock)
    yield clock
    clock_mod.set_clock(previous)


def _policy(money: MoneyApp, role: str) -> AccessPolicy:
    return AccessPolicy.for_actor(money.jimu, APP, Actor(role, (role,)))


def _aged(money: MoneyApp, days: list[int]) -> int:
    """A customer with one 1.00 × 2^i invoice due ``days[i]`` days ago."""
    c = money.customer()
    for i, d in enumerate(days):
        money.invoice(c, str(Decimal(2) ** i), due_date=TODAY - timedelta(days=d))
    return c


def test_buckets_at_their_boundaries(money: MoneyApp, frozen: Any) -> None:
    """Days past due -5, 0, 30 → 0-30; 31, 60 → 31-60; 61, 90 → 61-90; 91, 400 → 90+.
    Amounts 1, 2, 4, ... 256 make every bucket's sum name its invoices: 0-30 = 1+2+4 = 7,
    31-60 = 8+16 = 24, 61-90 = 32+64 = 96, 90+ = 128+256 = 384, total 511.
    Mutation tried: ``due >= d30`` as ``due > d30`` (30 days past due lands in 31-60) fails."""
    from jimu.runtime.money.report import aging_report

    c = _aged(money, [-5, 0, 30, 31, 60, 61, 90, 91, 400])
    report = aging_report(_policy(money, "finance"), "receivable")
    row = next(r for r in report["data"] if r["partner"] == c)
    assert {k: row[k] for k in ("0-30", "31-60", "61-90", "90+", "total")} == {
        "0-30": "7.00", "31-60": "24.00", "61-90": "96.00", "90+": "384.00", "total": "511.00"}
    assert row["partner_name"].startswith("客户")
    assert report["as_of"] == "2026-03-31" and report["currency"] == "CNY"
    assert aging_report(_policy(money, "finance"), "payable")["data"] == []


def test_rights_and_the_dashboard_table(money: MoneyApp, frozen: Any) -> None:
    from jimu.runtime.api.openapi import build_openapi
    from jimu.runtime.money.report import aging_report
    from jimu.runtime.screens.dash_spec import spec_dashboard

    _aged(money, [10])
    with pytest.raises(PermissionDenied):
        aging_report(_policy(money, "sales"), "receivable")  # reads sales invoices, no export
    with pytest.raises(NotFound):
        aging_report(_policy(money, "warehouse"), "receivable")  # no invoice rights at all
    for role in ("finance", "manager", "admin"):
        assert aging_report(_policy(money, role), "receivable")["data"], role
    dash = next(d for d in money.jimu.apps.get(APP).spec.dashboards if d.name == "finance")
    tables = [c for c in spec_dashboard(_policy(money, "finance"), dash, "en") if c.get("columns")]
    assert tables[0]["columns"] == ["Customer", "0-30", "31-60", "61-90", "90+", "Total"]
    assert tables[0]["rows"][0][1:] == ["1.00", "0.00", "0.00", "0.00", "1.00"]
    assert not [c for c in spec_dashboard(_policy(money, "sales"), dash, "en") if c.get("columns")]
    paths = {r: build_openapi(_policy(money, r))["paths"] for r in ("finance", "sales")}
    assert f"/api/apps/{APP}/reports/aging" in paths["finance"]
    assert f"/api/apps/{APP}/reports/aging" not in paths["sales"]


def test_overdue_notices_on_the_scheduler_once(money: MoneyApp, frozen: Any) -> None:
    """The recurring ``money.overdue`` job (queued like any scheduler job, fired by
    ``run_due_jobs``) notifies sales and finance once per overdue sales invoice.
    Mutation tried: claiming without ``due_date < today`` notifies the invoice not yet due."""
    from jimu.runtime.scheduler.jobs import run_due_jobs
    from jimu.runtime.stock.sweeps import ensure_periodic_jobs
    from jimu.runtime.workflow.tables import inbox

    for name, role in (("s1", "sales"), ("f1", "finance"), ("w1", "warehouse")):
        money.jimu.users.ensure(name, name, [role])
    c = money.customer()
    late = money.invoice(c, "10.00", due_date=TODAY - timedelta(days=1))
    money.invoice(c, "20.00", due_date=TODAY)  # due today: not overdue yet
    ensure_periodic_jobs(money.jimu, NOW)
    for hours in (2, 3):  # two runs of the hourly job
        run_due_jobs(money.jimu, NOW + timedelta(hours=hours), "w", 100)
    with money.jimu.db.read() as conn:
        rows = conn.execute(sa.select(inbox.c.user, inbox.c.record).where(
            inbox.c.app == APP, inbox.c.entity == "invoice")).all()
    assert sorted(rows) == [("f1", late["id"]), ("s1", late["id"])]
    assert money.get("invoice", late["id"])["overdue_notified_at"] is not None

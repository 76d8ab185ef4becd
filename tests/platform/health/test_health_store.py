"""Finding states persist across scans (on SQLite and PostgreSQL) and history keeps scores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jimu.core.errors import NotFound, ValidationError
from jimu.platform.health.store import list_findings, scan_and_store, scan_history, set_finding_state
from tests.platform.health.health_fixtures import FIXTURES, base_spec, ctx_of


def _dm05_spec(label: str = "客户") -> dict:  # type: ignore[type-arg]
    spec = base_spec()
    field = spec["entities"][3]["fields"][1]
    field["options"].pop("on_delete")
    field["label"] = label
    return spec


def test_scan_stores_findings_and_history(system_db) -> None:
    report = scan_and_store(system_db, ctx_of(_dm05_spec()))
    assert [f.rule for f in report.findings] == ["DM-05"]
    rows = list_findings(system_db, "shop")
    assert len(rows) == 1 and rows[0]["state"] == "open" and rows[0]["rule"] == "DM-05"
    assert rows[0]["first_seen"] == rows[0]["last_seen"]
    history = scan_history(system_db, "shop")
    assert history[0]["score"] == report.score and history[0]["categories"]["DM"] == 92
    assert history[0]["counts"] == {"medium": 1}


def test_dismissed_finding_stays_dismissed_until_the_element_changes(system_db, manual_clock) -> None:
    fid = scan_and_store(system_db, ctx_of(_dm05_spec())).findings[0].id
    with pytest.raises(ValidationError):
        set_finding_state(system_db, "shop", fid, "false_positive", "", "admin")
    row = set_finding_state(system_db, "shop", fid, "false_positive", "customers are never deleted", "admin")
    assert row["state"] == "false_positive" and row["state_by"] == "admin"
    manual_clock.advance(timedelta(hours=1))
    again = scan_and_store(system_db, ctx_of(_dm05_spec()))
    assert again.findings[0].state == "false_positive" and again.score == 100
    assert again.findings[0].reason == "customers are never deleted"
    changed = scan_and_store(system_db, ctx_of(_dm05_spec(label="买家")))
    assert changed.findings[0].id == fid and changed.findings[0].state == "open"
    assert list_findings(system_db, "shop")[0]["reason"] is None


def test_snooze_expires_and_fixed_findings_close_and_reopen(system_db, manual_clock) -> None:
    fid = scan_and_store(system_db, ctx_of(_dm05_spec())).findings[0].id
    with pytest.raises(ValidationError):
        set_finding_state(system_db, "shop", fid, "snoozed", "later", "admin")
    until = manual_clock.now() + timedelta(days=1)
    set_finding_state(system_db, "shop", fid, "snoozed", "after the release", "admin", snoozed_until=until)
    assert scan_and_store(system_db, ctx_of(_dm05_spec())).findings[0].state == "snoozed"
    manual_clock.advance(timedelta(days=2))
    assert scan_and_store(system_db, ctx_of(_dm05_spec())).findings[0].state == "open"
    clean = scan_and_store(system_db, ctx_of(base_spec()))
    assert clean.findings == [] and list_findings(system_db, "shop", state="fixed")[0]["id"] == fid
    assert scan_and_store(system_db, ctx_of(_dm05_spec())).findings[0].state == "open"
    assert len(scan_history(system_db, "shop")) == 5


def test_set_state_errors(system_db) -> None:
    with pytest.raises(NotFound):
        set_finding_state(system_db, "shop", "nope", "wont_fix", "x", "admin")
    fid = scan_and_store(system_db, ctx_of(_dm05_spec())).findings[0].id
    with pytest.raises(ValidationError):
        set_finding_state(system_db, "shop", fid, "closed", "x", "admin")
    assert set_finding_state(system_db, "shop", fid, "wont_fix", "legacy data", "ops")["state"] == "wont_fix"


def test_many_findings_round_trip(system_db) -> None:
    ctx = FIXTURES["PF-04"][0]()
    ctx.app.entities[3].fields[1].options.pop("on_delete")
    report = scan_and_store(system_db, ctx)
    assert len(list_findings(system_db, "shop")) == len(report.findings) >= 2

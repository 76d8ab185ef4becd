"""The usage-driven health rules judge real data: a standard app installed from the market,
its records, users, API keys, audit and failed jobs, scanned through
``GET /api/apps/{app}/health`` and ``jimu scan`` (no hand-made ScanContext).

Each rule is shown firing and not firing on the same installation. The installation-wide
thresholds (100,000 rows, 20 apps, 1,000 runs) are lowered so that a test-sized
installation crosses them; the facts themselves come from the database.

Mutations this catches (each makes a test fail): ``app_stats`` without ``field_writes``
(DM-03 silent), without ``rows`` (PF-03 silent), without ``api_keys`` (PS-04 silent),
``role_holders`` listing only roles somebody holds (WF-04 silent: a vacant role reads as
unknown); ``cbu_usage`` returning ``{}`` or counting every app as using every unit (MG-01
silent), ``cbu_usage`` ignoring failed jobs (MG-02 silent); ``scan_context`` not adding
the runtime facts (the API tests fail; the CLI adds them itself).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.cli import main
from jimu.core import clock
from jimu.platform.actor import SYSTEM
from jimu.platform.health.rules import mg, pf
from jimu.runtime.api.app import create_app
from jimu.runtime.api.auth import create_api_key
from jimu.runtime.context import Jimu
from jimu.runtime.scheduler.jobs import register_job_kind, run_due_jobs, schedule_job
from jimu.templates_market.installer import install_cbus, install_template

APP = "shop"
PLAIN = {"name": "plain", "label": {"zh": "便签", "en": "Notes"},
         "entities": [{"name": "note", "label": {"zh": "便签", "en": "Note"},
                       "fields": [{"name": "text", "type": "text", "label": {"zh": "内容", "en": "Text"}}]}]}


def _hits(report: dict[str, Any], rule: str) -> set[str]:
    return {f["element"] for f in report["findings"] if f["rule"] == rule and f["state"] == "open"}


@pytest.fixture
def installed(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Jimu, TestClient]]:
    """``shop``: the standard template with its sample data; ``bare``: the same without
    data; ``plain``: a hand-made app that installed no unit, then the ``item`` unit."""
    monkeypatch.setattr(pf, "BIG_TABLE", 20)  # the sample data: 30 sales orders, 12 purchase orders
    monkeypatch.setattr(mg, "MIN_APPS", 3)
    monkeypatch.setattr(mg, "REUSE_FLOOR", 0.7)  # 2 of 3 apps is below, 3 of 3 above
    monkeypatch.setattr(mg, "MIN_EVENTS", 20)
    jimu = Jimu.open(db_url)
    install_template(jimu, APP, "standard", sample_data=True)
    install_template(jimu, "bare", "standard", sample_data=False)
    jimu.store.create_app("plain")
    jimu.store.save_draft("plain", PLAIN)
    jimu.store.publish("plain")
    jimu.users.create("root", "root-password", ["admin"])
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        r = client.post("/api/auth/token", json={"username": "root", "password": "root-password"})
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield jimu, client
    jimu.close()


def _report(client: TestClient, app: str = APP) -> dict[str, Any]:
    r = client.get(f"/api/apps/{app}/health")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_fill_rates_row_counts_and_api_keys(installed: tuple[Jimu, TestClient]) -> None:
    jimu, client = installed
    report = _report(client)
    # DM-03: no sample warehouse has a keeper; PF-03: SUM(lines.amount) on 30 sales orders
    # (over the lowered 20), not on 12 purchase orders
    assert "field:warehouse.keeper" in _hits(report, "DM-03")
    assert "field:warehouse.name" not in _hits(report, "DM-03")
    assert _hits(report, "PF-03") == {"field:sales_order.amount"}
    bare = _report(client, "bare")
    assert _hits(bare, "DM-03") == set() and _hits(bare, "PF-03") == set()  # same spec, no records
    assert _hits(report, "PS-04") == set()

    wh = jimu.records.list(APP, "warehouse", limit=1).data[0]
    jimu.records.update(APP, "warehouse", wh["id"], {"keeper": "root"}, actor=SYSTEM)
    create_api_key(jimu, APP, "admin", "erp-sync", SYSTEM)
    create_api_key(jimu, APP, "sales", "shop-front", SYSTEM)
    create_api_key(jimu, "bare", "admin", "elsewhere", SYSTEM)
    report = _report(client)
    assert "field:warehouse.keeper" not in _hits(report, "DM-03")  # written once: used
    ps04 = [f for f in report["findings"] if f["rule"] == "PS-04"]
    assert [f["path"] for f in ps04] == ["api_keys.erp-sync"], ps04


def test_reuse_and_failure_rates(installed: tuple[Jimu, TestClient]) -> None:
    jimu, client = installed
    report = _report(client)
    assert {"cbu:item", "cbu:customer", "cbu:sales_order"} <= _hits(report, "MG-01")  # 2 of 3 apps
    install_cbus(jimu, "plain", [("item", None)], sample_data=False)
    report = _report(client)
    assert "cbu:item" not in _hits(report, "MG-01") and "cbu:customer" in _hits(report, "MG-01")
    assert _hits(report, "MG-02") == set()

    for i in range(25):  # 25 runs of the customer unit (audit rows)
        jimu.records.create(APP, "customer", {"name": f"C{i}"}, actor=SYSTEM)
    for i in range(25):
        jimu.records.create(APP, "item", {"sku": f"X-{i}", "name": f"X{i}"}, actor=SYSTEM)

    def boom(ctx: Any) -> None:
        raise RuntimeError("credit check service down")

    register_job_kind("test_credit_check", boom)
    with jimu.db.write() as c:
        schedule_job(c, "test_credit_check", clock.now(), app=APP, entity="customer", record=1)
    at = clock.now()
    for attempt in range(3):  # retried with backoff, then marked failed
        at += timedelta(seconds=30 * 2 ** (attempt + 1))
        run_due_jobs(jimu, at, "t")
    report = _report(client)
    assert _hits(report, "MG-02") == {"cbu:customer"}  # 1 failure in 26 runs; item: 0 in 26


def test_approval_roles_nobody_holds_through_jimu_scan(installed: tuple[Jimu, TestClient], db_url: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    jimu, _ = installed

    def scan() -> set[str]:
        code = main(["-d", db_url, "scan", APP, "--format", "json"])
        out = capsys.readouterr().out
        assert code in (0, 1), out
        return _hits(json.loads(out), "WF-04")

    # manager / vp steps fall back to admin, held by root: nobody else needed
    assert scan() == set()
    root = jimu.users.by_name("root")
    assert root is not None
    jimu.users.update(root.id, {"active": False})  # the only admin leaves
    assert scan() == {"transition:sales_order.submit", "transition:purchase_order.submit"}
    jimu.users.create("mia", "mia-password", ["manager"])
    assert scan() == {"transition:sales_order.submit"}  # the vp step: no vp, no admin
    jimu.users.create("vic", "vic-password", ["vp"])
    assert scan() == set()

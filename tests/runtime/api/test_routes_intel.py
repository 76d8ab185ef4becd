"""The intelligence report routes over HTTP (both databases): figures as the report
functions give them, problem+json refusals with stable codes, the per-caller OpenAPI and
the dashboard panels left out for a caller a report refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from tests.bearer import BearerClient
from tests.runtime.intel.conftest import APP, IntelApp, open_intel

ROLES = ("admin", "manager", "purchasing", "sales", "warehouse")
BASE = f"/api/apps/{APP}/reports"


Http = BearerClient


@pytest.fixture
def intel(db_url: str) -> Iterator[IntelApp]:
    with open_intel(db_url) as app:
        yield app


@pytest.fixture
def http(intel: IntelApp) -> Iterator[tuple[Http, IntelApp]]:
    for role in ROLES:
        intel.jimu.users.create(role, role, [role])
    with TestClient(create_app(intel.jimu), raise_server_exceptions=False) as client:
        yield Http(client), intel


def _problem(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.json()


def test_reports_over_http(http: tuple[Http, IntelApp]) -> None:
    """P sold 4 + 6 + 10 in the 10 days to 03-10 (the figures of test_replenishment), Q bought
    from S1 before: the routes answer what the report functions compute, and the draft PO for
    Q goes to S1 with P refused (no supplier).
    Mutation tried: dropping the unknown-parameter check (``?foo=1`` answered 200) fails."""
    api, intel = http
    p, q = intel.item("P1", "蓝莓", cost_price="2"), intel.item("Q1", "山药", cost_price="1")
    intel.stock(p, "30")
    intel.stock(q, "100")
    for qty, day in (("4", date(2026, 3, 2)), ("6", date(2026, 3, 5)), ("10", date(2026, 3, 9))):
        intel.sell(p, qty, day)
    s1 = intel.supplier("S1")
    intel.purchase(q, s1, date(2026, 3, 1))
    r = api.get("manager", BASE + "/replenishment", warehouse=intel.warehouse, days=10, lead_time_days=4,
                cover_days=5)
    assert r.status_code == 200, r.text
    row = next(x for x in r.json()["data"] if x["item"] == p)
    # nothing on order here: position 10, so 19.6053 + 2 × 5 − 10 = 19.6053 → 20
    assert (row["safety_stock"], row["reorder_point"], row["suggested_qty"]) == ("11.6053", "19.6053", "20.0000")
    _problem(api.get("purchasing", BASE + "/replenishment"), 403, "forbidden.report")
    _problem(api.get("manager", BASE + "/replenishment", foo=1), 422, "validation")
    _problem(api.get("manager", BASE + "/replenishment", service_level="1.5"), 422, "report.param")
    r = api.post("purchasing", BASE + "/replenishment/orders",
                 {"warehouse": intel.warehouse, "rows": [{"item": p, "qty": "15"}, {"item": q, "qty": "5"}]})
    assert r.status_code == 201, r.text
    assert [o["supplier"] for o in r.json()["orders"]] == [s1]
    assert [x["item"] for x in r.json()["refused"]] == [p]
    _problem(api.post("purchasing", BASE + "/replenishment/orders",
                      {"warehouse": intel.warehouse, "rows": [{"item": p, "qty": "1"}]}), 422,
             "replenishment.no_supplier")

    r = api.get("manager", BASE + "/forecast", item=p, weeks=2, history_weeks=2)
    assert r.status_code == 200, r.text
    assert [h["qty"] for h in r.json()["history"]] == ["4.00", "16.00"]
    assert set(r.json()["explanation"]) == {"zh", "en"}

    r = api.get("manager", BASE + "/abc", by="value")
    assert [(x["sku"], x["class"]) for x in r.json()["data"]] == [("P1", "A"), ("Q1", "C")]
    _problem(api.get("sales", BASE + "/abc", by="value"), 403, "forbidden.report")
    _problem(api.get("manager", BASE + "/abc", by="price"), 422, "report.param")
    r = api.post("manager", BASE + "/abc/apply", {"by": "value"})
    assert r.status_code == 200 and [u["sku"] for u in r.json()["updated"]] == ["P1"]
    _problem(api.post("sales", BASE + "/abc/apply", {"by": "movement"}), 403, "forbidden.update")

    r = api.get("manager", BASE + "/bri")
    assert r.status_code == 200, r.text
    assert [d["name"] for d in r.json()["dimensions"]] == [
        "supply_response", "inventory_health", "demand_sensing", "collaboration"]
    _problem(api.get("sales", BASE + "/bri"), 403, "forbidden.report")


def test_openapi_and_dashboard_follow_the_rights(http: tuple[Http, IntelApp]) -> None:
    """Manager: every report in its OpenAPI and the four panels on the overview; sales (cost
    masked): forecast, replenishment and ABC by movement only, no BRI panel; purchasing (no
    sales orders): none of them, and no panel.
    Mutation tried: listing /reports/bri without the cost check fails for sales."""
    from jimu.runtime.screens.dash_spec import spec_dashboard

    api, intel = http
    paths = {role: api.get(role, f"/api/apps/{APP}/openapi.json").json()["paths"] for role in
             ("manager", "sales", "purchasing")}
    ours = ("/replenishment", "/forecast", "/abc", "/bri")
    assert all(BASE + s in paths["manager"] for s in ours)
    assert BASE + "/abc/apply" in paths["manager"]
    assert BASE + "/bri" not in paths["sales"] and BASE + "/forecast" in paths["sales"]
    abc_by = next(p for p in paths["sales"][BASE + "/abc"]["get"]["parameters"] if p["name"] == "by")
    assert abc_by["schema"]["enum"] == ["movement"]
    assert not any(BASE + s in paths["purchasing"] for s in ours)
    assert BASE + "/replenishment/orders" in paths["purchasing"]  # creating POs needs no demand
    assert BASE + "/replenishment/orders" not in paths["manager"]  # the manager creates no POs
    dash = next(d for d in intel.jimu.apps.get(APP).spec.dashboards if d.name == "overview")

    def panels(role: str) -> list[str]:
        return [c["label"] for c in spec_dashboard(intel.policy(role), dash, "en")]

    assert {"Replenishment", "Demand forecast (4 weeks)", "ABC classes (by value)",
            "Business resilience index (BRI)"} <= set(panels("manager"))
    assert "Business resilience index (BRI)" not in panels("sales")
    assert "Replenishment" not in panels("purchasing")

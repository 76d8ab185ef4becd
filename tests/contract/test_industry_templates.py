"""The catering and discrete manufacturing templates of DESIGN 15: listed by the market,
installable over HTTP, their demos prepare with ``jimu demo TEMPLATE --no-serve``."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import pytest

from tests.contract.conftest import Server, first


def test_market_lists_the_industry_templates(server: Server) -> None:
    with server.client() as c:
        listed = {t["id"]: t for t in c.get("/api/market/templates").json()["data"]}
    assert {"general", "standard", "food", "catering", "discrete_manufacturing", "no_stock"} <= set(listed)


def test_mrp_over_http(server: Server) -> None:
    app = f"mfg_{server.backend}"
    with server.client("admin") as c:
        r = c.post("/api/apps", json={"name": app, "label": {"zh": "制造", "en": "Manufacturing"},
                                      "template": "discrete_manufacturing"})
        assert r.status_code in (200, 201), r.text
        run = first(c, "mrp_run", app)
    with server.client("manager") as c:
        # the demo's orders are dated from the day it was loaded (its run's date T): plan from T+1
        day = (date.fromisoformat(run["run_date"]) + timedelta(days=1)).isoformat()
        r = c.post(f"/api/apps/{app}/data/mrp_run", json={"warehouse": run["warehouse"], "run_date": day,
                                                          "bucket": "week", "horizon_days": 56})
        assert r.status_code == 201, r.text
        run = r.json()
        r = c.post(f"/api/apps/{app}/data/mrp_run/{run['id']}/transitions/calculate", json={"inputs": {}})
        assert r.status_code == 200, r.text
        lines = c.get(f"/api/apps/{app}/data/mrp_line", params={"filter": f"run == {run['id']}", "limit": 200}).json()["data"]
        bike = first(c, "item", app, filter='sku == "FG-BIKE"')
    first_week = sorted((ln for ln in lines if ln["item"] == bike["id"]), key=lambda ln: ln["due_date"])[0]
    # week T+8..T+14: orders of 6 and 20 (gross 26); 8 on hand + 10 from the open work order,
    # safety stock 5 -> 8 + 10 − 26 = −8, 13 to make
    assert (first_week["gross_qty"], first_week["net_qty"], first_week["action"]) == ("26.0000", "13.0000", "make")


@pytest.mark.parametrize("template", ["catering", "discrete_manufacturing"])
def test_demo_prepares(server: Server, tmp_path, template: str) -> None:
    env = {k: v for k, v in server.env.items() if k != "JIMU_DATABASE_URL"}
    r = subprocess.run([sys.executable, "-m", "jimu", "demo", template, "--no-serve"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"app '{template}' created" in r.stdout
    verify = subprocess.run([sys.executable, "-m", "jimu", "ledger", "verify", template], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stderr + verify.stdout

"""The catering and discrete manufacturing templates of DESIGN 15: listed by the market,
installable over HTTP, their demos prepare with ``jimu demo TEMPLATE --no-serve``."""

from __future__ import annotations

import subprocess
import sys

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
        r = c.post(f"/api/apps/{app}/data/mrp_run/{run['id']}/transitions/calculate", json={"inputs": {}})
        assert r.status_code == 200, r.text
        lines = c.get(f"/api/apps/{app}/data/mrp_line", params={"filter": f"run == {run['id']}"}).json()["data"]
        bike = first(c, "item", app, filter='sku == "FG-BIKE"')
    (line,) = [ln for ln in lines if ln["item"] == bike["id"]]
    # 10 wanted, 3 on hand, safety stock 2 -> 9 (one planned order: the demo's order has no delivery date)
    assert (line["gross_qty"], line["net_qty"], line["action"]) == ("10.0000", "9.0000", "make")


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

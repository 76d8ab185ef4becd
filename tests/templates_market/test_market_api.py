"""The market over HTTP and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jimu.cli import main
from jimu.templates_market.routes import routes


def test_market_routes_need_no_login(jimu: Any) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    app = Starlette(routes=routes())
    app.state.jimu = jimu
    client = TestClient(app)
    body = client.get("/api/market/templates").json()
    assert body["next_cursor"] is None
    ids = {t["id"] for t in body["data"]}
    assert {"standard", "food"} <= ids
    std = next(t for t in body["data"] if t["id"] == "standard")
    assert std["title"]["zh"] == "新进销存 标准版" and "sales_order" in std["cbus"] and std["screenshots"]
    cbus = client.get("/api/market/cbus").json()["data"]
    assert {"item", "sales_order", "batch_tracking"} <= {c["name"] for c in cbus}


def test_cli_install_and_market_list(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["market", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {"standard", "food"} <= {t["id"] for t in listing["templates"]}
    assert main(["-d", url, "install", "shop", "customer", "--no-sample-data"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["installed"] == ["org_roles@1.0.0", "customer@1.0.0"]
    assert main(["-d", url, "upgrade", "shop", "customer", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["conflicts"] == []
    assert main(["-d", url, "uninstall", "shop", "customer"]) == 0

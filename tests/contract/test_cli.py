"""CLI fixed points of DESIGN 15, run as a user would (python -m jimu) next to the demo."""

from __future__ import annotations

import json

import yaml

from tests.contract.conftest import Server


def test_schema_is_a_map_of_kinds(server: Server) -> None:
    r = server.cli("schema")
    assert r.returncode == 0, r.stderr
    schemas = json.loads(r.stdout)
    assert {"entity", "field", "workflow", "role", "view", "form", "automation", "ledger", "dashboard"} <= set(schemas)


def test_help_and_bad_input(server: Server) -> None:
    for cmd in (["--help"], ["demo", "--help"], ["export", "--help"], ["import", "--help"], ["install", "--help"]):
        r = server.cli(*cmd)
        assert r.returncode == 0 and "usage" in r.stdout.lower(), cmd
    bad = server.cli("export", "no_such_app")
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") <= 1 and "no_such_app" in bad.stderr
    bad = server.cli("import", "/nonexistent.yaml")
    assert bad.returncode != 0 and "cannot read" in bad.stderr


def test_export_import_round_trip(server: Server) -> None:
    exported = server.cli("export", "standard", "--data")
    assert exported.returncode == 0, exported.stderr
    doc = yaml.safe_load(exported.stdout)
    assert doc["spec"]["name"] == "standard" and doc["data"]["item"]
    path = server.folder / f"standard-{server.backend}.yaml"
    path.write_text(exported.stdout, encoding="utf-8")
    name = f"copy_{server.backend}"
    r = server.cli("import", str(path), "--name", name)
    assert r.returncode == 0, r.stderr
    again = yaml.safe_load(server.cli("export", name, "--data").stdout)
    assert len(again["data"]["item"]) == len(doc["data"]["item"])
    assert [e["name"] for e in again["spec"]["entities"]] == [e["name"] for e in doc["spec"]["entities"]]


def test_install_creates_the_app(server: Server) -> None:
    name = f"inst_{server.backend}"
    r = server.cli("install", name, "standard")
    assert r.returncode == 0, r.stderr + r.stdout
    with server.client("admin") as c:
        assert c.get(f"/api/apps/{name}/meta").status_code == 200


def test_init_asks_nothing(server: Server, tmp_path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in server.env.items() if k != "JIMU_DATABASE_URL"}
    r = subprocess.run([sys.executable, "-m", "jimu", "init"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 0 and "warning" in r.stderr.lower()
    assert (tmp_path / "jimu.db").exists()

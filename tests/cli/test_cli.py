"""The CLI in-process: exit codes and one-line reasons (the contract suite runs it as a
subprocess next to a live demo)."""

from __future__ import annotations

import json

import pytest

from jimu.cli import main
from tests.conftest import SHOP_SPEC


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_user_and_schema(url, capsys) -> None:
    code, out, err = run(capsys, "-d", url, "init")
    assert code == 0 and "warning" in err
    code, out, _ = run(capsys, "-d", url, "user", "add", "li", "--role", "sales", "--password", "li-password")
    assert code == 0 and json.loads(out)["roles"] == ["sales"]
    code, _, err = run(capsys, "-d", url, "user", "add", "li", "--role", "sales", "--password", "li-password")
    assert code == 2 and "already exists" in err
    # the password policy (8+) applies to passwords people choose; the init default is exempt
    code, _, err = run(capsys, "-d", url, "user", "add", "wu", "--role", "sales", "--password", "1234567")
    assert code == 2 and "too short" in err
    code, out, _ = run(capsys, "schema", "entity")
    assert code == 0 and json.loads(out)["type"] == "object"
    code, _, err = run(capsys, "schema", "nope")
    assert code == 2 and "unknown kind" in err


def test_init_refuses_a_short_chosen_admin_password(url, capsys) -> None:
    """Mutation caught: ``cmd_init`` without ``check_password_policy`` (admin gets "abc")."""
    code, _, err = run(capsys, "-d", url, "init", "--admin-password", "abc")
    assert code == 2 and "too short" in err
    code, _, err = run(capsys, "-d", url, "init", "--admin-password", "a-long-one")
    assert code == 0 and "warning" not in err


def test_scan_and_ledger_verify(url, capsys) -> None:
    from jimu.runtime.context import Jimu

    jimu = Jimu.open(url)
    jimu.store.create_app("shop")
    jimu.store.save_draft("shop", SHOP_SPEC)
    jimu.store.publish("shop")
    jimu.close()
    code, out, _ = run(capsys, "-d", url, "scan", "shop", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["app"] == "shop" and "categories" in report
    code, out, _ = run(capsys, "-d", url, "scan", "shop", "--format", "sarif")
    assert json.loads(out)["version"] == "2.1.0"
    code, out, _ = run(capsys, "-d", url, "ledger", "verify", "shop")
    assert code == 0 and "verified" in out
    code, _, err = run(capsys, "-d", url, "ledger", "verify", "ghost")
    assert code == 2 and "ghost" in err


def test_export_import_errors(url, tmp_path, capsys) -> None:
    code, _, err = run(capsys, "-d", url, "export", "ghost")
    assert code == 2 and "ghost" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: other\n")
    code, _, err = run(capsys, "-d", url, "import", str(bad))
    assert code == 2 and "not a Jimu app export" in err
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("format: jimu.app/v1\nspec: {name: x, entities: [{name: a, fields: [{name: b, type: bogus}]}]}\n")
    code, _, err = run(capsys, "-d", url, "import", str(invalid))
    assert code == 2 and "unknown field type" in err


def test_demo_history_is_the_default(monkeypatch) -> None:
    """``jimu demo`` generates the 120 days of history unless ``--no-history`` or
    ``JIMU_DEMO_HISTORY=0`` says not to. Mutation tried: reading only the flag (the
    environment ignored) fails the third assertion."""
    from jimu.cli import build_parser
    from jimu.cli.basics import demo_history_wanted

    parser = build_parser()
    monkeypatch.delenv("JIMU_DEMO_HISTORY", raising=False)
    assert demo_history_wanted(parser.parse_args(["demo", "--no-serve"]))
    assert not demo_history_wanted(parser.parse_args(["demo", "food", "--no-history"]))
    monkeypatch.setenv("JIMU_DEMO_HISTORY", "0")
    assert not demo_history_wanted(parser.parse_args(["demo"]))

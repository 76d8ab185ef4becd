"""``scan_command``: formats, --fail-on exit codes, --fix plan then apply."""

from __future__ import annotations

import io
import json

from jimu.core.errors import NotFound
from jimu.platform.health.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, scan_command
from jimu.platform.specs import AppSpec
from tests.platform.health.health_fixtures import FIXTURES, base_spec


def _loader(app: AppSpec):  # type: ignore[no-untyped-def]
    def load(name: str) -> AppSpec:
        if name != app.name:
            raise NotFound(f"no app {name}")
        return app
    return load


def test_formats_and_fail_on() -> None:
    app = FIXTURES["WF-06"][0]().app  # one high finding
    out = io.StringIO()
    assert scan_command(None, "shop", "json", "high", False, load_app=_loader(app), out=out) == EXIT_FINDINGS
    assert json.loads(out.getvalue())["findings"][0]["rule"] == "WF-06"
    assert scan_command(None, "shop", "text", "critical", False, load_app=_loader(app), out=io.StringIO()) == EXIT_OK
    out = io.StringIO()
    assert scan_command(None, "shop", "sarif", None, False, load_app=_loader(app), out=out) == EXIT_OK
    assert json.loads(out.getvalue())["version"] == "2.1.0"
    err = io.StringIO()
    assert scan_command(None, "nope", "text", None, False, load_app=_loader(app), out=io.StringIO(), err=err) == EXIT_ERROR
    assert "no app nope" in err.getvalue()
    assert scan_command(None, "shop", "xml", None, False, load_app=_loader(app), err=io.StringIO()) == EXIT_ERROR


def test_fix_shows_the_plan_and_applies_only_when_confirmed() -> None:
    app = FIXTURES["WF-06"][0]().app
    saved: list[tuple[AppSpec, str]] = []
    out = io.StringIO()
    code = scan_command(None, "shop", "text", "high", True, load_app=_loader(app),
                        save_app=lambda a, s: saved.append((a, s)), confirm=lambda q: False, out=out)
    assert code == EXIT_FINDINGS and not saved
    assert "[WF-06] set roles.sales.entities.sales_order.fields.state to 'read'" in out.getvalue()
    out = io.StringIO()
    code = scan_command(None, "shop", "text", "high", True, load_app=_loader(app),
                        save_app=lambda a, s: saved.append((a, s)), confirm=lambda q: True, out=out)
    assert code == EXIT_OK and len(saved) == 1
    assert saved[0][0].role("sales").entities["sales_order"].fields["state"] == "read"  # type: ignore[union-attr]
    assert "WF-06" in saved[0][1] and "Applied" in out.getvalue()


def test_fix_with_json_keeps_stdout_parseable_and_stores(system_db) -> None:
    app = AppSpec.model_validate(base_spec())
    out, err = io.StringIO(), io.StringIO()
    assert scan_command(system_db, "shop", "json", "high", True, load_app=_loader(app), out=out, err=err) == EXIT_OK
    assert json.loads(out.getvalue())["score"] == 100 and "Nothing to fix" in err.getvalue()
    from jimu.platform.health.store import scan_history

    assert len(scan_history(system_db, "shop")) == 1

"""``jimu scan APP --format text|json|sarif --fail-on critical|high [--fix]``.

The CLI module wires its arguments to :func:`scan_command`; the app spec comes from a
callable (the metadata store's draft or published spec), so this layer never reads the
store itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from jimu.core.errors import JimuError
from jimu.platform.db import Database
from jimu.platform.health.model import SEVERITIES, CbuManifestInfo, CbuUsage, ScanContext
from jimu.platform.health.scan import HealthReport, apply_fixes, plan_fixes, run_scan
from jimu.platform.specs import AppSpec

__all__ = ["scan_command", "EXIT_OK", "EXIT_FINDINGS", "EXIT_ERROR", "FORMATS"]

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ("text", "json", "sarif")


def _render(report: HealthReport, fmt: str) -> str:
    if fmt == "json":
        return report.to_json()
    if fmt == "sarif":
        return json.dumps(report.to_sarif(), ensure_ascii=False, indent=2)
    return report.to_text()


def _fails(report: HealthReport, fail_on: str | None) -> bool:
    if not fail_on:
        return False
    limit = SEVERITIES.index(fail_on)
    return any(SEVERITIES.index(f.severity) <= limit for f in report.open_findings())


def scan_command(
    db: Database | None,
    app_name: str,
    fmt: str = "text",
    fail_on: str | None = None,
    fix: bool = False,
    *,
    load_app: Callable[[str], AppSpec],
    save_app: Callable[[AppSpec, str], None] | None = None,
    cbus: Mapping[str, CbuManifestInfo] | None = None,
    usage: Mapping[str, CbuUsage] | None = None,
    stats: Mapping[str, Any] | None = None,
    confirm: Callable[[str], bool] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Scan ``app_name`` and print the report; the exit code is 1 when an open finding is
    at least as severe as ``fail_on``, 2 on an error, else 0.

    With ``db`` the scan is stored (finding states merge, history grows). With ``fix`` the
    plan of every safe auto-fix is printed first (to ``err`` for json/sarif so the report
    stays parseable); it is applied through ``save_app(new_app, summary)`` only when
    ``confirm(question)`` says yes (no ``confirm`` means no), then the app is scanned again.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if fmt not in FORMATS or (fail_on is not None and fail_on not in SEVERITIES):
        err.write(f"unknown format {fmt!r} or --fail-on {fail_on!r}\n")
        return EXIT_ERROR
    try:
        app = load_app(app_name)
    except JimuError as exc:
        err.write(f"{exc.message}\n")
        return EXIT_ERROR

    def scan(spec: AppSpec) -> HealthReport:
        ctx = ScanContext(app=spec, cbus=cbus or {}, usage=usage or {}, stats=stats or {})
        if db is not None:
            from jimu.platform.health.store import scan_and_store

            return scan_and_store(db, ctx)
        return run_scan(ctx)

    report = scan(app)
    if fix:
        plans = plan_fixes(report)
        plan_out = out if fmt == "text" else err
        if not plans:
            plan_out.write("没有可自动修复的问题 / Nothing to fix automatically.\n")
        else:
            plan_out.write("自动修复计划 / Fix plan:\n")
            for plan in plans:
                for step in plan.steps:
                    plan_out.write(f"  [{plan.rule}] {step}\n")
            if save_app is not None and confirm is not None and confirm("Apply these fixes? [y/N] "):
                new_app = apply_fixes(app, report)
                rules = ", ".join(p.rule for p in plans)
                save_app(new_app, f"健康扫描自动修复 {rules} / health scan auto-fix {rules}")
                plan_out.write("已应用 / Applied.\n")
                report = scan(new_app)
            else:
                plan_out.write("未应用 / Not applied.\n")
    out.write(_render(report, fmt))
    if not _render(report, fmt).endswith("\n"):
        out.write("\n")
    return EXIT_FINDINGS if _fails(report, fail_on) else EXIT_OK

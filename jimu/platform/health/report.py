"""Rendering a health report: readable text (zh + en), JSON (DESIGN 15), SARIF 2.1.0.

SARIF mapping: one run, tool ``jimu-health`` with every rule as a ``reportingDescriptor``
(id, zh/en names, remediation as help, ``security-severity``-like rank in properties);
each finding is a ``result`` with ``level`` (critical/high → error, medium/low → warning,
info → note), a logical location named by the element key and ``fullyQualifiedName`` =
the spec path, ``partialFingerprints`` (the element fingerprint) and the state as a
suppression when the finding was dismissed. The vendored schema
(``sarif-schema-2.1.0.json``, OASIS SARIF 2.1.0 errata 01) validates the output in tests.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from jimu.platform.health.model import CATEGORIES, SEVERITIES

if TYPE_CHECKING:
    from jimu.platform.health.model import Rule
    from jimu.platform.health.scan import HealthReport

__all__ = ["to_text", "to_json", "to_sarif", "sarif_schema", "SARIF_SCHEMA_URI"]

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "warning", "info": "note"}
_RANK = {"critical": 95.0, "high": 80.0, "medium": 50.0, "low": 20.0, "info": 1.0}
_SEV_ZH = {"critical": "严重", "high": "高", "medium": "中", "low": "低", "info": "提示"}
_SUPPRESSED = {"false_positive": "误报 / false positive", "wont_fix": "不修复 / won't fix",
               "snoozed": "暂缓 / snoozed", "fixed": "已修复 / fixed"}


def to_text(report: HealthReport) -> str:
    """A readable report, grouped by severity, titles in Chinese and English."""
    lines = [f"健康扫描 / Health scan: {report.app}   得分 / score {report.score}/100", ""]
    lines.append("  ".join(f"{c} {CATEGORIES[c][0]}/{CATEGORIES[c][1]}: {v}" for c, v in report.categories.items()))
    lines.append("")
    if not report.findings:
        lines.append("没有发现问题 / No findings.")
    for sev in SEVERITIES:
        group = [f for f in report.findings if f.severity == sev]
        if not group:
            continue
        lines.append(f"== {_SEV_ZH[sev]} / {sev.upper()} ({len(group)}) ==")
        for f in group:
            state = "" if f.state == "open" else f"  [{_SUPPRESSED.get(f.state, f.state)}]"
            fix = "  (可自动修复 / auto-fix available)" if f.fix_available else ""
            lines.append(f"[{f.rule}] {f.title_zh} / {f.title_en}{state}{fix}")
            lines.append(f"    {f.element}  ({f.path})")
            lines.append(f"    {f.message}")
            lines.append(f"    → {f.remediation}")
            lines.append(f"    id {f.id}")
        lines.append("")
    for note in report.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines).rstrip() + "\n"


def to_json(report: HealthReport, indent: int | None = 2) -> str:
    """The report as JSON (Chinese kept readable)."""
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=indent)


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.title_en.title().replace(" ", "").replace("/", ""),
        "shortDescription": {"text": f"{rule.title_en} / {rule.title_zh}"},
        "fullDescription": {"text": f"{rule.title_zh} / {rule.title_en}"},
        "help": {"text": rule.remediation},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"category": rule.category, "severity": rule.severity,
                       "security-severity": str(_RANK[rule.severity] / 10), "tags": [rule.category]},
    }


def to_sarif(report: HealthReport, rules: list[Rule] | None = None) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a dict; ``json.dumps`` it to write a file)."""
    from jimu.platform.health.scan import all_rules

    known = {r.id: r for r in (rules if rules is not None else all_rules())}
    used = sorted({f.rule for f in report.findings} | set(known))
    descriptors = [_descriptor(known[r]) for r in used if r in known]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _LEVEL[f.severity],
            "kind": "fail",
            "message": {"text": f"{f.message} — {f.remediation}"},
            "locations": [{
                "logicalLocations": [{"name": f.element, "fullyQualifiedName": f"{report.app}/{f.path}",
                                      "kind": "element"}],
                "message": {"text": f.path},
            }],
            "partialFingerprints": {"jimuElement/v1": f.fingerprint, "jimuFinding/v1": f.id},
            "rank": _RANK[f.severity],
            "properties": {"findingId": f.id, "category": f.category, "severity": f.severity,
                           "state": f.state, "fixAvailable": f.fix_available},
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        if f.state in _SUPPRESSED and f.state != "fixed":
            result["suppressions"] = [{"kind": "external", "status": "accepted",
                                       "justification": f.reason or _SUPPRESSED[f.state]}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "jimu-health", "informationUri": "https://jimu.dev/health",
                                "semanticVersion": "1.0.0", "rules": descriptors}},
            "automationDetails": {"id": f"jimu-health/{report.app}/"},
            "results": results,
            "properties": {"app": report.app, "score": report.score, "categories": report.categories},
        }],
    }


def sarif_schema() -> dict[str, Any]:
    """The vendored SARIF 2.1.0 JSON schema."""
    text = resources.files("jimu.platform.health").joinpath("sarif-schema-2.1.0.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data

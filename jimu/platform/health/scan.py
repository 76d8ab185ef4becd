"""Running the rules: the registry, the pure scan, scores, and safe auto-fixes.

Scores
------
Each category starts at 100 and loses, for every *open* finding in it:
critical 40, high 20, medium 8, low 3, info 0 (floored at 0). Findings marked fixed,
false_positive, wont_fix or snoozed do not count. The app score is the mean of the eight
category scores, rounded; any open critical finding caps it at 49, so a publish-blocking
app never looks healthy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from jimu.core import clock
from jimu.platform.findings import Finding
from jimu.platform.health.model import (
    CATEGORIES,
    SEVERITIES,
    HealthFinding,
    Hit,
    Rule,
    ScanContext,
    finding_id,
    fingerprint,
)
from jimu.platform.specs import AppSpec

__all__ = [
    "PENALTY",
    "CRITICAL_CAP",
    "HealthReport",
    "FixPlan",
    "all_rules",
    "rule_by_id",
    "run_scan",
    "score",
    "plan_fixes",
    "apply_fixes",
    "publish_gate",
]

log = logging.getLogger(__name__)

PENALTY: dict[str, int] = {"critical": 40, "high": 20, "medium": 8, "low": 3, "info": 0}
CRITICAL_CAP = 49
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def all_rules() -> list[Rule]:
    """Every rule registered through the ``jimu_health_rules`` hook (first id wins)."""
    from jimu.platform.hooks import collect

    rules: dict[str, Rule] = {}
    for rule in collect("jimu_health_rules"):
        if rule.id in rules:
            log.warning("health rule %s registered twice; keeping the first", rule.id)
            continue
        rules[rule.id] = rule
    return list(rules.values())


def rule_by_id(rule_id: str, rules: list[Rule] | None = None) -> Rule | None:
    return next((r for r in (rules if rules is not None else all_rules()) if r.id == rule_id), None)


@dataclass
class HealthReport:
    """The result of a scan, laid out as DESIGN section 15 says."""

    app: str
    score: int
    categories: dict[str, int]
    findings: list[HealthFinding]
    notes: list[str] = field(default_factory=list)
    scanned_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "score": self.score,
            "categories": dict(self.categories),
            "findings": [f.as_dict() for f in self.findings],
            "notes": list(self.notes),
            "scanned_at": self.scanned_at,
        }

    def open_findings(self) -> list[HealthFinding]:
        return [f for f in self.findings if f.state == "open"]

    def worst(self) -> str | None:
        """The most severe severity among open findings."""
        open_ = self.open_findings()
        return min((f.severity for f in open_), key=_SEV_RANK.__getitem__) if open_ else None

    def to_json(self, indent: int | None = 2) -> str:
        from jimu.platform.health.report import to_json

        return to_json(self, indent=indent)

    def to_text(self) -> str:
        from jimu.platform.health.report import to_text

        return to_text(self)

    def to_sarif(self) -> dict[str, Any]:
        from jimu.platform.health.report import to_sarif

        return to_sarif(self)


def score(findings: list[HealthFinding]) -> tuple[int, dict[str, int]]:
    """(app score, category scores) from the open findings (see the module docstring)."""
    cats = {c: 100 for c in CATEGORIES}
    critical = False
    for f in findings:
        if f.state != "open":
            continue
        cats[f.category] = max(0, cats.get(f.category, 100) - PENALTY.get(f.severity, 0))
        critical = critical or f.severity == "critical"
    total = round(sum(cats.values()) / len(cats))
    return (min(total, CRITICAL_CAP) if critical else total), cats


def _finding(ctx: ScanContext, rule: Rule, hit: Hit) -> HealthFinding:
    return HealthFinding(
        id=finding_id(rule.id, hit.path),
        rule=rule.id,
        category=rule.category,
        severity=rule.severity,
        element=hit.element,
        path=hit.path,
        message=hit.message,
        remediation=rule.remediation,
        title_zh=rule.title_zh,
        title_en=rule.title_en,
        fingerprint=fingerprint(ctx.element_json(hit.element)),
        fix_available=rule.fix is not None,
    )


def run_scan(ctx: ScanContext, rules: list[Rule] | None = None) -> HealthReport:
    """Run every rule on ``ctx`` (pure: reads nothing else, writes nothing).

    A rule that crashes is reported as a note and skipped, so one bad rule never hides
    the others or blocks a publish by accident."""
    findings: dict[str, HealthFinding] = {}
    for rule in rules if rules is not None else all_rules():
        try:
            hits = rule.check(ctx)
        except Exception as exc:
            log.exception("health rule %s failed", rule.id)
            ctx.note(f"rule {rule.id} failed and was skipped: {type(exc).__name__}: {exc}")
            continue
        for hit in hits:
            f = _finding(ctx, rule, hit)
            findings.setdefault(f.id, f)
    ordered = sorted(findings.values(), key=lambda f: (_SEV_RANK[f.severity], f.rule, f.path))
    total, cats = score(ordered)
    return HealthReport(ctx.app.name, total, cats, ordered, list(ctx.notes), clock.now().isoformat())


@dataclass(frozen=True)
class FixPlan:
    """What ``--fix`` would do for one rule: the steps, and the findings it resolves."""

    rule: str
    steps: list[str]
    finding_ids: list[str]


def _fixable(report: HealthReport, rules: list[Rule]) -> list[tuple[Rule, list[Hit], list[str]]]:
    out = []
    by_id = {r.id: r for r in rules}
    for rule_id in sorted({f.rule for f in report.open_findings()}):
        rule = by_id.get(rule_id)
        if rule is None or rule.fix is None:
            continue
        chosen = [f for f in report.open_findings() if f.rule == rule_id]
        out.append((rule, [Hit(f.element, f.path, f.message) for f in chosen], [f.id for f in chosen]))
    return out


def plan_fixes(report: HealthReport, rules: list[Rule] | None = None) -> list[FixPlan]:
    """The plan of every safe auto-fix for the report's open findings (nothing applied)."""
    rules = rules if rules is not None else all_rules()
    return [FixPlan(rule.id, rule.fix.plan(hits), ids) for rule, hits, ids in _fixable(report, rules)
            if rule.fix is not None]


def apply_fixes(app: AppSpec, report: HealthReport, rules: list[Rule] | None = None) -> AppSpec:
    """A copy of ``app`` with every safe auto-fix applied (``app`` is left untouched)."""
    rules = rules if rules is not None else all_rules()
    new = app
    for rule, hits, _ in _fixable(report, rules):
        if rule.fix is not None:
            new = rule.fix.apply(new, hits)
    return new


_PLATFORM_SEVERITY: dict[str, Any] = {"critical": "critical", "high": "high", "medium": "medium",
                                      "low": "low", "info": "info"}


def publish_gate(app: AppSpec) -> list[Finding]:
    """The publish gate: every finding as a platform :class:`Finding`; the critical ones
    block the publish (``jimu.platform.findings.blocking``)."""
    report = run_scan(ScanContext(app=app))
    return [
        Finding(f.rule, _PLATFORM_SEVERITY[f.severity], f.path, f.message, f.remediation)
        for f in report.findings
    ]

"""The health scanner (DESIGN section 13): rules with stable ids over an app spec, finding
states kept across scans, category and app scores, text/JSON/SARIF reports, and a publish
gate that blocks on critical findings.

Rules register through the ``jimu_health_rules`` hook (``jimu.platform.health.plugin``
registers the built-ins from ``jimu.platform.health.rules``).
"""

from jimu.platform.health.model import (
    CATEGORIES,
    SEVERITIES,
    STATES,
    CbuManifestInfo,
    CbuUsage,
    Fix,
    HealthFinding,
    Hit,
    Rule,
    ScanContext,
    finding_id,
    fingerprint,
    parse_owner,
)
from jimu.platform.health.scan import (
    PENALTY,
    FixPlan,
    HealthReport,
    all_rules,
    apply_fixes,
    plan_fixes,
    publish_gate,
    rule_by_id,
    run_scan,
    score,
)

__all__ = [
    "CATEGORIES",
    "PENALTY",
    "SEVERITIES",
    "STATES",
    "CbuManifestInfo",
    "CbuUsage",
    "Fix",
    "FixPlan",
    "HealthFinding",
    "HealthReport",
    "Hit",
    "Rule",
    "ScanContext",
    "all_rules",
    "apply_fixes",
    "finding_id",
    "fingerprint",
    "parse_owner",
    "plan_fixes",
    "publish_gate",
    "rule_by_id",
    "run_scan",
    "score",
    "scan_and_store",
    "set_finding_state",
]


def __getattr__(name: str) -> object:
    # The store helpers need SQLAlchemy tables; import them only when asked for.
    if name in ("scan_and_store", "set_finding_state"):
        from jimu.platform.health import store

        return getattr(store, name)
    raise AttributeError(name)

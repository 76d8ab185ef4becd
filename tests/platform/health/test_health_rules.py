"""Every health rule fires on its positive fixture and stays quiet on its negative one."""

from __future__ import annotations

import re

import pytest

from jimu.platform.health import CATEGORIES, SEVERITIES, all_rules, run_scan
from tests.platform.health.health_fixtures import FIXTURES, base_spec, ctx_of

RULES = all_rules()
RULE_IDS = [r.id for r in RULES]


def test_at_least_thirty_rules_in_every_category() -> None:
    assert len(RULES) >= 30
    assert {r.category for r in RULES} == set(CATEGORIES)
    assert len(set(RULE_IDS)) == len(RULE_IDS)
    for r in RULES:
        assert re.fullmatch(r"(DF|DM|FX|WF|PS|PF|AU|MG)-\d\d", r.id) and r.id.startswith(r.category)
        assert r.severity in SEVERITIES and r.title_zh and r.title_en and r.remediation


def test_every_rule_has_both_fixtures() -> None:
    missing = sorted(set(RULE_IDS) - set(FIXTURES))
    assert not missing, f"rules without positive/negative fixtures: {missing}"
    assert not sorted(set(FIXTURES) - set(RULE_IDS)), "fixtures for unknown rules"


def test_base_app_is_clean() -> None:
    report = run_scan(ctx_of(base_spec()))
    assert report.findings == [], [f"{f.rule} {f.message}" for f in report.findings]
    assert report.score == 100


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_positive_fixture_fires(rule_id: str) -> None:
    rule = next(r for r in RULES if r.id == rule_id)
    report = run_scan(FIXTURES[rule_id][0](), [rule])
    assert report.findings, f"{rule_id} did not fire on its positive fixture"
    for f in report.findings:
        assert f.rule == rule_id and f.element and f.path and f.message
        assert f.severity == rule.severity and f.category == rule.category


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_negative_fixture_is_quiet(rule_id: str) -> None:
    rule = next(r for r in RULES if r.id == rule_id)
    report = run_scan(FIXTURES[rule_id][1](), [rule])
    assert report.findings == [], [f.message for f in report.findings]


@pytest.mark.parametrize("rule_id", [r.id for r in RULES if r.fix is not None])
def test_auto_fix_resolves_its_findings(rule_id: str) -> None:
    rule = next(r for r in RULES if r.id == rule_id)
    ctx = FIXTURES[rule_id][0]()
    before = ctx.app.model_dump()
    report = run_scan(ctx, [rule])
    from jimu.platform.health import apply_fixes, plan_fixes

    plans = plan_fixes(report, [rule])
    assert plans and plans[0].steps
    fixed = apply_fixes(ctx.app, report, [rule])
    assert ctx.app.model_dump() == before, "a fix must not mutate its input"
    again = run_scan(ctx_of(fixed.model_dump(by_alias=True), cbus=ctx.cbus, usage=ctx.usage, stats=ctx.stats), [rule])
    assert again.findings == []


def test_a_state_entered_through_partial_to_is_reachable() -> None:
    """A state only a transition's ``partial_to`` leads to (partially_received) is not
    reported unreachable (WF-01). Mutation tried: following only ``to`` in
    ``rules/wf._reachable`` -> WF-01 fires on ``part``."""
    from tests.platform.health.health_fixtures import variant

    def change(spec: dict) -> None:
        wf = spec["workflows"][0]
        wf["states"].append({"name": "part"})
        wf["transitions"].append({"name": "ship_some", "from": [wf["states"][0]["name"], "part"],
                                  "to": wf["states"][0]["name"], "partial_to": "part", "roles": ["manager"]})

    rule = next(r for r in RULES if r.id == "WF-01")
    report = run_scan(variant(change)(), [rule])
    assert not [f for f in report.findings if "part" in f.path.rsplit(".", 1)[-1]], \
        [f"{f.rule} {f.path}" for f in report.findings]

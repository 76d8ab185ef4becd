"""Scores, report layout and renderers, the publish gate, the registry through hooks,
and the supplier-scorecard misuse scenario built from scratch."""

from __future__ import annotations

import json

import jsonschema

from jimu.platform.findings import blocking
from jimu.platform.health import (
    CbuManifestInfo,
    HealthFinding,
    ScanContext,
    all_rules,
    finding_id,
    run_scan,
    score,
)
from jimu.platform.health.report import sarif_schema, to_sarif
from jimu.platform.hooks import collect
from jimu.platform.specs import AppSpec
from tests.platform.health.health_fixtures import FIXTURES, base_spec, ctx_of


def _finding(cat: str, sev: str, state: str = "open", n: int = 0) -> HealthFinding:
    return HealthFinding(f"id{n}", f"{cat}-01", cat, sev, "app", f"p{n}", "m", "r", "t", "t", "fp", state=state)


def test_score_weights_by_severity() -> None:
    total, cats = score([])
    assert total == 100 and set(cats.values()) == {100} and len(cats) == 8
    total, cats = score([_finding("DM", "high"), _finding("DM", "medium", n=1), _finding("PF", "low", n=2)])
    assert cats["DM"] == 100 - 20 - 8 and cats["PF"] == 97 and cats["FX"] == 100
    assert total == round((72 + 97 + 600) / 8)


def test_score_floor_critical_cap_and_dismissed_states() -> None:
    many = [_finding("WF", "critical", n=i) for i in range(4)]
    total, cats = score(many)
    assert cats["WF"] == 0 and total <= 49
    dismissed = [_finding("WF", "critical", state=s, n=i)
                 for i, s in enumerate(["false_positive", "wont_fix", "snoozed", "fixed"])]
    assert score(dismissed)[0] == 100
    assert score([_finding("AU", "info")])[0] == 100


def test_report_layout_matches_design_section_15() -> None:
    report = run_scan(FIXTURES["DM-05"][0]())
    data = json.loads(report.to_json())
    assert {"app", "score", "categories", "findings"} <= set(data)
    assert set(data["categories"]) == {"DF", "DM", "FX", "WF", "PS", "PF", "AU", "MG"}
    f = data["findings"][0]
    assert {"id", "rule", "category", "severity", "element", "message", "remediation", "state"} <= set(f)
    assert f["state"] == "open" and f["fix_available"] is True
    assert f["id"] == finding_id(f["rule"], f["path"])


def test_finding_ids_are_stable_and_fingerprints_follow_the_element() -> None:
    a = run_scan(FIXTURES["DM-05"][0]()).findings[0]
    b = run_scan(FIXTURES["DM-05"][0]()).findings[0]
    assert (a.id, a.fingerprint) == (b.id, b.fingerprint)
    spec = base_spec()
    spec["entities"][3]["fields"][1]["options"].pop("on_delete")
    spec["entities"][3]["fields"][1]["label"] = "买家"
    c = next(f for f in run_scan(ctx_of(spec)).findings if f.rule == "DM-05")
    assert c.id == a.id and c.fingerprint != a.fingerprint


def test_text_report_groups_by_severity_with_both_languages() -> None:
    spec = base_spec()
    ctx = FIXTURES["WF-04"][0]()
    ctx.app.entities[3].fields[1].options.pop("on_delete")
    text = run_scan(ctx).to_text()
    assert "== 严重 / CRITICAL" in text and "== 中 / MEDIUM" in text
    assert text.index("CRITICAL") < text.index("MEDIUM")
    assert "审批无可用审批人 / Approval with no possible approver" in text
    assert "auto-fix available" in text
    assert run_scan(ctx_of(spec)).to_text().count("No findings") == 1


def test_sarif_output_validates_against_the_official_schema() -> None:
    findings = []
    for pos, _neg in FIXTURES.values():
        findings += run_scan(pos()).findings
    report = run_scan(FIXTURES["PS-03"][0]())
    report.findings = findings
    findings[0].state, findings[0].reason = "false_positive", "checked by hand"
    log = to_sarif(report)
    schema = sarif_schema()
    assert schema["id"].endswith("sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "jimu-health"
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {r.id for r in all_rules()}
    levels = {r["level"] for r in run["results"]}
    assert levels <= {"error", "warning", "note"} and "error" in levels
    assert run["results"][0]["suppressions"][0]["justification"] == "checked by hand"
    json.dumps(log)  # serialisable


def test_rules_and_gate_register_through_hooks() -> None:
    ids = [r.id for r in collect("jimu_health_rules")]
    assert "DF-01" in ids and "MG-04" in ids
    gates = collect("jimu_publish_gates")
    from jimu.platform.health.scan import publish_gate

    assert publish_gate in gates


def test_publish_gate_blocks_on_critical_only() -> None:
    from jimu.platform.health.scan import publish_gate

    crit = FIXTURES["FX-02"][0]().app
    found = publish_gate(crit)
    assert blocking(found) and all(f.id == "FX-02" for f in blocking(found))
    medium = FIXTURES["DM-05"][0]().app
    assert publish_gate(medium) and not blocking(publish_gate(medium))
    assert publish_gate(AppSpec.model_validate(base_spec())) == []


def test_a_crashing_rule_becomes_a_note() -> None:
    from jimu.platform.health import Rule

    def boom(ctx: ScanContext) -> list:  # type: ignore[type-arg]
        raise RuntimeError("kaput")

    bad = Rule("DM-99", "DM", "low", "坏", "bad", boom, "none")
    report = run_scan(ctx_of(base_spec()), [bad, *all_rules()])
    assert report.findings == [] and any("DM-99" in n for n in report.notes)


def test_supplier_scorecard_reused_for_employee_reviews() -> None:
    """The seed scenario: a supplier-scorecard CBU (supply_chain.supplier) whose scorecard
    entity is linked to employees and labelled 绩效/考核 — domain fit must fire."""
    spec = {
        "name": "hr_reviews",
        "entities": [
            {"name": "employee", "label": {"zh": "员工", "en": "Employee"},
             "fields": [{"name": "name", "label": "姓名", "unique": True}]},
            {"name": "supplier_scorecard", "label": {"zh": "员工绩效考核", "en": "Scorecard"}, "fields": [
                {"name": "employee", "type": "link", "label": "员工",
                 "options": {"entity": "employee", "on_delete": "restrict"}},
                {"name": "score", "type": "decimal", "label": "绩效得分"},
                {"name": "period", "label": "考核周期"}]},
        ],
        "roles": [{"name": "hr", "domains": ["hr.employee"],
                   "entities": {"supplier_scorecard": {"create": True, "read": True, "update": True}}}],
        "owners": {"entity:supplier_scorecard": "supplier_scorecard@1.0.0",
                   "field:supplier_scorecard.score": "supplier_scorecard@1.0.0"},
    }
    cbu = CbuManifestInfo("supplier_scorecard", "1.0.0", "1.0.0", ("supply_chain.supplier",),
                          ("supplier_scorecard", "supplier"), ("scorecard",), "供应商评分卡")
    report = run_scan(ScanContext(app=AppSpec.model_validate(spec), cbus={"supplier_scorecard": cbu}))
    df = {f.rule: f for f in report.findings if f.category == "DF"}
    assert {"DF-01", "DF-02", "DF-03"} <= set(df)
    assert df["DF-01"].element == "field:supplier_scorecard.employee"
    assert "hr" in df["DF-02"].message and "绩效" in df["DF-02"].message
    assert report.categories["DF"] < 60


def test_a_field_added_by_another_unit_is_judged_by_that_unit() -> None:
    """``item.default_supplier`` added by a planning unit (supply_chain) through
    ``extends`` on the item master (inventory) is no DF-01; the same field owned by the
    item master is (and its label 供应商 makes the item master look like purchasing: DF-02).
    Mutations tried: judging every field by the entity's unit (DF-01), counting the words
    of every field in the entity's labels (DF-02) -> the first scan finds them, fails."""
    spec = {
        "name": "mfg",
        "entities": [
            {"name": "supplier", "label": {"zh": "供应商", "en": "Supplier"}, "fields": [{"name": "name", "label": "名称"}]},
            {"name": "item", "label": {"zh": "商品", "en": "Item"}, "fields": [
                {"name": "name", "label": "名称"},
                {"name": "default_supplier", "type": "link", "label": "默认供应商",
                 "options": {"entity": "supplier", "on_delete": "restrict"}}]},
        ],
        "owners": {"entity:item": "item@1.0.0", "entity:supplier": "supplier@1.0.0",
                   "field:item.default_supplier": "mrp@1.0.0"},
    }
    cbus = {"item": CbuManifestInfo("item", "1.0.0", "1.0.0", ("inventory.item",), ("item",), ("item",), "商品"),
            "supplier": CbuManifestInfo("supplier", "1.0.0", "1.0.0", ("supply_chain.supplier",), ("supplier",),
                                        ("supplier",), "供应商"),
            "mrp": CbuManifestInfo("mrp", "1.0.0", "1.0.0", ("production.planning", "supply_chain.purchase"),
                                   ("item", "supplier"), ("mrp",), "MRP")}
    report = run_scan(ScanContext(app=AppSpec.model_validate(spec), cbus=cbus))
    assert [f for f in report.findings if f.category == "DF"] == []
    spec["owners"]["field:item.default_supplier"] = "item@1.0.0"
    report = run_scan(ScanContext(app=AppSpec.model_validate(spec), cbus=cbus))
    assert sorted((f.rule, f.element) for f in report.findings if f.category == "DF") == [
        ("DF-01", "field:item.default_supplier"), ("DF-02", "entity:item")]

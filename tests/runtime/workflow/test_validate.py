"""Publish-time workflow findings."""

from __future__ import annotations

from jimu.platform.specs import AppSpec
from jimu.runtime.workflow import workflow_findings
from tests.runtime.workflow.conftest import ENTITIES, PO_WORKFLOW, ROLES, SO_WORKFLOW, STOCK, role_spec


def app_with(wf):
    return AppSpec.model_validate({"name": "x", "entities": ENTITIES, "roles": [role_spec(r) for r in ROLES],
                                   "workflows": [wf, PO_WORKFLOW], "ledgers": [STOCK]})


def test_standard_workflow_is_clean():
    assert workflow_findings(app_with(SO_WORKFLOW)) == []


def test_findings_name_the_problems():
    wf = {**SO_WORKFLOW, "states": [*SO_WORKFLOW["states"], {"name": "limbo"}],
          "transitions": [*SO_WORKFLOW["transitions"],
                          {"name": "odd", "from": ["approved"], "to": "shipped", "roles": ["ghost"],
                           "guard": "amount > nosuch"},
                          {"name": "ask", "from": ["draft"], "to": "pending_approval",
                           "approval": {"steps": [{"name": "nobody"}]}}],
          "timers": [{"name": "t", "state": "nowhere", "after": "48h"}]}
    ids = {(f.id, f.path.rsplit(".", 1)[-1]) for f in workflow_findings(app_with(wf))}
    assert ("WFV-W001", "limbo") in ids and ("WFV-W002", "limbo") in ids
    assert ("WFV-W003", "odd") in ids and ("WFV-E003", "guard") in ids
    assert ("WFV-E004", "nobody") in ids and ("WFV-E005", "t") in ids


def test_registered_as_spec_validator():
    from jimu.platform.hooks import collect

    assert workflow_findings in collect("jimu_spec_validators")


def test_partial_to_reaches_its_state_and_must_exist():
    """A state entered only through a transition's ``partial_to`` (partial receipts) is
    reachable; an unknown ``partial_to`` is WFV-E002. Mutation tried: dropping partial_to
    from the edges in validate.py -> ``part`` is reported unreachable (WFV-W001)."""
    states = [*SO_WORKFLOW["states"], {"name": "part"}]
    ship = {"name": "ship_some", "from": ["approved", "part"], "to": "shipped", "partial_to": "part",
            "roles": ["warehouse"]}
    wf = {**SO_WORKFLOW, "states": states, "transitions": [*SO_WORKFLOW["transitions"], ship]}
    assert not [f for f in workflow_findings(app_with(wf)) if f.path.endswith(".part")]
    bad = {**wf, "transitions": [*SO_WORKFLOW["transitions"], {**ship, "partial_to": "nowhere"}]}
    found = {(f.id, f.path.rsplit(".", 1)[-1]) for f in workflow_findings(app_with(bad))}
    assert ("WFV-E002", "ship_some") in found and ("WFV-W001", "part") in found

"""The ownership records an install writes (``AppSpec.owners``: every element key a unit
contributed, states, transitions, inputs, dimensions, postings, posting overrides,
settings and a role's rights on one entity included) are what the health rule MG-04
("stale ownership record") checks: a freshly installed template has none stale, and a
record whose element is gone is reported, whatever its kind."""

from __future__ import annotations

from typing import Any

import pytest

from jimu.platform.health import ScanContext
from jimu.platform.health.rules.mg import check_stale_owners
from jimu.templates_market.catalog import default_catalog
from jimu.templates_market.installer import install_template


def _stale(spec: Any) -> list[str]:
    return [h.path.removeprefix("owners.") for h in check_stale_owners(ScanContext(app=spec))]


@pytest.mark.parametrize("template", [t.id for t in default_catalog().templates()])
def test_a_fresh_install_has_no_stale_ownership_record(jimu: Any, template: str) -> None:
    """Mutation caught: MG-04's key pattern without ``state|transition|...`` (or
    ``element_json`` not resolving a role's rights on an entity): food had 285 false
    findings (roles 154, states 53, transitions 43, postings 14, ...), and the rule's
    automatic fix would have deleted those records."""
    install_template(jimu, "app", template, sample_data=False)
    spec = jimu.store.published("app")
    kinds = {k.partition(":")[0] for k in spec.owners}
    assert {"state", "transition", "role", "field"} <= kinds
    assert _stale(spec) == []


def test_a_record_whose_element_is_gone_is_reported_whatever_its_kind(jimu: Any) -> None:
    """Each kind resolved to its element: removing the element makes exactly its record
    stale. Mutation caught: ``element_json`` answering something for any key of these
    kinds (the removed elements would not be reported)."""
    install_template(jimu, "app", "food", sample_data=False)
    spec = jimu.store.published("app")
    so = next(w for w in spec.workflows if w.name == "sales_order")
    stock = spec.ledger("stock")
    assert stock is not None
    owned = {k for k in spec.owners if k.startswith(("transition:sales_order.", "state:sales_order.",
                                                     "posting:stock.", "dimension:stock.", "postopt:stock.",
                                                     "role:sales.", "setting:", "input:"))}
    assert owned
    so.transitions = []
    so.states = []
    stock.postings = []
    stock.dimensions = []
    role = spec.role("sales")
    assert role is not None
    role.entities = {}
    spec.settings = {}
    for w in spec.workflows:
        for t in w.transitions:
            t.inputs = []
    assert set(_stale(spec)) == owned

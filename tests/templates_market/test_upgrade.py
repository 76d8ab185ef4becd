"""Install → customize → upgrade with a conflict; uninstall → reinstall brings data back."""

from __future__ import annotations

from typing import Any

import pytest

from jimu.core.errors import Conflict
from jimu.templates_market.installer import install_cbu
from jimu.templates_market.lifecycle import installed, uninstall_cbu, upgrade_cbu

FORMULA_PATH = "field:price_rule.net_price/options.expression"


def _customize(jimu: Any, app: str) -> None:
    store = jimu.store
    discount = store.draft(app).entity("price_rule").field("discount").dump()
    store.put_field(app, "price_rule", "discount", {**discount, "label": {"zh": "会员折扣", "en": "Member discount"}})
    store.put_field(app, "price_rule", "note", {"name": "note", "type": "text", "label": {"zh": "备注", "en": "Note"}})
    net = store.draft(app).entity("price_rule").field("net_price").dump()
    net["options"] = {**net["options"], "expression": "base_price * (1 - COALESCE(discount, 0)) - 1"}
    store.put_field(app, "price_rule", "net_price", net)
    store.publish(app, author="admin")


@pytest.fixture
def customized(jimu: Any) -> str:
    install_cbu(jimu, "shop", "price_rules", version="^1.0", sample_data=True)
    _customize(jimu, "shop")
    return "shop"


def test_install_records_ownership_and_sample_data(jimu: Any) -> None:
    result = install_cbu(jimu, "shop", "price_rules", version="^1.0", sample_data=True)
    assert result.installed == ["org_roles@1.0.0", "item@1.0.0", "price_rules@1.0.0"]
    spec = jimu.apps.get("shop").spec
    assert spec.owners["entity:price_rule"] == "price_rules@1.0.0"
    assert spec.owners["field:item.cost_price"] == "item@1.0.0"
    assert spec.owners["role:sales"] == "org_roles@1.0.0"
    assert spec.owners["role:sales.price_rule"] == "price_rules@1.0.0"
    rules = jimu.records.list("shop", "price_rule").data
    assert {r["name"] for r in rules} == {"可乐夏季促销", "食用油会员价"}
    assert all(isinstance(r["item"], int) for r in rules)
    assert {u.cbu: u.version for u in installed(jimu, "shop")}["price_rules"] == "1.0.0"


def test_upgrade_reports_conflict_and_keeps_customizations(jimu: Any, customized: str) -> None:
    plan = upgrade_cbu(jimu, customized, "price_rules", dry_run=True)
    assert [c.path for c in plan.conflicts] == [FORMULA_PATH]
    assert not plan.applied
    waiting = upgrade_cbu(jimu, customized, "price_rules")
    assert not waiting.applied and waiting.as_dict()["waiting_for_resolutions"]
    assert jimu.store.published_version(customized) == waiting.version  # nothing published

    done = upgrade_cbu(jimu, customized, "price_rules", resolutions={FORMULA_PATH: "theirs"})
    assert done.applied and done.to_version == "2.0.0"
    entity = jimu.apps.get(customized).spec.entity("price_rule")
    assert entity.field("discount").label.zh == "会员折扣"  # renamed label survives
    assert entity.field("note") is not None  # added field survives
    assert entity.field("valid_to") is not None  # the unit's new field arrives
    assert entity.field("net_price").expression.startswith("ROUND(")
    spec = jimu.apps.get(customized).spec
    assert spec.owners["entity:price_rule"] == "price_rules@2.0.0"
    assert "valid_to" in spec.element("view", "price_rule_list").columns
    assert {u.cbu: u.version for u in installed(jimu, customized)}["price_rules"] == "2.0.0"


def test_upgrade_resolved_mine_keeps_user_formula(jimu: Any, customized: str) -> None:
    done = upgrade_cbu(jimu, customized, "price_rules", resolutions={FORMULA_PATH: "mine"})
    assert done.applied
    net = jimu.apps.get(customized).spec.entity("price_rule").field("net_price")
    assert net.expression.endswith("- 1")


def test_uninstall_archives_and_reinstall_brings_data_back(jimu: Any) -> None:
    install_cbu(jimu, "shop", "price_rules", version="^1.0", sample_data=True)
    before = {r["name"] for r in jimu.records.list("shop", "price_rule").data}
    result = uninstall_cbu(jimu, "shop", "price_rules")
    assert "entity:price_rule" in result.archived and "view:price_rule_list" in result.removed
    spec = jimu.apps.get("shop").spec
    assert spec.entity("price_rule").archived
    assert spec.element("view", "price_rule_list") is None
    assert "price_rule" not in spec.role("sales").entities
    assert "price_rules" not in {u.cbu for u in installed(jimu, "shop")}
    install_cbu(jimu, "shop", "price_rules", version="^1.0", sample_data=True)
    assert {r["name"] for r in jimu.records.list("shop", "price_rule").data} == before  # data back, not doubled


def test_uninstall_refuses_while_depended_on(jimu: Any) -> None:
    install_cbu(jimu, "shop", "price_rules", version="^1.0", sample_data=False)
    with pytest.raises(Conflict, match="price_rules"):
        uninstall_cbu(jimu, "shop", "item")

"""The permissions model: union of rights, OR-ed row filters, most permissive field access."""

from __future__ import annotations

from jimu.platform.permissions import (
    FieldRule,
    effective_roles,
    entity_grant,
    is_admin,
    merge_field_access,
)
from jimu.platform.specs import AppSpec
from jimu.platform.specs.roles import FieldMask


def _app() -> AppSpec:
    return AppSpec.model_validate({
        "name": "shop",
        "entities": [
            {"name": "item", "fields": [{"name": "sku"}, {"name": "cost_price", "type": "money"},
                                        {"name": "owner"}, {"name": "region"},
                                        {"name": "lines", "type": "child_table", "options": {"entity": "line"}}]},
            {"name": "line", "fields": [{"name": "qty", "type": "integer"}]},
        ],
        "roles": [
            {"name": "sales", "entities": {"item": {"read": True, "update": True, "row_filter": "owner == $user",
                                                    "fields": {"cost_price": {"mask": "ROUND_TO(cost_price, 1000)"}}}}},
            {"name": "regional", "entities": {"item": {"read": True, "export": True,
                                                       "row_filter": "region in $user.regions",
                                                       "fields": {"cost_price": "hidden"}}}},
            {"name": "auditor", "entities": {"item": {"read": True, "fields": {"cost_price": "read"}}}},
            {"name": "clerk", "all_entities": {"read": True}},
        ],
    })


def test_single_role_defaults():
    app = _app()
    g = entity_grant(app, effective_roles(app, ["sales"]), "item")
    assert g.can("read") and g.can("update") and not g.can("delete") and not g.can("export")
    assert g.row_filters["read"] == ("owner == $user",)
    assert g.field_rule("cost_price") == FieldRule("mask", "ROUND_TO(cost_price, 1000)")
    assert g.field_rule("sku") == FieldRule("write")  # unlisted: write when the role may update
    r = entity_grant(app, effective_roles(app, ["regional"]), "item")
    assert r.field_rule("sku") == FieldRule("read") and not r.field_rule("cost_price").visible


def test_union_of_roles_ors_filters_and_takes_most_permissive_field():
    app = _app()
    g = entity_grant(app, effective_roles(app, ["sales", "regional"]), "item")
    assert g.row_filters["read"] == ("owner == $user", "region in $user.regions")
    assert g.row_filters["export"] == ("region in $user.regions",)
    assert g.row_filters["delete"] == ()
    assert g.field_rule("cost_price").access == "mask"  # mask beats hidden
    assert g.field_rule("sku").access == "write"
    g = entity_grant(app, effective_roles(app, ["sales", "auditor"]), "item")
    assert g.row_filters["read"] is None  # a role without a filter lifts it
    assert g.field_rule("cost_price").access == "read"  # read beats mask


def test_no_roles_no_rights_and_all_entities_default():
    app = _app()
    g = entity_grant(app, effective_roles(app, ["ghost"]), "item")
    assert not g.visible and not g.field_rule("sku").visible
    assert entity_grant(app, effective_roles(app, ["clerk"]), "line").can("read")


def test_child_entities_follow_their_parent():
    app = _app()
    g = entity_grant(app, effective_roles(app, ["sales"]), "line")
    assert g.can("read") and g.can("update") and g.row_filters["read"] is None
    assert g.field_rule("qty").access == "write"


def test_admin_is_a_role():
    app = _app()
    assert is_admin(["admin"]) and not is_admin(["sales"])
    g = entity_grant(app, effective_roles(app, ["admin"]), "item")  # implicit: the app defines none
    assert all(g.can(r) for r in ("create", "read", "update", "delete", "export")) and g.can_transition("ship")
    app.roles.append(app.roles[0].model_copy(update={"name": "admin"}))
    g = entity_grant(app, effective_roles(app, ["admin"]), "item")  # the app's own admin role rules
    assert not g.can("delete") and g.field_rule("cost_price").access == "mask"


def test_merge_field_access_order():
    mask = FieldMask(mask="1")
    assert merge_field_access([]).access == "hidden"
    assert merge_field_access(["hidden", mask]).access == "mask"
    assert merge_field_access([mask, "read"]).access == "read"
    assert merge_field_access(["read", "write", "hidden"]).access == "write"


def test_a_base_field_follows_its_field_unless_listed():
    """``base_amount`` (``options.base_of: amount``) not listed by a role takes the role's
    access to ``amount``; a mask becomes hidden (the mask reads ``amount``); a role listing
    it gets what it lists. Mutation tried: ``entity_grant`` using ``field_access`` for every
    field (the hiding role reads ``base_amount``) fails here."""
    app = AppSpec.model_validate({
        "name": "trade",
        "entities": [{"name": "so", "fields": [
            {"name": "amount", "type": "money"}, {"name": "fx_rate", "type": "decimal"},
            {"name": "base_amount", "type": "formula", "options": {"expression": "amount * fx_rate",
                                                                   "result_type": "money", "base_of": "amount"}}]}],
        "roles": [
            {"name": "hiding", "entities": {"so": {"read": True, "fields": {"amount": "hidden"}}}},
            {"name": "masking", "entities": {"so": {"read": True, "fields": {"amount": {"mask": "ROUND(amount, -3)"}}}}},
            {"name": "listing", "entities": {"so": {"read": True, "fields": {"amount": "hidden", "base_amount": "read"}}}},
            {"name": "plain", "entities": {"so": {"read": True, "update": True}}},
        ],
    })

    def rule(role: str) -> str:
        return entity_grant(app, effective_roles(app, [role]), "so").field_rule("base_amount").access

    assert [rule(r) for r in ("hiding", "masking", "listing", "plain")] == ["hidden", "hidden", "read", "write"]
    both = entity_grant(app, effective_roles(app, ["hiding", "plain"]), "so")
    assert both.field_rule("base_amount").access == "write"  # most permissive across roles, as for amount

from __future__ import annotations

import json

from jimu.platform.specs import KIND_MODELS, AppSpec, FieldSpec
from jimu.platform.specs.naming import name_from_label
from jimu.platform.specs.validate import parse_app


def ids(findings):
    return sorted({f.id for f in findings})


def test_all_findings_at_once_with_named_paths() -> None:
    _, findings = parse_app({"name": "shop", "entities": [
        {"name": "item", "fields": [
            {"name": "select", "type": "text"},
            {"name": "qty", "type": "decimal"},
            {"name": "qty", "type": "integer"},
            {"name": "Bad Name", "type": "text"},
            {"name": "wh", "type": "link", "options": {"entity": "warehous"}},
            {"name": "id", "type": "text"},
            {"name": "kind", "type": "choice"},
        ]},
        {"name": "warehouse", "fields": [{"name": "name", "type": "text"}]},
    ]})
    got = {(f.id, f.path) for f in findings}
    assert ("SPEC-E001", "entities.item.fields.select") in got
    assert ("SPEC-E002", "entities.item.fields.qty") in got
    assert ("SPEC-E001", "entities.item.fields.Bad Name") in got
    assert ("SPEC-E004", "entities.item.fields.wh") in got
    assert ("SPEC-E003", "entities.item.fields.id") in got
    assert ("SPEC-E005", "entities.item.fields.kind") in got
    link = next(f for f in findings if f.id == "SPEC-E004")
    assert "warehouse" in link.hint


def test_unknown_field_type_names_the_field() -> None:
    app, findings = parse_app({"name": "shop", "entities": [{"name": "item", "fields": [
        {"name": "a", "type": "bogus"}, {"name": "b", "type": "nope"}]}]})
    assert app is None
    paths = [f.path for f in findings]
    assert "entities.item.fields.a.type" in paths and "entities.item.fields.b.type" in paths
    assert "unknown field type 'bogus'" in findings[0].message


def test_chinese_label_only_gets_pinyin_name() -> None:
    f = FieldSpec.model_validate({"label": "成本价", "type": "money"})
    assert f.name == "cheng_ben_jia"
    assert f.options["scale"] == 2 and f.options["currency"] == "CNY"
    assert name_from_label("2号仓") == "f_2_hao_cang"
    assert name_from_label("select") == "select_value"


def test_label_plain_string_is_chinese() -> None:
    f = FieldSpec.model_validate({"name": "a", "label": "数量"})
    assert f.label.zh == "数量" and f.label.en == ""


def test_workflow_and_role_references() -> None:
    _, findings = parse_app({"name": "shop", "entities": [
        {"name": "so", "fields": [{"name": "state", "type": "choice", "options": {"choices": ["draft", "done"]}}]}],
        "roles": [{"name": "sales", "entities": {"so": {"read": True, "fields": {"nope": "hidden"}}, "ghost": {}}}],
        "workflows": [{"name": "so", "entity": "so", "states": [{"name": "draft", "initial": True}, {"name": "done"}],
                       "transitions": [{"name": "finish", "from": ["draft"], "to": "gone", "roles": ["boss"]}]}]})
    got = {(f.id, f.path) for f in findings}
    assert ("SPEC-E010", "workflows.so.transitions.finish") in got
    assert ("SPEC-E011", "workflows.so.transitions.finish.roles") in got
    assert ("SPEC-E011", "roles.sales.entities.so.fields.nope") in got
    assert ("SPEC-E011", "roles.sales.entities.ghost") in got


def test_valid_app_has_no_errors() -> None:
    app, findings = parse_app({"name": "shop", "entities": [
        {"name": "item", "fields": [{"name": "sku", "type": "text", "unique": True}]},
        {"name": "so", "fields": [{"name": "no", "type": "auto_number", "options": {"pattern": "SO-{YYYY}-{####}"}},
                                  {"name": "lines", "type": "child_table", "options": {"entity": "sol"}}]},
        {"name": "sol", "fields": [{"name": "item", "type": "link", "options": {"entity": "item"}}]}]})
    assert app is not None
    assert [f for f in findings if f.severity == "error"] == []


def test_json_schema_of_every_kind() -> None:
    for _kind, (_attr, model) in KIND_MODELS.items():
        schema = model.model_json_schema(by_alias=True)
        assert schema["type"] == "object"
        json.dumps(schema)
    assert "entities" in AppSpec.model_json_schema()["properties"]


def test_round_trip_is_lossless() -> None:
    data = {"name": "shop", "entities": [{"name": "item", "label": {"zh": "商品", "en": "Item"},
                                          "fields": [{"name": "price", "type": "money", "options": {"currency": "USD"}}]}]}
    app = AppSpec.model_validate(data)
    again = AppSpec.model_validate(json.loads(json.dumps(app.dump())))
    assert again == app


def test_base_of_links_two_amounts_of_one_entity() -> None:
    """``options.base_of`` names another decimal/money field of the same entity, once per
    field; a good one is silent (no SPEC-W013 'no meaning' either). Mutation tried: the
    check dropped from ``_check_field`` (no SPEC-E020) fails here."""
    def findings(*fields: dict) -> set[tuple[str, str]]:
        _, got = parse_app({"name": "trade", "entities": [{"name": "so", "fields": [
            {"name": "amount", "type": "money"}, {"name": "note", "type": "text"},
            {"name": "fx_rate", "type": "decimal"}, *fields]}]})
        return {(f.id, f.path) for f in got}

    base = {"name": "base_amount", "type": "formula", "options": {
        "expression": "amount * fx_rate", "result_type": "money", "scale": 2, "base_of": "amount"}}
    assert findings(base) == set()
    path = "entities.so.fields.{}.options.base_of"
    assert ("SPEC-E020", path.format("base_amount")) in findings({**base, "options": {**base["options"],
                                                                                     "base_of": "amout"}})
    assert ("SPEC-E020", path.format("base_amount")) in findings({**base, "options": {**base["options"],
                                                                                     "base_of": "note"}})
    assert ("SPEC-E020", path.format("twice")) in findings(
        base, {"name": "twice", "type": "money", "options": {"base_of": "amount"}})

from __future__ import annotations

from decimal import Decimal

import pytest

from jimu.core.errors import ValidationError
from jimu.platform.schema.evolve import assign_physical_names, literal_default, plan_schema
from jimu.platform.specs import AppSpec, FieldSpec


def app(fields: list[dict]) -> AppSpec:
    return AppSpec.model_validate({"name": "shop", "entities": [{"name": "item", "fields": fields}]})


def test_literal_defaults() -> None:
    assert literal_default(FieldSpec(name="a", default=5)) == (True, 5)
    assert literal_default(FieldSpec(name="a", default="'x'")) == (True, "x")
    assert literal_default(FieldSpec(name="a", default="True")) == (True, True)
    assert literal_default(FieldSpec(name="a", default="$today")) == (False, None)
    assert literal_default(FieldSpec(name="a", default="qty * 2")) == (False, None)


def test_columns_fixed_on_first_publish_and_kept_on_rename() -> None:
    v1 = assign_physical_names(None, app([{"name": "cost", "type": "money"}]))
    assert v1.entities[0].fields[0].column == "cost" and v1.entities[0].table == "app_shop__item"
    renamed = v1.model_copy(deep=True)
    renamed.entities[0].fields[0].name = "unit_cost"
    v2 = assign_physical_names(v1, renamed)
    assert v2.entities[0].field("unit_cost").column == "cost"
    assert plan_schema(v1, v2) == []


def test_retype_gets_a_new_column_and_archives_the_old() -> None:
    v1 = assign_physical_names(None, app([{"name": "code", "type": "text"}]))
    v2 = assign_physical_names(v1, app([{"name": "code", "type": "integer", "column": "code"}]))
    code = v2.entities[0].field("code")
    assert code.column == "code_2"
    old = v2.entities[0].field("code_was_text")
    assert old is not None and old.archived and old.column == "code"
    ops = plan_schema(v1, v2)
    assert [(o.action, o.details.get("old_column")) for o in ops] == [("retype_column", "code")]


def test_dropped_field_is_archived_not_lost() -> None:
    v1 = assign_physical_names(None, app([{"name": "a", "type": "text"}, {"name": "b", "type": "text"}]))
    v2 = assign_physical_names(v1, app([{"name": "a", "type": "text"}]))
    b = v2.entities[0].field("b")
    assert b is not None and b.archived and b.column == "b"


def test_plan_for_new_field_and_index() -> None:
    v1 = assign_physical_names(None, app([{"name": "a", "type": "text"}]))
    v2 = assign_physical_names(v1, app([{"name": "a", "type": "text", "unique": True}, {"name": "b", "type": "integer"}]))
    actions = [(o.action, o.field) for o in plan_schema(v1, v2)]
    assert ("create_index", "a") in actions and ("add_column", "b") in actions


def test_unique_on_duplicates_is_refused(shop) -> None:
    for sku in ("A", "B"):
        shop.records.create("shop", "item", {"sku": sku, "name": "same"})
    shop.store.put_field("shop", "item", "name", {"type": "text", "unique": True})
    with pytest.raises(ValidationError) as exc:
        shop.store.publish("shop")
    assert "more than once" in str(exc.value)


def test_tables_are_created_in_link_order(jimu) -> None:
    """An entity listed before the entity it links to (PostgreSQL checks the reference)."""
    jimu.store.create_app("order_first")
    jimu.store.save_draft("order_first", {"name": "order_first", "entities": [
        {"name": "line", "fields": [{"name": "batch", "type": "link", "options": {"entity": "batch"}}]},
        {"name": "batch", "fields": [{"name": "no", "type": "text"}]}]})
    assert jimu.store.publish("order_first").published
    b = jimu.records.create("order_first", "batch", {"no": "B1"})
    assert jimu.records.create("order_first", "line", {"batch": b["id"]})["batch"] == b["id"]


def test_new_decimal_field_with_a_default_fills_existing_rows(shop) -> None:
    """A decimal field with a literal default added to a table that has rows: the column's
    server default is the exact numeral (SQLAlchemy has no literal renderer for Decimal on
    NUMERIC, so publishing raised CompileError on SQLite). Mutation tried: the Decimal
    branch removed in ``_add_column`` (publish fails on SQLite)."""
    row = shop.records.create("shop", "item", {"sku": "A", "name": "milk"})
    shop.store.put_field("shop", "item", "fx_rate", {"type": "decimal", "default": "1.25",
                                                    "options": {"precision": 18, "scale": 6}})
    assert shop.store.publish("shop").published
    assert shop.records.get("shop", "item", row["id"])["fx_rate"] == Decimal("1.250000")

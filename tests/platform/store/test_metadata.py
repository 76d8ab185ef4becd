from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from jimu.core.errors import Conflict, NotFound, ValidationError
from tests.conftest import SHOP_SPEC


def table_names(jimu) -> set[str]:
    return set(sa.inspect(jimu.db.engine).get_table_names())


def test_create_publish_and_change_log(jimu) -> None:
    jimu.store.create_app("shop", {"zh": "商店", "en": "Shop"})
    with pytest.raises(Conflict):
        jimu.store.create_app("shop")
    with pytest.raises(ValidationError):
        jimu.store.create_app("Bad Name")
    jimu.store.save_draft("shop", SHOP_SPEC, author="alice")
    result = jimu.store.publish("shop", author="alice")
    assert result.published and result.version == 1
    assert "app_shop__item" in table_names(jimu)
    assert "added field Cost price (cost_price, money) to Item item" in result.as_dict()["summary"]["en"]
    log = jimu.store.changes("shop")
    assert any(c["summary_zh"] == "在 商品 (item) 中新增字段 成本价 (cost_price, money)" for c in log)
    assert all(c["author"] in ("alice", None) for c in log)


def test_put_field_rename_keeps_column_and_data(shop) -> None:
    item = shop.records.create("shop", "item", {"sku": "A1", "cost_price": "3.50"})
    shop.store.put_field("shop", "item", "cost_price", {"name": "unit_cost", "type": "money",
                                                        "label": {"zh": "成本价", "en": "Unit cost"}})
    shop.store.publish("shop")
    again = shop.records.get("shop", "item", item["id"])
    assert str(again["unit_cost"]) == "3.50" and "cost_price" not in again


def test_archive_and_restore_field(shop) -> None:
    item = shop.records.create("shop", "item", {"sku": "A1", "name": "苹果"})
    shop.store.archive_field("shop", "item", "name")
    shop.store.publish("shop")
    assert "name" not in shop.records.get("shop", "item", item["id"])
    shop.store.archive_field("shop", "item", "name", archived=False)
    shop.store.publish("shop")
    assert shop.records.get("shop", "item", item["id"])["name"] == "苹果"


def test_removing_a_field_from_the_list_archives_it(shop) -> None:
    shop.records.create("shop", "item", {"sku": "A1", "name": "苹果"})
    spec = shop.store.draft("shop").dump()
    ent = next(e for e in spec["entities"] if e["name"] == "item")
    ent["fields"] = [f for f in ent["fields"] if f["name"] != "name"]
    shop.store.save_draft("shop", spec)
    shop.store.publish("shop")
    published = shop.store.published("shop")
    archived = published.entity("item").field("name")
    assert archived is not None and archived.archived


def test_lossy_type_change_refused_then_converted(shop) -> None:
    shop.store.put_field("shop", "item", "code", {"type": "text"})
    shop.store.publish("shop")
    for i, code in enumerate(["1", "2", "x", "y"]):
        shop.records.create("shop", "item", {"sku": f"S{i}", "code": code})
    shop.store.put_field("shop", "item", "code", {"type": "integer"})
    dry = shop.store.publish("shop", dry_run=True)
    assert dry.previews[0].failing == 2 and dry.previews[0].rows == 4
    with pytest.raises(ValidationError) as exc:
        shop.store.publish("shop")
    problem = exc.value.problem()
    assert problem["previews"][0]["failing"] == 2
    assert {s["value"] for s in problem["previews"][0]["samples"]} == {"x", "y"}
    shop.store.put_field("shop", "item", "code", {"type": "integer", "conversion": {"on_error": "null"}})
    shop.store.publish("shop")
    codes = sorted((r["code"] for r in shop.records.list("shop", "item", limit=10).data), key=lambda v: (v is None, v))
    assert codes == [1, 2, None, None]
    # the original text column is kept as an archived field
    archived = [f for f in shop.store.published("shop").entity("item").fields if f.archived]
    assert any(f.type == "text" and f.column == "code" for f in archived)


def test_failed_publish_leaves_database_unchanged(shop) -> None:
    before_tables = table_names(shop)
    before_version = shop.store.published_version("shop")
    shop.store.put_element("shop", "entity", "supplier", {"fields": [{"name": "name", "type": "text"}]})
    shop.store.put_field("shop", "item", "barcode", {"type": "barcode", "default": "'none'"})

    def boom() -> None:
        raise RuntimeError("injected failure between DDL and metadata write")

    with pytest.raises(RuntimeError):
        shop.store.publish("shop", _after_ddl=boom)
    assert table_names(shop) == before_tables
    assert shop.store.published_version("shop") == before_version
    cols = {c["name"] for c in sa.inspect(shop.db.engine).get_columns("app_shop__item")}
    assert "barcode" not in cols
    assert shop.store.publish("shop").published


def test_rollback_and_compare(shop) -> None:
    shop.store.put_field("shop", "item", "color", {"type": "text", "label": "颜色"})
    shop.store.publish("shop")
    changes = shop.store.compare("shop", 1, 2)
    assert any(c.action == "added" and c.element == "item.color" for c in changes)
    result = shop.store.rollback("shop", 1)
    assert result.version == 3
    field = shop.store.published("shop").entity("item").field("color")
    assert field is not None and field.archived  # data kept, hidden
    assert [v["version"] for v in shop.store.versions("shop")] == [3, 2, 1]


def test_add_field_with_default_backfills(shop) -> None:
    for i in range(3):
        shop.records.create("shop", "item", {"sku": f"S{i}"})
    shop.store.put_field("shop", "item", "safety_stock", {"type": "integer", "default": 5})
    shop.store.publish("shop")
    assert {r["safety_stock"] for r in shop.records.list("shop", "item").data} == {5}


def test_invalid_draft_is_refused_whole(shop) -> None:
    with pytest.raises(ValidationError) as exc:
        shop.store.put_field("shop", "item", "bad", {"type": "link", "options": {"entity": "nowhere"}})
    assert any(e.field == "entities.item.fields.bad" for e in exc.value.errors)
    assert shop.store.draft("shop").entity("item").field("bad") is None
    with pytest.raises(NotFound):
        shop.store.draft("nope")


def test_add_formula_field_backfills_existing_rows(shop) -> None:
    """A stored formula added to a table with rows is computed for them in the publish, as a
    write would (rounded half-up to the field's scale; NULL where it fails or reads NULL;
    after the formulas it reads, once every new column exists); a
    formula following a link keeps NULL until its row is next written (its lookups are the
    record service's). Mutations tried, each seen to fail: ``evolve`` without
    ``_backfill_formulas`` (every row NULL); backfilling the added formulas in reverse
    order instead of ``recalculation_order`` (``doubled`` reads a NULL ``with_tax``)."""
    ids = [shop.records.create("shop", "item", {"sku": f"S{i}", "cost_price": c})["id"]
           for i, c in enumerate(("3.35", None, "0", "10"))]
    wh = shop.records.create("shop", "warehouse", {"name": "A"})["id"]
    so = shop.records.create("shop", "sales_order", {"warehouse": wh, "lines": [{"item": ids[0], "qty": "2"}]})
    shop.store.put_field("shop", "item", "with_tax", {"type": "formula", "options": {
        "expression": "cost_price * 1.13", "result_type": "money", "scale": 2}})
    shop.store.put_field("shop", "item", "doubled", {"type": "formula", "options": {
        "expression": "with_tax * 2", "result_type": "money", "scale": 2}})
    shop.store.put_field("shop", "item", "per_100", {"type": "formula", "options": {
        "expression": "100 / cost_price", "result_type": "decimal", "scale": 2}})
    shop.store.put_field("shop", "sales_order_line", "cost", {"type": "formula", "options": {
        "expression": "item.cost_price", "result_type": "money", "scale": 2}})
    shop.store.publish("shop")
    got = [shop.records.get("shop", "item", i) for i in ids]
    assert [g["with_tax"] for g in got] == [Decimal("3.79"), None, Decimal("0.00"), Decimal("11.30")]
    assert [g["doubled"] for g in got] == [Decimal("7.58"), None, Decimal("0.00"), Decimal("22.60")]
    assert [g["per_100"] for g in got] == [Decimal("29.85"), None, None, Decimal("10.00")]
    line = shop.records.get("shop", "sales_order", so["id"])["lines"][0]
    assert line["cost"] is None

"""A view's sort is served by an index: publishing a view sorted by an unindexed field
creates the index through schema evolution (on both backends, also on a table that
already holds rows); the list screens offer header sorting on indexed columns only."""

from __future__ import annotations

import sqlalchemy as sa

from jimu.platform.schema.sorting import index_view_sorts, sortable_fields
from tests.conftest import SHOP_SPEC


def _indexes(jimu, table: str) -> dict[str, list[str]]:
    with jimu.db.read() as c:
        return {ix["name"]: ix["column_names"] for ix in sa.inspect(c).get_indexes(table)}


def test_publishing_a_view_sorted_by_an_unindexed_field_creates_its_index(shop):
    """Mutation caught: dropping ``index_view_sorts`` from ``MetadataStore.publish``
    leaves the table without an index on ``name``."""
    table = shop.apps.get("shop").tables("item").name
    for i in range(5):
        shop.records.create("shop", "item", {"sku": f"S{i}", "name": f"n{5 - i}"})
    assert not any(cols == ["name"] for cols in _indexes(shop, table).values())
    spec = {**SHOP_SPEC, "views": [{"name": "items_by_name", "entity": "item", "columns": ["sku", "name"],
                                    "sort": ["-name"]}]}
    shop.store.save_draft("shop", spec, author="admin")
    result = shop.store.publish("shop", author="admin")
    assert any(op.action == "create_index" and op.field == "name" for op in result.schema)
    assert any(cols == ["name"] for cols in _indexes(shop, table).values())
    rt = shop.apps.get("shop")
    assert rt.spec.entity("item").field("name").indexed  # visible in the spec (and the designer)
    assert [r["name"] for r in shop.records.list("shop", "item", sort="-name").data] == ["n5", "n4", "n3", "n2", "n1"]
    # publishing again changes nothing more
    shop.store.save_draft("shop", shop.store.draft("shop"), author="admin")
    assert not [op for op in shop.store.publish("shop", author="admin").schema if op.action == "create_index"]


def test_index_view_sorts_leaves_indexed_and_unsortable_fields_alone():
    from jimu.platform.specs import AppSpec

    spec = AppSpec.model_validate({**SHOP_SPEC, "views": [
        {"name": "v", "entity": "item", "columns": ["sku"], "sort": ["sku", "-id", "nosuch"]}]})
    assert index_view_sorts(spec) is spec  # sku is unique (indexed), id is the key
    ent = spec.entity("sales_order")
    assert {"id", "created_at", "updated_at", "number", "warehouse"} <= sortable_fields(ent)
    assert "note" not in sortable_fields(ent)

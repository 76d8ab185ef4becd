"""Sorted, cursor-paginated lists: the same order as before (column, then id; NULLs last
in both directions), read so that an index on the sort column serves each page."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from tests.conftest import SHOP_SPEC

SPEC = {**SHOP_SPEC, "views": [{"name": "by_price", "entity": "item", "columns": ["sku"], "sort": ["cost_price"]}]}


@pytest.fixture
def priced(jimu):
    jimu.store.create_app("shop", SPEC["label"])
    jimu.store.save_draft("shop", SPEC, author="admin")
    jimu.store.publish("shop", author="admin")  # the view's sort indexes cost_price
    rnd = random.Random(5)
    prices = [None, "1.00", "2.50", "2.50", "9.99", None, "0.10"]
    for i in range(60):
        jimu.records.create("shop", "item", {"sku": f"S{i:03d}", "cost_price": rnd.choice(prices)})
    return jimu


def _walk(jimu, sort: str, limit: int) -> list[int]:
    out, cursor = [], None
    while True:
        page = jimu.records.list("shop", "item", sort=sort, limit=limit, cursor=cursor)
        out += [r["id"] for r in page.data]
        cursor = page.next_cursor
        if cursor is None:
            return out


@pytest.mark.parametrize("sort", ["cost_price", "-cost_price", "sku", "-id"])
def test_pages_keep_the_order_nulls_last(priced, sort):
    rows = priced.records.list("shop", "item", limit=500).data
    name = sort.lstrip("-")
    desc = sort.startswith("-")
    present = sorted((r for r in rows if r[name] is not None), key=lambda r: (r[name], r["id"]), reverse=desc)
    nulls = sorted((r for r in rows if r[name] is None), key=lambda r: r["id"], reverse=desc)
    expected = [r["id"] for r in present + nulls]
    for limit in (1, 7, 60, 100):
        assert _walk(priced, sort, limit) == expected


@pytest.mark.parametrize("backend", ["sqlite"])  # query plans are read on SQLite only
def test_an_indexed_sort_needs_no_full_sort(priced):
    """SQLite's plan for a page sorted by an indexed column (first page and after a
    cursor) uses the index and no temporary sort. Mutation caught: ordering by
    ``col IS NULL, col, id`` in one query (the old form) -> 'USE TEMP B-TREE FOR ORDER BY'."""
    assert priced.db.engine.dialect.name == "sqlite"
    seen: list[tuple[str, object]] = []

    def spy(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if "ORDER BY" in statement and "cost_price" in statement:
            seen.append((statement, parameters))

    sa.event.listen(priced.db.engine, "before_cursor_execute", spy)
    try:
        first = priced.records.list("shop", "item", sort="-cost_price", limit=5)
        priced.records.list("shop", "item", sort="-cost_price", limit=5, cursor=first.next_cursor)
    finally:
        sa.event.remove(priced.db.engine, "before_cursor_execute", spy)
    assert len(seen) >= 2
    with priced.db.engine.connect() as c:
        for statement, params in seen[:2]:
            plan = " | ".join(str(r[-1]) for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            assert "cost_price" in plan and "INDEX" in plan and "TEMP B-TREE" not in plan, plan

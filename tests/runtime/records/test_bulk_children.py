"""New child rows of one parent write go to the database in one INSERT per child list
(bulk_children.insert_children), with the same checks as one-row inserts."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from jimu.core.errors import ValidationError


def _spy(jimu, seen: list[str]):
    def spy(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        seen.append(statement.lstrip().upper())
    sa.event.listen(jimu.db.engine, "before_cursor_execute", spy)
    return spy


def test_new_child_rows_are_one_insert_per_list(shop) -> None:
    """Create with 6 lines and an update adding 6 more between kept rows: each is one
    INSERT into the line table, rows stored in list order with their typed values, and
    the 6 lines' item links are one lookup, not six.
    Mutation caught: ``_replace_children`` inserting new rows one by one through
    ``self._insert`` (6 INSERTs; tried, fails), and dropping ``prefetch_links`` from
    ``_prepare_children`` (6 link lookups; tried, fails)."""
    items = [shop.records.create("shop", "item", {"sku": f"A{i}"})["id"] for i in range(6)]
    seen: list[str] = []
    spy = _spy(shop, seen)
    try:
        so = shop.records.create("shop", "sales_order", {"lines": [
            {"item": it, "qty": str(n + 1), "price": "2.50"} for n, it in enumerate(items)]})
        created = [s for s in seen if s.startswith("INSERT") and "SALES_ORDER_LINE" in s]
        lookups = [s for s in seen if s.startswith("SELECT") and "__ITEM" in s and "SALES_ORDER" not in s]
        seen.clear()
        kept = so["lines"][0]
        upd = shop.records.update("shop", "sales_order", so["id"], {"lines": [
            {"item": it, "qty": str(10 + n)} for n, it in enumerate(items[:3])] + [{"id": kept["id"]}] + [
            {"item": it, "qty": str(20 + n)} for n, it in enumerate(items[3:])]})
        added = [s for s in seen if s.startswith("INSERT") and "SALES_ORDER_LINE" in s]
    finally:
        sa.event.remove(shop.db.engine, "before_cursor_execute", spy)
    assert len(created) == 1 and len(added) == 1, (created, added)
    assert len(lookups) <= 1, lookups
    assert [ln["qty"] for ln in so["lines"]] == [Decimal(n) for n in (1, 2, 3, 4, 5, 6)]
    assert [ln["price"] for ln in so["lines"]] == [Decimal("2.50")] * 6
    assert [ln["item"] for ln in so["lines"]] == items
    assert [ln["qty"] for ln in upd["lines"]] == [Decimal(n) for n in (10, 11, 12, 1, 20, 21, 22)]
    again = shop.records.get("shop", "sales_order", so["id"])
    assert [ln["qty"] for ln in again["lines"]] == [Decimal(n) for n in (10, 11, 12, 1, 20, 21, 22)]
    assert again["lines"][3]["id"] == kept["id"] and again["version"] == 2


def test_an_invalid_new_row_writes_nothing(shop) -> None:
    """A bad new row among good ones (missing item, unknown item) is the error named by
    its index and the list stays as it was.
    Mutation caught: ``prefetch_links`` adding every wanted id to ``known`` without the
    lookup (the unknown item 999999 passes; tried, fails)."""
    a, b = (shop.records.create("shop", "item", {"sku": s})["id"] for s in ("A", "B"))
    so = shop.records.create("shop", "sales_order", {"lines": [{"item": a, "qty": "1"}]})
    with pytest.raises(ValidationError) as exc:
        shop.records.update("shop", "sales_order", so["id"], {"lines": [
            {"item": a, "qty": "2"}, {"item": b, "qty": "3"}, {"item": 999999, "qty": "4"}, {"qty": "5"}]})
    assert {e.field: e.code for e in exc.value.errors} == {"lines[2].item": "link.missing", "lines[3].item": "required"}
    after = shop.records.get("shop", "sales_order", so["id"])
    assert [(ln["item"], ln["qty"]) for ln in after["lines"]] == [(a, Decimal(1))] and after["version"] == 1

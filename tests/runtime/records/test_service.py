from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from jimu.core.errors import Conflict, NotFound, ValidationError, VersionConflict
from jimu.platform.actor import Actor
from jimu.platform.audit import query_audit
from jimu.runtime.records import record_to_json

ZHANG = Actor("zhang", ("admin",))


def test_create_read_typed_values(shop) -> None:
    rec = shop.records.create("shop", "item", {"sku": "A1", "name": "苹果", "cost_price": "12.50", "kind": "goods"},
                              actor=ZHANG)
    assert rec["cost_price"] == Decimal("12.50") and rec["active"] is True
    assert rec["version"] == 1 and rec["created_by"] == "zhang"
    body = record_to_json(rec)
    assert body["cost_price"] == "12.50" and isinstance(body["created_at"], str)


def test_one_error_per_field(shop) -> None:
    with pytest.raises(ValidationError) as exc:
        shop.records.create("shop", "item", {"cost_price": "abc", "kind": "other", "bogus": 1, "active": "maybe",
                                             "name": "x" * 300})
    fields = {e.field: e.code for e in exc.value.errors}
    assert fields == {"cost_price": "type", "kind": "type", "bogus": "field.unknown", "active": "type",
                      "name": "type", "sku": "required"}


def test_precision_and_unique(shop) -> None:
    shop.records.create("shop", "item", {"sku": "A1"})
    with pytest.raises(ValidationError) as exc:
        shop.records.create("shop", "item", {"sku": "A1", "cost_price": "1.234"})
    assert {e.field for e in exc.value.errors} == {"sku", "cost_price"}


def test_sql_looking_text_is_stored_verbatim(shop) -> None:
    evil = "x'); DROP TABLE app_shop__item; --"
    rec = shop.records.create("shop", "item", {"sku": "E1", "name": evil})
    assert shop.records.get("shop", "item", rec["id"])["name"] == evil


def test_children_saved_atomically_with_parent(shop) -> None:
    wh = shop.records.create("shop", "warehouse", {"name": "主仓"})
    item = shop.records.create("shop", "item", {"sku": "A1"})
    with pytest.raises(ValidationError) as exc:
        shop.records.create("shop", "sales_order", {"warehouse": wh["id"], "lines": [
            {"item": item["id"], "qty": "1"}, {"item": 999, "qty": "x"}]})
    assert {e.field for e in exc.value.errors} == {"lines[1].item", "lines[1].qty"}
    assert shop.records.list("shop", "sales_order").data == []
    so = shop.records.create("shop", "sales_order", {"warehouse": wh["id"], "lines": [
        {"item": item["id"], "qty": "1"}, {"item": item["id"], "qty": "2.5"}]})
    assert [line["qty"] for line in so["lines"]] == [Decimal("1"), Decimal("2.5")]
    assert so["number"].startswith("SO-") and so["number"].endswith("-0001")
    upd = shop.records.update("shop", "sales_order", so["id"], {"lines": [
        {"id": so["lines"][1]["id"], "qty": "3"}, {"item": item["id"], "qty": "4"}]}, expected_version=1)
    assert [line["qty"] for line in upd["lines"]] == [Decimal("3"), Decimal("4")]
    assert upd["version"] == 2


def test_version_conflict_and_not_found(shop) -> None:
    rec = shop.records.create("shop", "item", {"sku": "A1"})
    shop.records.update("shop", "item", rec["id"], {"name": "a"}, expected_version=1)
    with pytest.raises(VersionConflict) as exc:
        shop.records.update("shop", "item", rec["id"], {"name": "b"}, expected_version=1)
    assert exc.value.extra["current_version"] == 2
    with pytest.raises(NotFound):
        shop.records.get("shop", "item", 12345)
    with pytest.raises(NotFound):
        shop.records.get("shop", "item", "abc")
    with pytest.raises(NotFound):
        shop.records.get("shop", "nothing", 1)


def test_delete_refused_while_linked(shop) -> None:
    wh = shop.records.create("shop", "warehouse", {"name": "主仓"})
    so = shop.records.create("shop", "sales_order", {"warehouse": wh["id"]})
    with pytest.raises(Conflict):
        shop.records.delete("shop", "warehouse", wh["id"])
    shop.records.delete("shop", "sales_order", so["id"])
    shop.records.delete("shop", "warehouse", wh["id"])


def test_cursor_pagination_visits_every_row_once(shop) -> None:
    for i in range(23):
        shop.records.create("shop", "item", {"sku": f"S{i:02d}", "cost_price": str(i % 5) if i % 7 else None})
    for sort in ("-id", "sku", "-cost_price", "cost_price"):
        seen, cursor = [], None
        while True:
            page = shop.records.list("shop", "item", sort=sort, limit=4, cursor=cursor)
            seen += [r["sku"] for r in page.data]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(f"S{i:02d}" for i in range(23)), sort
        assert len(seen) == 23


def test_invalid_cursor_and_sort(shop) -> None:
    with pytest.raises(ValidationError):
        shop.records.list("shop", "item", cursor="!!!")
    with pytest.raises(ValidationError):
        shop.records.list("shop", "item", sort="nope")


def test_audit_rows_with_sentences(shop) -> None:
    rec = shop.records.create("shop", "item", {"sku": "A1", "name": "苹果", "cost_price": "5"}, actor=ZHANG)
    shop.records.update("shop", "item", rec["id"], {"cost_price": "8"}, actor=ZHANG)
    with shop.db.read() as c:
        entries = query_audit(c, "shop", entity="item", record=str(rec["id"]))
    assert entries[0]["summary"]["zh"] == "zhang 将 商品 苹果 的 成本价 从 5.00 改为 8.00"
    assert entries[0]["changes"] == [{"field": "cost_price", "old": "5.00", "new": "8.00"}]
    assert entries[1]["action"] == "create"


def test_bulk_insert(shop) -> None:
    n = shop.records.bulk_insert("shop", "item", [{"sku": f"B{i}", "cost_price": "1.5"} for i in range(500)])
    assert n == 500
    with pytest.raises(ValidationError) as exc:
        shop.records.bulk_insert("shop", "item", [{"sku": "C1"}, {"cost_price": "x"}])
    assert {e.field for e in exc.value.errors} == {"[1].cost_price", "[1].sku"}


def test_auto_numbers_gapless_under_concurrency(shop) -> None:
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(10):
                rec = shop.records.create("shop", "sales_order", {"note": "x"})
                with lock:
                    numbers.append(rec["number"])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    counters = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert counters == list(range(1, 61))

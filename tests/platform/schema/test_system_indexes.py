"""The system indexes of generated tables (issue 24): ``(created_at, id)``,
``(updated_at, id)`` and ``(state, created_at, id)`` exist after a publish, come back on
an existing database when Jimu opens it or when the app is published again, and serve
the list query the API really runs (its ORDER BY and its cursor), on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from jimu.core.clock import now
from jimu.platform.actor import Actor
from jimu.platform.schema import existing_indexes
from jimu.platform.schema.columns import index_name
from jimu.runtime.context import Jimu
from jimu.runtime.records.query import list_records
from tests.platform.schema.conftest import published

TABLE = "app_crm__deal"
CREATED = index_name(TABLE, "_created_at", "index")
UPDATED = index_name(TABLE, "_updated_at", "index")
STATE = index_name(TABLE, "_state_state", "index")
SYSTEM = {CREATED, UPDATED, STATE}

SPEC: dict[str, Any] = {
    "name": "crm",
    "entities": [
        {"name": "customer", "fields": [{"name": "name", "type": "text"}]},
        {"name": "deal", "fields": [
            {"name": "title", "type": "text"},
            {"name": "customer", "type": "link", "options": {"entity": "customer"}},
            {"name": "state", "type": "choice",
             "options": {"choices": [{"value": "open"}, {"value": "won"}]}}]},
    ],
    "workflows": [{"name": "deal", "entity": "deal", "states": [{"name": "open", "initial": True}, {"name": "won"}],
                   "transitions": [{"name": "win", "from": ["open"], "to": "won"}]}],
}
ROWS = 2000


@pytest.fixture
def crm(db_url: str) -> Iterator[Jimu]:
    with published(db_url, "crm", SPEC) as jimu:
        yield jimu


def _indexes(jimu: Jimu) -> set[str]:
    with jimu.db.read() as c:
        return existing_indexes(c)[1] & (SYSTEM | {index_name(TABLE, "customer", "index")})


def _drop_system_indexes(jimu: Jimu) -> None:
    """What a database published before the system indexes existed looks like."""
    with jimu.db.write() as c:
        for name in SYSTEM:
            c.execute(sa.text(f'DROP INDEX "{name}"'))
    assert _indexes(jimu) == {index_name(TABLE, "customer", "index")}


def _seed(jimu: Jimu) -> None:
    table = jimu.apps.get("crm").tables("deal")
    t0 = now() - timedelta(days=30)
    rows = [{"title": f"deal {i}", "state": "open" if i % 3 else "won", "version": 1,
             # Out of id order (7919 is prime to ROWS), in pairs sharing a created_at: ties on id.
             "created_at": t0 + timedelta(seconds=(i * 7919 % ROWS) // 2),
             "updated_at": t0 + timedelta(seconds=i)} for i in range(ROWS)]
    with jimu.db.write() as c:
        c.execute(table.insert(), rows)
        if not jimu.db.is_sqlite:
            c.execute(sa.text(f"ANALYZE {TABLE}"))
        else:
            c.execute(sa.text("ANALYZE"))


def _list_sql(jimu: Jimu, **kw: Any) -> tuple[list[dict[str, Any]], str | None, str, Any]:
    """Run list_records as the API does; returns (rows, next cursor, the SELECT it sent,
    its parameters)."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and TABLE in statement:
            seen.append((statement, parameters))

    rt = jimu.apps.get("crm")
    ent = rt.spec.entity("deal")
    event.listen(jimu.db.engine, "before_cursor_execute", capture)
    try:
        with jimu.db.read() as c:
            res = list_records(c, rt, ent, where=kw.get("where"), filter=kw.get("filter"), sort=kw.get("sort"),
                               limit=kw.get("limit", 50), cursor=kw.get("cursor"), actor=Actor("admin", ["admin"]))
    finally:
        event.remove(jimu.db.engine, "before_cursor_execute", capture)
    statement, params = seen[-1]
    return res.data, res.next_cursor, statement, params


def _plan(jimu: Jimu, statement: str, params: Any) -> str:
    with jimu.db.read() as c:
        raw = c.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        cur.execute(("EXPLAIN QUERY PLAN " if jimu.db.is_sqlite else "EXPLAIN ") + statement, params)
        text = "\n".join(" ".join(str(x) for x in row) for row in cur.fetchall())
        cur.close()
    return text


def _uses(plan: str, index: str, sqlite: bool) -> bool:
    """The plan reads ``index`` in order and sorts nothing itself."""
    if sqlite:
        return f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan
    return index in plan and "Sort" not in plan  # neither Sort nor Incremental Sort


def test_publish_creates_the_system_indexes(crm: Jimu) -> None:
    """Mutation caught: dropping ``system_indexes`` from ``build_table`` (or the state index)."""
    assert _indexes(crm) == SYSTEM | {index_name(TABLE, "customer", "index")}
    customer_table = index_name("app_crm__customer", "_created_at", "index")
    with crm.db.read() as c:
        assert customer_table in existing_indexes(c)[1]


def test_default_list_reads_the_created_at_index(crm: Jimu) -> None:
    """``sort=-created_at`` (the contract's default), the next page by cursor, and a state
    filter with that sort each read an index in order, with no sort step, and page through
    every row exactly once in (created_at, id) order. Mutations caught: putting
    ``col IS NULL`` back first in the ORDER BY of a NOT NULL column (SQLite sorts in a
    temp B-tree, PostgreSQL adds a Sort), an index on ``created_at`` alone on PostgreSQL
    (Incremental Sort), dropping the ``col <=`` bound of the cursor (rows repeat or go
    missing is caught by the paging check)."""
    _seed(crm)
    sqlite = crm.db.is_sqlite
    data, cursor, sql, params = _list_sql(crm, sort="-created_at")
    assert _uses(_plan(crm, sql, params), CREATED, sqlite), _plan(crm, sql, params)
    assert cursor is not None
    _data2, _cursor2, sql2, params2 = _list_sql(crm, sort="-created_at", cursor=cursor)
    assert _uses(_plan(crm, sql2, params2), CREATED, sqlite), _plan(crm, sql2, params2)
    _d, _c, sql3, params3 = _list_sql(crm, sort="-updated_at")
    assert _uses(_plan(crm, sql3, params3), UPDATED, sqlite), _plan(crm, sql3, params3)
    _d, _c, sql4, params4 = _list_sql(crm, sort="-created_at", filter="state == 'won'")
    assert _uses(_plan(crm, sql4, params4), STATE, sqlite), _plan(crm, sql4, params4)

    seen: list[tuple[Any, int]] = []
    cursor = None
    for _page in range(ROWS // 97 + 2):  # bounded: a broken cursor may never end
        page, cursor, _s, _p = _list_sql(crm, sort="-created_at", cursor=cursor, limit=97)
        seen += [(r["created_at"], r["id"]) for r in page]
        if cursor is None:
            break
    assert len(seen) == ROWS and len(set(seen)) == ROWS
    assert seen == sorted(seen, reverse=True)
    ascending: list[int] = []
    cursor = None
    for _page in range(ROWS // 300 + 2):
        page, cursor, _s, _p = _list_sql(crm, sort="created_at", cursor=cursor, limit=300)
        ascending += [r["id"] for r in page]
        if cursor is None:
            break
    assert ascending == [i for _t, i in reversed(seen)]


def test_an_existing_database_gets_them_when_opened(crm: Jimu) -> None:
    """A database whose tables predate the system indexes gets them from ``Jimu.open``.
    Mutation caught: not calling ``upgrade_app_tables`` in ``Jimu.open``."""
    _drop_system_indexes(crm)
    again = Jimu.open(crm.db.url)
    try:
        assert _indexes(again) == SYSTEM | {index_name(TABLE, "customer", "index")}
    finally:
        again.close()


def test_an_existing_app_gets_them_on_its_next_publish(crm: Jimu) -> None:
    """Mutation caught: not calling ``ensure_system_indexes`` at the end of ``apply_schema``."""
    _drop_system_indexes(crm)
    crm.store.put_field("crm", "deal", "note", {"type": "text"})
    assert crm.store.publish("crm").published
    assert _indexes(crm) == SYSTEM | {index_name(TABLE, "customer", "index")}


SHOP: dict[str, Any] = {
    "name": "shop",
    "entities": [{"name": "item", "fields": [
        {"name": "sku", "type": "text"},
        {"name": "owner", "type": "text", "indexed": True},
        {"name": "region", "type": "text"},
        {"name": "other", "type": "text"},
        {"name": "tags", "type": "json"},
        {"name": "qty", "type": "decimal", "options": {"precision": 18, "scale": 4}}]}],
    "roles": [
        {"name": "clerk", "entities": {"item": {"read": True, "row_filter": "owner == $user and qty >= 0"}}},
        {"name": "north", "entities": {"item": {"read": True, "row_filter": '"north" == region'}}},
        {"name": "noisy", "all_entities": {"read": True, "row_filter": "other == sku or owner == $user"}},
        {"name": "pair", "entities": {"item": {"read": True, "row_filter": "other == sku"}}},
    ],
}
RF_OWNER = index_name("app_shop__item", "_rf_owner", "index")
RF_REGION = index_name("app_shop__item", "_rf_region", "index")


@pytest.fixture
def shop(db_url: str) -> Iterator[Jimu]:
    with published(db_url, "shop", SHOP) as jimu:
        yield jimu


def test_row_filter_fields_are_the_top_level_equalities() -> None:
    """Only a top-level ``field == <no field>`` term (either side, under ``and``) counts.
    Mutations caught: descending into ``or`` (the noisy role would add ``owner`` twice and
    ``other``), accepting ``field == field`` (``pair``), keeping only the left-hand side
    (``"north" == region`` is lost)."""
    from jimu.platform.schema.columns import row_filter_fields
    from jimu.platform.specs.app import AppSpec

    app = AppSpec.model_validate(SHOP)
    item = app.entity("item")
    assert item is not None
    assert [f.name for f in row_filter_fields(app, item)] == ["owner", "region"]
    bad = AppSpec.model_validate({**SHOP, "roles": [
        {"name": "x", "entities": {"item": {"read": True, "row_filter": "tags == $user or owner == $user"}}},
        {"name": "y", "entities": {"item": {"read": True, "row_filter": "not (owner == $user)"}}},
        {"name": "z", "entities": {"item": {"read": True, "row_filter": "tags == $user"}}}]})
    bad_item = bad.entity("item")
    assert bad_item is not None
    assert row_filter_fields(bad, bad_item) == []


def test_a_row_filtered_list_reads_its_index_without_sorting(shop: Jimu) -> None:
    """The clerk's list (``owner == $user``, sorted by ``-created_at``, first page and the
    next by cursor) reads ``(owner, created_at, id)`` in order with no sort step; SQLite
    without statistics (a fresh database never ANALYZEd) is the case that sorted every
    row of the caller before. The index also comes back on an existing database when Jimu
    opens it. Mutation caught: not adding the row filter indexes in ``system_indexes``
    (SQLite: ``USE TEMP B-TREE FOR ORDER BY`` on the owner index; PostgreSQL: a Sort)."""
    from jimu.runtime.records.query import filter_clause

    table = shop.apps.get("shop").tables("item")
    t0 = now() - timedelta(days=30)
    rows = [{"sku": f"s{i}", "owner": "clerk" if i % 4 else f"u{i % 7}", "region": "north", "qty": i,
             "version": 1, "created_at": t0 + timedelta(seconds=(i * 7919 % ROWS) // 2),
             "updated_at": t0 + timedelta(seconds=i)} for i in range(ROWS)]
    with shop.db.write() as c:
        c.execute(table.insert(), rows)
        if not shop.db.is_sqlite:
            c.execute(sa.text("ANALYZE app_shop__item"))
    rt = shop.apps.get("shop")
    ent = rt.spec.entity("item")
    clerk = Actor("clerk", ["clerk"])
    where = filter_clause(rt, ent, "owner == $user and qty >= 0", clerk)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "app_shop__item" in statement:
            seen.append((statement, parameters))

    event.listen(shop.db.engine, "before_cursor_execute", capture)
    try:
        with shop.db.read() as c:
            first = list_records(c, rt, ent, where=where, filter=None, sort="-created_at", limit=50, cursor=None,
                                 actor=clerk)
            list_records(c, rt, ent, where=where, filter=None, sort="-created_at", limit=50,
                         cursor=first.next_cursor, actor=clerk)
    finally:
        event.remove(shop.db.engine, "before_cursor_execute", capture)
    assert len(first.data) == 50 and all(r["owner"] == "clerk" for r in first.data)
    assert len(seen) == 2
    for statement, params in seen:
        plan = _plan(shop, statement, params)
        assert _uses(plan, RF_OWNER, shop.db.is_sqlite), plan
    with shop.db.read() as c:
        assert {RF_OWNER, RF_REGION} <= existing_indexes(c)[1]
    with shop.db.write() as c:
        c.execute(sa.text(f'DROP INDEX "{RF_OWNER}"'))
    again = Jimu.open(shop.db.url)
    try:
        with again.db.read() as c:
            assert RF_OWNER in existing_indexes(c)[1]
    finally:
        again.close()

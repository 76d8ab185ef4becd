"""Fixtures for the expression tests: a small app with every kind of field, its tables in
a real database, and a helper running an expression in SQL for one row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.db import Database
from jimu.platform.expressions import CompiledExpression, Env, compile_expression
from jimu.platform.schema.columns import AppTables
from jimu.platform.specs import AppSpec

NOW = datetime(2026, 3, 15, 10, 30, 0, tzinfo=UTC)

APP_DATA: dict[str, Any] = {
    "name": "t",
    "entities": [
        {"name": "warehouse", "label": {"zh": "仓库", "en": "Warehouse"}, "fields": [
            {"name": "code", "label": {"zh": "编码", "en": "Code"}},
            {"name": "confirm_code", "label": {"zh": "确认码", "en": "Confirm code"}},
            {"name": "region", "label": {"zh": "区域", "en": "Region"}},
            {"name": "parent", "type": "link", "options": {"entity": "warehouse"}},
        ]},
        {"name": "item", "label": {"zh": "物料", "en": "Item"}, "fields": [
            {"name": "name", "label": {"zh": "名称", "en": "Name"}},
            {"name": "cost_price", "label": {"zh": "成本价", "en": "Cost Price"}, "type": "money", "indexed": True},
            {"name": "price", "label": {"zh": "售价", "en": "Price"}, "type": "decimal"},
            {"name": "qty", "label": {"zh": "数量", "en": "Qty"}, "type": "integer"},
            {"name": "rate", "type": "decimal", "options": {"precision": 9, "scale": 4}},
            {"name": "active", "type": "boolean"},
            {"name": "expiry", "type": "date"},
            {"name": "checked_at", "type": "datetime"},
            {"name": "state", "type": "choice", "options": {"choices": ["draft", "done"]}},
            {"name": "owner", "type": "user"},
            {"name": "warehouse", "type": "link", "options": {"entity": "warehouse"}},
            {"name": "margin", "type": "formula", "options": {"expression": "price - cost_price",
                                                              "result_type": "decimal"}},
            {"name": "lines", "type": "child_table", "options": {"entity": "item_line"}},
        ]},
        {"name": "item_line", "fields": [
            {"name": "sku"},
            {"name": "amount", "type": "money"},
            {"name": "qty", "type": "integer"},
        ]},
    ],
}


@pytest.fixture(scope="session")
def app() -> AppSpec:
    return AppSpec.model_validate(APP_DATA)


@pytest.fixture
def env() -> Env:
    return Env(user="alice", roles=("sales",), user_attrs={"regions": ["north", "east"], "level": 3}, now=NOW)


@pytest.fixture
def tables(app: AppSpec, db: Database) -> Iterator[AppTables]:
    t = AppTables(app)
    t.metadata.create_all(db.engine)
    yield t


SqlRun = Callable[..., Any]


@pytest.fixture
def sql_value(app: AppSpec, db: Database, tables: AppTables) -> SqlRun:
    """``sql_value(expr, row_id, env, entity="item")``: the expression's SQL value for a row."""

    def run(ce: CompiledExpression | str, row_id: int, env: Env, entity: str = "item") -> Any:
        if isinstance(ce, str):
            ce = compile_expression(ce, app, entity)
        base = tables(entity)
        stmt = sa.select(ce.to_sql(tables, env).label("v")).select_from(base).where(base.c.id == row_id)
        with db.read() as conn:
            return conn.execute(stmt).scalar_one()

    return run


def insert(db: Database, tables: AppTables, entity: str, **values: Any) -> int:
    """Insert one row (system columns filled) and return its id."""
    table = tables(entity)
    row = {"created_at": NOW, "updated_at": NOW, "version": 1, **values}
    with db.write() as conn:
        result = conn.execute(sa.insert(table).values(**row))
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

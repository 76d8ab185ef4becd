"""Saved list views: a user's named filter/sort/search of one entity's list, kept in a
small table of the screens (created on first use)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.platform.db import Database

__all__ = ["saved_views", "ensure_table", "list_saved", "save_view", "delete_view"]

_meta = sa.MetaData()
saved_views = sa.Table(
    "jimu_screen_view", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(100), nullable=False),
    sa.Column("username", sa.String(150), nullable=False),
    sa.Column("name", sa.String(150), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_jimu_screen_view_owner", "app", "entity", "username"),
)
_ready: set[int] = set()


def ensure_table(db: Database) -> None:
    """Create the saved-views table on first use (before a read transaction that needs it:
    a snapshot taken earlier would not see the new table)."""
    if id(db) in _ready:
        return
    with db.write() as c:
        _meta.create_all(c, checkfirst=True)
    _ready.add(id(db))


def list_saved(db: Database, app: str, entity: str, username: str, *,
               conn: Connection | None = None) -> list[dict[str, Any]]:
    """The user's saved views of ``entity``, oldest first (read on ``conn`` when given)."""
    ensure_table(db)
    t = saved_views.c
    stmt = sa.select(saved_views).where(t.app == app, t.entity == entity, t.username == username).order_by(t.id)
    if conn is not None:
        rows = conn.execute(stmt).mappings().all()
    else:
        with db.read() as c:
            rows = c.execute(stmt).mappings().all()
    return [{"id": r["id"], "name": r["name"], "query": r["query"]} for r in rows]


def save_view(db: Database, app: str, entity: str, username: str, name: str, query: str) -> int:
    """Save (or replace, by name) a view; returns its id."""
    ensure_table(db)
    t = saved_views.c
    with db.write() as c:
        c.execute(sa.delete(saved_views).where(t.app == app, t.entity == entity, t.username == username,
                                               t.name == name))
        return int(c.execute(saved_views.insert().values(app=app, entity=entity, username=username, name=name,
                                                         query=query, created_at=now())
                             .returning(t.id)).scalar_one())


def delete_view(db: Database, app: str, username: str, view_id: int) -> None:
    """Delete one of the user's saved views (someone else's is left alone)."""
    ensure_table(db)
    t = saved_views.c
    with db.write() as c:
        c.execute(sa.delete(saved_views).where(t.id == view_id, t.app == app, t.username == username))

"""The auth generation: one database counter that every change to a credential bumps, in
the changing transaction, so a cache of credentials can tell with one cheap read whether
what it remembers may have changed.

Triggers bump it on every UPDATE or DELETE of ``jimu_user`` (deactivation, roles,
attributes, password and token epoch, lockout), ``jimu_api_key`` (revocation) and
``jimu_session`` (logout, expiry sweep), whoever runs the statement: the API, the CLI,
another worker or a hand-written SQL session. Inserts do not bump it (a new user, key or
session invalidates nothing remembered). The bump commits or rolls back with the change,
so a reader that sees the old value in one statement also sees the old rows in it, and a
reader that sees the new value sees the new rows.

PostgreSQL runs the bump BEFORE each statement (not per row): every writer of these
tables takes the counter's row lock before any of their rows, so two such transactions
cannot deadlock on the counter; a statement that changes no row bumps it too (harmless:
a cache refill). SQLite has row triggers only, and one writer at a time.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.db import system_metadata

__all__ = ["auth_generation", "ensure_auth_generation", "GENERATION_TABLES", "generation_installed"]

auth_generation = sa.Table(
    "jimu_auth_generation",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# Tables whose updates and deletes bump the generation.
GENERATION_TABLES = ("jimu_user", "jimu_api_key", "jimu_session")
_BUMP = "UPDATE jimu_auth_generation SET value = value + 1 WHERE id = 1"
_FUNCTION = "jimu_auth_generation_bump"


def _trigger(table: str, event: str = "") -> str:
    return f"jimu_auth_gen__{table}{'_' + event if event else ''}"


def ensure_auth_generation(conn: Connection) -> None:
    """Create the counter row and the triggers where missing (idempotent; in the caller's
    transaction, after the tables exist)."""
    auth_generation.create(conn, checkfirst=True)
    if conn.execute(sa.select(auth_generation.c.id).where(auth_generation.c.id == 1)).first() is None:
        conn.execute(auth_generation.insert().values(id=1, value=0))
    if conn.dialect.name == "sqlite":
        for table in GENERATION_TABLES:
            for event in ("update", "delete"):
                conn.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS {_trigger(table, event)} AFTER {event.upper()} "
                                     f"ON {table} BEGIN {_BUMP}; END")
        return
    conn.exec_driver_sql(f"CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
                         f"$$ BEGIN {_BUMP}; RETURN NULL; END $$")
    for table in GENERATION_TABLES:
        conn.exec_driver_sql(f"CREATE OR REPLACE TRIGGER {_trigger(table)} BEFORE UPDATE OR DELETE ON {table} "
                             f"FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()")


def generation_installed(conn: Connection) -> bool:
    """Whether the counter row and every trigger exist in this database (a database
    opened without upgrading may lack them: then nothing may trust the counter)."""
    if conn.dialect.name == "sqlite":
        names = set(conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')").scalars())
        wanted = {_trigger(t, e) for t in GENERATION_TABLES for e in ("update", "delete")}
    else:
        names = set(conn.exec_driver_sql(
            "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace").scalars())
        names |= set(conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars())
        wanted = {_trigger(t) for t in GENERATION_TABLES}
    if not wanted <= names or "jimu_auth_generation" not in names:
        return False
    return conn.execute(sa.select(auth_generation.c.value).where(auth_generation.c.id == 1)).first() is not None

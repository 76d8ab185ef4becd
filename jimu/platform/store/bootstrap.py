"""Creating and upgrading Jimu's system tables with alembic."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Connection

from jimu.core.modules import import_optional
from jimu.platform.db import Database, system_metadata

__all__ = ["SYSTEM_TABLE_MODULES", "load_system_tables", "upgrade_app_tables", "upgrade_system_tables"]

# Modules that declare system tables on ``system_metadata``; subsystems add theirs here.
SYSTEM_TABLE_MODULES: list[str] = [
    "jimu.platform.store.tables",
    "jimu.platform.ledger.tables",
    "jimu.platform.health.tables",
    "jimu.platform.permissions.tables",
    "jimu.platform.permissions.generation",
    "jimu.runtime.workflow.tables",
    "jimu.runtime.events.tables",
    "jimu.runtime.rollups.tables",
    "jimu.runtime.intel.import_store",
    "jimu.templates_market.tables",
]


def load_system_tables() -> None:
    """Import every module that declares system tables (missing optional ones are skipped)."""
    for name in SYSTEM_TABLE_MODULES:
        import_optional(name)


def upgrade_system_tables(db: Database) -> None:
    """Bring the system tables to the newest revision (creating them on a fresh database)."""
    from alembic.config import Config

    load_system_tables()
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parents[2] / "migrations"))
    with db.write() as conn:
        _run(cfg, conn)
        # Tables added by subsystems since the baseline (pre-1.0; see 0001_baseline).
        system_metadata.create_all(bind=conn, checkfirst=True)
        _create_missing_indexes(conn)
        _ensure_auth_generation(conn)


def _ensure_auth_generation(conn: Connection) -> None:
    """The auth generation's counter and triggers (jimu.platform.permissions.generation),
    created where missing; one catalogue query when they exist."""
    from jimu.platform.permissions.generation import ensure_auth_generation, generation_installed

    if not generation_installed(conn):
        ensure_auth_generation(conn)


def _create_missing_indexes(conn: Connection) -> list[str]:
    """Indexes declared on system tables after those tables were created (``create_all``
    only indexes the tables it creates); one catalogue query when nothing is missing."""
    from jimu.platform.schema.indexes import existing_indexes

    have_tables, have_indexes = existing_indexes(conn)
    created: list[str] = []
    for table in system_metadata.sorted_tables:
        if table.name not in have_tables:
            continue
        for index in table.indexes:
            if index.name is not None and index.name not in have_indexes:
                index.create(conn)
                created.append(str(index.name))
    return created


def _run(cfg: object, conn: Connection) -> None:
    from alembic import command

    cfg.attributes["connection"] = conn  # type: ignore[attr-defined]
    command.upgrade(cfg, "head")  # type: ignore[arg-type]


def upgrade_app_tables(db: Database) -> list[str]:
    """Give the tables of every published app what newer versions of Jimu add to generated
    tables without a spec change (today: the system indexes of
    :func:`jimu.platform.schema.columns.system_indexes`), so an app published before
    gets them when Jimu next opens its database. Returns the indexes created."""
    import sqlalchemy as sa

    from jimu.platform.schema.indexes import ensure_system_indexes, existing_indexes
    from jimu.platform.specs.app import AppSpec
    from jimu.platform.store.tables import app_versions, apps

    created: list[str] = []
    with db.write() as conn:
        specs = conn.execute(sa.select(app_versions.c.spec).join(apps, sa.and_(
            apps.c.name == app_versions.c.app, apps.c.published_version == app_versions.c.version))).scalars().all()
        if not specs:
            return created
        present = existing_indexes(conn)
        for spec in specs:
            created += ensure_system_indexes(conn, AppSpec.model_validate(spec), present=present)
    return created

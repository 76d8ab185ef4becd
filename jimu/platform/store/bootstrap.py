"""Creating and upgrading Jimu's system tables with alembic."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Connection

from jimu.core.modules import import_optional
from jimu.platform.db import Database, system_metadata

__all__ = ["SYSTEM_TABLE_MODULES", "load_system_tables", "upgrade_system_tables"]

# Modules that declare system tables on ``system_metadata``; subsystems add theirs here.
SYSTEM_TABLE_MODULES: list[str] = [
    "jimu.platform.store.tables",
    "jimu.platform.ledger.tables",
    "jimu.platform.health.tables",
    "jimu.platform.permissions.tables",
    "jimu.runtime.workflow.tables",
    "jimu.runtime.events.tables",
    "jimu.runtime.rollups.tables",
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


def _run(cfg: object, conn: Connection) -> None:
    from alembic import command

    cfg.attributes["connection"] = conn  # type: ignore[attr-defined]
    command.upgrade(cfg, "head")  # type: ignore[arg-type]

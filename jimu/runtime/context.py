"""One object wiring the services of a running Jimu: database, metadata store, published
apps, records, users. The server, the CLI and tests build one and pass it around."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jimu.platform.auth import UserService
from jimu.platform.db import Database
from jimu.platform.store import MetadataStore
from jimu.platform.store.bootstrap import upgrade_app_tables, upgrade_system_tables
from jimu.runtime.apps import AppRegistry
from jimu.runtime.records import RecordService

__all__ = ["Jimu"]


@dataclass
class Jimu:
    db: Database
    store: MetadataStore
    apps: AppRegistry
    records: RecordService
    users: UserService
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, url: str | None = None, *, upgrade: bool = True, **settings: Any) -> Jimu:
        """Connect to ``url`` (default: JIMU_DATABASE_URL or ./jimu.db), creating or
        upgrading Jimu's system tables and what generated tables gain (their indexes)."""
        import jimu.runtime.automations  # noqa: F401 - registers the automation validators, consumer and schedules
        import jimu.runtime.production  # noqa: F401 - the routing / operation report listener
        import jimu.runtime.rollups.tables  # noqa: F401 - the rollup record listener, also without ``upgrade``
        import jimu.runtime.stock  # noqa: F401 - stock actions and the batch quality listener

        db = Database(url)
        if upgrade:
            upgrade_system_tables(db)
            upgrade_app_tables(db)
        store = MetadataStore(db)
        apps = AppRegistry(db, store)
        return cls(db, store, apps, RecordService(db, apps), UserService(db), dict(settings))

    def close(self) -> None:
        self.db.dispose()

"""The published apps as the runtime sees them: spec + tables, cached per version."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from jimu.core.errors import NotFound
from jimu.platform.db import Database
from jimu.platform.schema import AppTables
from jimu.platform.specs import AppSpec, EntitySpec
from jimu.platform.store import MetadataStore

__all__ = ["AppRuntime", "AppRegistry"]


@dataclass
class AppRuntime:
    name: str
    version: int
    spec: AppSpec
    tables: AppTables

    def entity(self, name: str) -> EntitySpec:
        """The published entity ``name`` (404 when unknown or archived)."""
        entity = self.spec.entity(name)
        if entity is None or entity.archived:
            raise NotFound(f"app '{self.name}' has no entity '{name}'", code="entity.not_found")
        return entity


class AppRegistry:
    """Published apps by name. Each lookup checks the published version (one primary-key
    read), so a publish by another worker is seen at once."""

    def __init__(self, db: Database, store: MetadataStore | None = None) -> None:
        self.db = db
        self.store = store or MetadataStore(db)
        self._cache: dict[str, AppRuntime] = {}
        self._lock = threading.Lock()

    def get(self, name: str, conn: Connection | None = None) -> AppRuntime:
        """The published app ``name`` (404 when unknown or never published)."""
        version = self.store.published_version(name, conn)
        cached = self._cache.get(name)
        if cached is not None and cached.version == version:
            return cached
        if not version:
            raise NotFound(f"app '{name}' has not been published yet", code="app.unpublished")
        spec = self.store.published(name, version, conn)
        assert spec is not None
        runtime = AppRuntime(name, version, spec, AppTables(spec))
        with self._lock:
            self._cache[name] = runtime
        return runtime

    def invalidate(self, name: str | None = None) -> None:
        with self._lock:
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(name, None)

"""The published apps as the runtime sees them: spec + tables, cached per version."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import NotFound
from jimu.platform.db import Database
from jimu.platform.schema import AppTables
from jimu.platform.specs import AppSpec, EntitySpec, WorkflowSpec
from jimu.platform.store import MetadataStore

__all__ = ["AppRuntime", "AppRegistry"]


@dataclass
class AppRuntime:
    name: str
    version: int
    spec: AppSpec
    tables: AppTables
    # Prepared SQLAlchemy statements of this version's tables (built once, their cache
    # keys memoised by SQLAlchemy); see ``statement``.
    _statements: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    # The spec's entities and workflows by entity name, made on first use: a lookup was a
    # walk of the spec's lists on every call, several per request, longer the bigger the app.
    _entities: dict[str, EntitySpec] | None = field(default=None, repr=False, compare=False)
    _workflows: dict[str, WorkflowSpec] | None = field(default=None, repr=False, compare=False)

    def statement(self, key: Any, build: Any) -> Any:
        """The statement cached under ``key``, built by ``build()`` on first use."""
        stmt = self._statements.get(key)
        if stmt is None:
            stmt = self._statements[key] = build()
        return stmt

    def find_entity(self, name: str) -> EntitySpec | None:
        """``spec.entity(name)``: the entity of that name, archived or not, None when none."""
        entities = self._entities
        if entities is None:
            # reversed: the first of two entities of one name wins, as in AppSpec.entity
            entities = self._entities = {e.name: e for e in reversed(self.spec.entities)}
        return entities.get(name)

    def entity(self, name: str) -> EntitySpec:
        """The published entity ``name`` (404 when unknown or archived)."""
        entity = self.find_entity(name)
        if entity is None or entity.archived:
            raise NotFound(f"app '{self.name}' has no entity '{name}'", code="entity.not_found")
        return entity

    def workflow_for(self, entity: str) -> WorkflowSpec | None:
        """``spec.workflow_for(entity)``: the workflow driving ``entity``'s state field."""
        workflows = self._workflows
        if workflows is None:
            workflows = self._workflows = {w.entity: w for w in reversed(self.spec.workflows)}
        return workflows.get(entity)


_TX_KEY = "jimu_app_versions"


class AppRegistry:
    """Published apps by name. Each lookup checks the published version (one primary-key
    read), so a publish by another worker is seen at once. Inside one transaction (a
    lookup given ``conn``) the version is read once: every write of that transaction
    sees the same spec, and nested calls (workflow -> records -> listeners) do not
    repeat the read."""

    def __init__(self, db: Database, store: MetadataStore | None = None) -> None:
        self.db = db
        self.store = store or MetadataStore(db)
        self._cache: dict[str, AppRuntime] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by invalidate(): forgets the per-transaction versions

    def _memo(self, conn: Connection) -> dict[str, int] | None:
        """The versions already read in ``conn``'s current transaction (None outside one)."""
        tx = conn.get_transaction()
        if tx is None:
            return None
        memo = conn.info.get(_TX_KEY)
        if memo is None or memo[0] is not tx or memo[1] != self._generation or memo[2] is not self:
            memo = (tx, self._generation, self, {})
            conn.info[_TX_KEY] = memo
        versions: dict[str, int] = memo[3]
        return versions

    def _version(self, name: str, conn: Connection | None) -> int:
        versions = None if conn is None else self._memo(conn)
        if versions is None:
            return self.store.published_version(name, conn)
        version = versions.get(name)
        if version is None:
            version = versions[name] = self.store.published_version(name, conn)
        return version

    def note_version(self, name: str, version: int | None, conn: Connection) -> None:
        """Tell the registry that ``conn``'s transaction has just read ``name``'s published
        version (with the caller's credentials), so its lookups there skip the read."""
        if not version:
            return
        versions = self._memo(conn)
        if versions is not None:
            versions.setdefault(name, version)

    def loaded_version(self, name: str) -> int | None:
        """The published version of ``name`` this process has loaded (None: not loaded)."""
        cached = self._cache.get(name)
        return None if cached is None else cached.version

    def get(self, name: str, conn: Connection | None = None) -> AppRuntime:
        """The published app ``name`` (404 when unknown or never published)."""
        version = self._version(name, conn)
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
            self._generation += 1
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(name, None)

"""The metadata store: apps, their draft spec, published versions and the change log.

The designer edits a draft (``put_element`` / ``delete_element`` / ``save_draft``); every
edit is validated, bumps the draft revision and writes one change row per element changed,
with a sentence in Chinese and English. ``publish`` validates the whole draft (spec
validation plus the publish gates: the health scan), plans and applies the schema changes,
and writes the new version in the same transaction — DDL and metadata commit together or
not at all. Every published version can be compared and rolled back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.core.errors import Conflict, FieldError, NotFound, ValidationError
from jimu.platform.db import Database
from jimu.platform.findings import Finding, blocking
from jimu.platform.hooks import collect
from jimu.platform.schema.evolve import (
    SchemaOp,
    TypeChangePreview,
    apply_schema,
    assign_physical_names,
    plan_schema,
)
from jimu.platform.schema.sorting import index_view_sorts
from jimu.platform.specs.app import KIND_MODELS, AppSpec
from jimu.platform.specs.common import Label
from jimu.platform.specs.naming import name_problem
from jimu.platform.specs.validate import parse_app, raise_for, validate_app
from jimu.platform.store.diff import Change, diff_apps
from jimu.platform.store.tables import app_versions, apps, spec_changes
from jimu.platform.wakeup import notify

__all__ = ["MetadataStore", "PublishResult", "AppInfo"]


@dataclass
class AppInfo:
    name: str
    label: dict[str, str]
    draft_revision: int
    published_version: int
    template: str | None
    created_at: Any
    updated_at: Any

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        d["updated_at"] = self.updated_at.isoformat()
        return d


@dataclass
class PublishResult:
    app: str
    version: int
    published: bool
    changes: list[Change] = dc_field(default_factory=list)
    schema: list[SchemaOp] = dc_field(default_factory=list)
    previews: list[TypeChangePreview] = dc_field(default_factory=list)
    findings: list[Finding] = dc_field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "version": self.version,
            "published": self.published,
            "changes": [c.as_dict() for c in self.changes],
            "schema": [op.as_dict() for op in self.schema],
            "previews": [p.as_dict() for p in self.previews],
            "findings": [f.as_dict() for f in self.findings],
            "summary": {"zh": [c.summary_zh for c in self.changes], "en": [c.summary_en for c in self.changes]},
        }


class MetadataStore:
    """Reads and writes app specs in Jimu's system tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # Apps ----------------------------------------------------------------------------
    def create_app(self, name: str, label: Any = None, *, author: str | None = None,
                   template: str | None = None, conn: Connection | None = None) -> AppInfo:
        """Create an empty app (422 for a bad name, 409 if it exists)."""
        problem = name_problem(name)
        if problem:
            raise ValidationError(f"invalid app name: {problem}", errors=[FieldError("name", "name.invalid", problem)])
        lbl = Label.model_validate(label if label is not None else {"zh": name, "en": name})
        spec = AppSpec(name=name, label=lbl)
        with self._write(conn) as c:
            if c.execute(sa.select(apps.c.name).where(apps.c.name == name)).first():
                raise Conflict(f"app '{name}' already exists", code="app.exists")
            at = now()
            c.execute(apps.insert().values(name=name, label=lbl.model_dump(), draft=spec.dump(), draft_revision=0,
                                           published_version=0, template=template, created_at=at, updated_at=at))
            self._log(c, name, 0, [Change("app", name, "added", f"创建应用 {lbl.zh or name}",
                                          f"created app {lbl.en or name}")], author)
        return self.app_info(name)

    def list_apps(self) -> list[AppInfo]:
        with self.db.read() as c:
            rows = c.execute(sa.select(apps).order_by(apps.c.name)).mappings().all()
        return [self._info(r) for r in rows]

    def app_info(self, name: str) -> AppInfo:
        with self.db.read() as c:
            row = c.execute(sa.select(apps).where(apps.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"no app named '{name}'", code="app.not_found")
        return self._info(row)

    def exists(self, name: str) -> bool:
        with self.db.read() as c:
            return c.execute(sa.select(apps.c.name).where(apps.c.name == name)).first() is not None

    def delete_app_metadata(self, name: str) -> None:
        """Forget an app that was never published (its change log and versions too)."""
        with self.db.write() as c:
            if int(self._row(name, c)["published_version"]):
                raise Conflict(f"app '{name}' has been published; archive it instead", code="app.published")
            c.execute(spec_changes.delete().where(spec_changes.c.app == name))
            c.execute(app_versions.delete().where(app_versions.c.app == name))
            c.execute(apps.delete().where(apps.c.name == name))

    # Draft ---------------------------------------------------------------------------
    def draft(self, name: str, conn: Connection | None = None) -> AppSpec:
        """The app's current draft spec."""
        row = self._row(name, conn)
        return AppSpec.model_validate(row["draft"])

    def draft_revision(self, name: str) -> int:
        return int(self._row(name)["draft_revision"])

    def save_draft(self, name: str, spec: AppSpec | dict[str, Any], *, author: str | None = None,
                   expected_revision: int | None = None, conn: Connection | None = None) -> list[Change]:
        """Replace the whole draft (validated; every problem reported at once)."""
        data = spec.dump() if isinstance(spec, AppSpec) else dict(spec)
        data["name"] = name
        parsed, findings = parse_app(data)
        raise_for(findings, f"app '{name}' is invalid")
        assert parsed is not None
        with self._write(conn) as c:
            row = self._row(name, c, for_update=True)
            if expected_revision is not None and int(row["draft_revision"]) != expected_revision:
                raise Conflict("the draft changed since you loaded it; reload and retry",
                               code="draft.stale", extra={"current_revision": row["draft_revision"]})
            before = AppSpec.model_validate(row["draft"])
            changes = diff_apps(before, parsed)
            if not changes and before.dump() == parsed.dump():
                return []
            revision = int(row["draft_revision"]) + 1
            c.execute(apps.update().where(apps.c.name == name).values(
                draft=parsed.dump(), draft_revision=revision, label=parsed.label.model_dump(), updated_at=now()))
            self._log(c, name, revision, changes, author)
        return changes

    def put_element(self, name: str, kind: str, element: str, body: dict[str, Any], *,
                    author: str | None = None, conn: Connection | None = None) -> Any:
        """Create or replace one element of the draft; returns the stored element."""
        attr, model = self._kind(kind)
        body = dict(body)
        body.setdefault("name", element)
        with self._write(conn) as c:
            draft = self.draft(name, c).dump()
            items = draft[attr]
            index = next((i for i, e in enumerate(items) if e.get("name") == element), None)
            if kind == "entity" and index is not None:
                body = _keep_physical(items[index], body)
            if index is None:
                items.append(body)
            else:
                items[index] = body
            self.save_draft(name, draft, author=author, conn=c)
            stored = self.draft(name, c).element(kind, body["name"])
        return stored

    def delete_element(self, name: str, kind: str, element: str, *, author: str | None = None,
                       conn: Connection | None = None) -> None:
        """Remove an element from the draft (an entity's table and data are kept, archived)."""
        attr, _ = self._kind(kind)
        with self._write(conn) as c:
            draft = self.draft(name, c).dump()
            before = len(draft[attr])
            draft[attr] = [e for e in draft[attr] if e.get("name") != element]
            if len(draft[attr]) == before:
                raise NotFound(f"no {kind} named '{element}' in app '{name}'", code=f"{kind}.not_found")
            self.save_draft(name, draft, author=author, conn=c)

    # Fields (the designer's finest grain) ---------------------------------------------
    def put_field(self, name: str, entity: str, field: str, body: dict[str, Any], *,
                  author: str | None = None, conn: Connection | None = None) -> Any:
        """Create, replace or rename (``body["name"]`` differs) one field; the column is kept."""
        with self._write(conn) as c:
            draft = self.draft(name, c)
            ent = draft.entity(entity)
            if ent is None:
                raise NotFound(f"no entity named '{entity}' in app '{name}'", code="entity.not_found")
            data = draft.dump()
            edata = next(e for e in data["entities"] if e["name"] == entity)
            body = dict(body)
            body.setdefault("name", field)
            existing = next((i for i, f in enumerate(edata["fields"]) if f["name"] == field), None)
            if existing is None:
                edata["fields"].append(body)
            else:
                old = edata["fields"][existing]
                body.setdefault("column", old.get("column"))
                conversion = body.pop("conversion", None)
                if conversion is not None:
                    data.setdefault("settings", {}).setdefault("_conversions", {})[f"{entity}.{body['name']}"] = conversion
                edata["fields"][existing] = body
            self.save_draft(name, data, author=author, conn=c)
            return self.draft(name, c).entity(entity).field(body["name"])  # type: ignore[union-attr]

    def archive_field(self, name: str, entity: str, field: str, *, archived: bool = True,
                      author: str | None = None, conn: Connection | None = None) -> Any:
        """Archive (hide, keep the data) or restore a field."""
        with self._write(conn) as c:
            data = self.draft(name, c).dump()
            edata = next((e for e in data["entities"] if e["name"] == entity), None)
            if edata is None:
                raise NotFound(f"no entity named '{entity}' in app '{name}'", code="entity.not_found")
            fdata = next((f for f in edata["fields"] if f["name"] == field), None)
            if fdata is None:
                raise NotFound(f"no field named '{field}' in '{entity}'", code="field.not_found")
            fdata["archived"] = archived
            self.save_draft(name, data, author=author, conn=c)
            return self.draft(name, c).entity(entity).field(field)  # type: ignore[union-attr]

    # Publishing ----------------------------------------------------------------------
    def published(self, name: str, version: int | None = None, conn: Connection | None = None) -> AppSpec | None:
        """The published spec (latest, or ``version``); None if never published."""
        with self._read(conn) as c:
            if version is None:
                version = int(self._row(name, c)["published_version"])
            if not version:
                return None
            row = c.execute(sa.select(app_versions.c.spec).where(
                app_versions.c.app == name, app_versions.c.version == version)).first()
        if row is None:
            raise NotFound(f"app '{name}' has no version {version}", code="version.not_found")
        return AppSpec.model_validate(row[0])

    def published_version(self, name: str, conn: Connection | None = None) -> int:
        """The latest published version (0: never published); one primary-key read."""
        with self._read(conn) as c:
            value = c.execute(sa.select(apps.c.published_version).where(apps.c.name == name)).scalar()
        if value is None:
            raise NotFound(f"no app named '{name}'", code="app.not_found")
        return int(value)

    def versions(self, name: str) -> list[dict[str, Any]]:
        with self.db.read() as c:
            rows = c.execute(sa.select(app_versions.c.version, app_versions.c.published_at,
                                       app_versions.c.published_by, app_versions.c.summary)
                             .where(app_versions.c.app == name).order_by(app_versions.c.version.desc())).mappings()
            return [{**dict(r), "published_at": r["published_at"].isoformat()} for r in rows]

    def publish(self, name: str, *, author: str | None = None, dry_run: bool = False,
                conversions: dict[str, dict[str, Any]] | None = None, spec: AppSpec | None = None,
                _after_ddl: Any = None) -> PublishResult:
        """Validate the draft, apply its schema changes and record a new version.

        ``dry_run`` computes the diff, the schema plan, type-change previews and findings
        without changing anything. A blocking finding (spec error or critical health
        finding) refuses the publish with a 422 listing them all."""
        with self.db.write() as c:
            row = self._row(name, c, for_update=True)
            draft = spec or AppSpec.model_validate(row["draft"])
            old_version = int(row["published_version"])
            old = self.published(name, conn=c) if old_version else None
            new = index_view_sorts(assign_physical_names(old, draft))  # a view's sort gets an index
            convs = dict(new.settings.pop("_conversions", {}) or {})
            convs.update(conversions or {})
            findings = validate_app(new)
            for gate in collect("jimu_publish_gates"):
                findings.extend(gate(new))
            changes = diff_apps(old, new)
            ops = plan_schema(old, new)
            result = PublishResult(name, old_version, False, changes, ops, [], findings)
            if blocking(findings):
                if dry_run:
                    return result
                raise_for(findings, f"cannot publish '{name}'")
            if dry_run:
                from jimu.platform.schema.evolve import preview_changes

                result.previews = preview_changes(c, old, new, ops) if old else []
                return result
            result.previews = apply_schema(c, old, new, ops, convs)
            if _after_ddl is not None:
                _after_ddl()
            version = old_version + 1
            summary = {"zh": [ch.summary_zh for ch in changes], "en": [ch.summary_en for ch in changes]}
            c.execute(app_versions.insert().values(
                app=name, version=version, spec=new.dump(), published_at=now(), published_by=author,
                summary=summary, diff={"changes": [ch.as_dict() for ch in changes], "schema": [o.as_dict() for o in ops]}))
            revision = int(row["draft_revision"]) + 1
            c.execute(apps.update().where(apps.c.name == name).values(
                published_version=version, draft=new.dump(), draft_revision=revision, updated_at=now()))
            notify(c, "due")  # the scheduler loops queue the new version's recurring jobs (schedules)
            self._log(c, name, revision, [Change("app", name, "published", f"发布了版本 {version}",
                                                 f"published version {version}", None, None,
                                                 {"changes": len(changes)})], author)
            result.version, result.published = version, True
        return result

    def compare(self, name: str, from_version: int, to_version: int | None = None) -> list[Change]:
        """Changes between two published versions (``to_version`` None: the draft)."""
        old = self.published(name, from_version)
        new = self.published(name, to_version) if to_version else self.draft(name)
        assert new is not None
        return diff_apps(old, new)

    def rollback(self, name: str, version: int, *, author: str | None = None) -> PublishResult:
        """Make ``version``'s spec the draft and publish it (data and columns are kept)."""
        spec = self.published(name, version)
        if spec is None:
            raise NotFound(f"app '{name}' has no version {version}")
        self.save_draft(name, spec, author=author)
        return self.publish(name, author=author)

    def changes(self, name: str, limit: int = 200) -> list[dict[str, Any]]:
        """The change log, newest first."""
        with self.db.read() as c:
            rows = c.execute(sa.select(spec_changes).where(spec_changes.c.app == name)
                             .order_by(spec_changes.c.id.desc()).limit(limit)).mappings().all()
        return [{**dict(r), "at": r["at"].isoformat()} for r in rows]

    # Internals -----------------------------------------------------------------------
    def _kind(self, kind: str) -> tuple[str, Any]:
        if kind not in KIND_MODELS:
            raise NotFound(f"unknown spec kind '{kind}'", code="kind.unknown")
        return KIND_MODELS[kind]

    def _row(self, name: str, conn: Connection | None = None, for_update: bool = False) -> Any:
        stmt = sa.select(apps).where(apps.c.name == name)
        if for_update and (conn is not None and conn.dialect.name == "postgresql"):
            stmt = stmt.with_for_update()
        with self._read(conn) as c:
            row = c.execute(stmt).mappings().first()
        if row is None:
            raise NotFound(f"no app named '{name}'", code="app.not_found")
        return row

    def _log(self, c: Connection, app: str, revision: int, changes: list[Change], author: str | None) -> None:
        if not changes:
            return
        at = now()
        c.execute(spec_changes.insert(), [
            {"app": app, "revision": revision, "kind": ch.kind, "element": ch.element[:255], "action": ch.action,
             "author": author, "at": at, "summary_zh": ch.summary_zh, "summary_en": ch.summary_en,
             "before": ch.before, "after": ch.after} for ch in changes])

    def _info(self, row: Any) -> AppInfo:
        return AppInfo(row["name"], row["label"], int(row["draft_revision"]), int(row["published_version"]),
                       row["template"], row["created_at"], row["updated_at"])

    def _write(self, conn: Connection | None) -> Any:
        return _Reuse(conn) if conn is not None else self.db.write()

    def _read(self, conn: Connection | None) -> Any:
        return _Reuse(conn) if conn is not None else self.db.read()


class _Reuse:
    """Use the caller's connection (and transaction) as a context manager."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None


def _keep_physical(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Carry table and column names over to a replacing entity body (by field name)."""
    new = dict(new)
    new.setdefault("table", old.get("table"))
    cols = {f.get("name"): f.get("column") for f in old.get("fields", [])}
    new["fields"] = [{**f, "column": f.get("column") or cols.get(f.get("name"))} for f in new.get("fields", [])]
    return new

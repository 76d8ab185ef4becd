"""The record service: typed create/read/update/delete/list on an app's entity tables.

Every write runs in one transaction: field checks, defaults, auto numbers, child rows,
stored formulas, the version bump, the audit row and the record listeners (outbox,
ledger postings, ...) commit together or not at all. Permissions are applied by the caller
(``jimu.runtime.access``); this layer trusts its ``Actor`` and only records who acted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.core.errors import Conflict, FieldError, NotFound, ValidationError, VersionConflict
from jimu.core.ids import MAX_ROW_ID, parse_id
from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.audit import audit_row, record_audit, summarize
from jimu.platform.db import Database
from jimu.platform.hooks import collect
from jimu.platform.lean_insert import LeanInsert, Row, insert_together, json_text_of
from jimu.platform.specs import EntitySpec
from jimu.runtime.apps import AppRegistry, AppRuntime
from jimu.runtime.records.autonumber import next_number, next_numbers
from jimu.runtime.records.bulk_children import insert_children
from jimu.runtime.records.children import child_direct, parent_link
from jimu.runtime.records.codec import columns_for, row_to_record
from jimu.runtime.records.computed import apply_defaults, compute_formulas, expression_env, run_validations
from jimu.runtime.records.integrity import changes as field_changes
from jimu.runtime.records.integrity import (
    check_links,
    check_unique,
    folds_unique,
    prefetch_links,
    referencing,
    required,
)
from jimu.runtime.records.query import ListResult, list_records
from jimu.runtime.records.validate import check_input

__all__ = ["RecordService", "WriteEvent", "ListResult"]


@dataclass
class WriteEvent:
    """What a record listener sees, inside the write transaction."""

    conn: Connection
    app: AppRuntime
    entity: EntitySpec
    action: str  # create | update | delete | transition
    record_id: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changes: list[dict[str, Any]]
    actor: Actor
    extra: dict[str, Any] = dc_field(default_factory=dict)
    #: ``changes`` as JSON text (what the audit row stored): the outbox event reuses it.
    changes_json: str | None = None
    #: Rows of this write not written yet (its audit row): a listener may take them and
    #: write them in its own statement (the outbox, in one round trip with the event
    #: row); the service writes what is left after the last listener.
    pending: list[Row] = dc_field(default_factory=list)


class RecordService:
    def __init__(self, db: Database, apps: AppRegistry | None = None) -> None:
        self.db = db
        self.apps = apps or AppRegistry(db)
        self.listeners: list[Any] = list(collect("jimu_record_listeners"))

    # Transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.db.write() as c:
                yield c

    # Reads ------------------------------------------------------------------------------
    def get(self, app: str, entity: str, record_id: Any, *, conn: Connection | None = None,
            where: Any = None, with_children: bool = True) -> dict[str, Any]:
        """One record with its child rows (404 when missing or outside ``where``)."""
        rt = self.apps.get(app, conn)
        ent = rt.entity(entity)
        rid = _as_id(record_id)
        table = rt.tables(entity)
        stmt = rt.statement(("by_id", entity), lambda: _select_by_id(table))
        if where is not None:
            stmt = stmt.where(where)
        params = {"_jimu_rid": rid}
        if conn is None:
            with self.db.read() as c:
                return self._load(c, rt, ent, stmt, rid, with_children, params)
        return self._load(conn, rt, ent, stmt, rid, with_children, params)

    def _by_id(self, c: Connection, rt: AppRuntime, ent: EntitySpec, rid: int) -> dict[str, Any]:
        stmt = rt.statement(("by_id", ent.name), lambda: _select_by_id(rt.tables(ent.name)))
        return self._load(c, rt, ent, stmt, rid, True, {"_jimu_rid": rid})

    def _load(self, c: Connection, rt: AppRuntime, ent: EntitySpec, stmt: Any, rid: int,
              with_children: bool, params: dict[str, Any] | None = None) -> dict[str, Any]:
        row = c.execute(stmt, params).mappings().first()
        if row is None:
            raise NotFound(f"{ent.name} {rid} not found", code="record.not_found")
        rec = row_to_record(ent, row)
        if with_children:
            self._attach_children(c, rt, ent, [rec])
        return rec

    def _attach_children(self, c: Connection, rt: AppRuntime, ent: EntitySpec, recs: list[dict[str, Any]]) -> None:
        ids = [r["id"] for r in recs]
        for f in ent.active_fields:
            if f.type != "child_table" or not f.target or not ids:
                continue
            child = rt.entity(f.target)
            stmt = rt.statement(("children", f.target), lambda t=f.target: _select_children(rt.tables(t)))
            rows = c.execute(stmt, {"_jimu_ids": ids}).mappings()
            by_parent: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
            for row in rows:
                crec = row_to_record(child, row)
                crec.pop("_parent_id", None)
                by_parent[row["_parent_id"]].append(crec)
            for r in recs:
                r[f.name] = by_parent[r["id"]]

    def list(self, app: str, entity: str, *, where: Any = None, filter: str | None = None,
             sort: str | None = None, limit: int = 50, cursor: str | None = None, actor: Actor | None = None,
             with_children: bool = False, conn: Connection | None = None) -> ListResult:
        """A page of records: ``where`` is an SQL clause (row permissions), ``filter`` an
        expression, ``sort`` a field name (``-`` for descending), ``cursor`` from the last page."""
        rt = self.apps.get(app)
        ent = rt.entity(entity)
        with self.db.read() if conn is None else contextlib.nullcontext(conn) as c:
            result = list_records(c, rt, ent, where=where, filter=filter, sort=sort, limit=limit, cursor=cursor,
                                  actor=actor or SYSTEM)
            if with_children:
                self._attach_children(c, rt, ent, result.data)
        return result

    # Writes -----------------------------------------------------------------------------
    def create(self, app: str, entity: str, data: Mapping[str, Any], *, actor: Actor = SYSTEM,
               conn: Connection | None = None, _state: str | None = None) -> dict[str, Any]:
        """Validate and insert one record (and its child rows); returns it as stored."""
        with self._tx(conn) as c:
            # The app is looked up in the write transaction itself (no second connection).
            rt = self.apps.get(app, c)
            ent = rt.entity(entity)
            _refuse_child(rt, entity, "create")
            data = self._refuse_state_write(rt, ent, data, creating=True)
            rid, stored = self._insert_stored(c, rt, ent, data, actor, parent_id=None, idx=0, prefix="", state=_state)
            after = stored if stored is not None else self._by_id(c, rt, ent, rid)
            self._finish(c, rt, ent, "create", rid, None, after, actor)
        return after

    def update(self, app: str, entity: str, record_id: Any, data: Mapping[str, Any], *, actor: Actor = SYSTEM,
               expected_version: int | None = None, conn: Connection | None = None,
               _allow_state: bool = False, _extra: dict[str, Any] | None = None,
               _action: str = "update", _before: dict[str, Any] | None = None) -> dict[str, Any]:
        """Change some fields (and replace child lists given); a stale ``expected_version``
        is a 409 carrying the current version.

        ``_before``: the record as just read in the caller's transaction ``conn`` (the
        workflow engine), so it is not read twice; the versioned UPDATE still refuses a
        stale one."""
        with self._tx(conn) as c:
            rt = self.apps.get(app, c)
            ent = rt.entity(entity)
            rid = _as_id(record_id)
            table = rt.tables(entity)
            if _before is not None and conn is not None and _before.get("id") == rid:
                before = _before
            else:
                before = self._by_id(c, rt, ent, rid)
            _refuse_child(rt, entity, "update", before)
            if not _allow_state:
                data = self._refuse_state_write(rt, ent, data, creating=False, current=before)
            if expected_version is not None and before["version"] != expected_version:
                raise VersionConflict(
                    f"{entity} {rid} was changed by someone else (version {before['version']}, you had "
                    f"{expected_version}); reload and retry", extra={"current_version": before["version"]})
            values, children, errors = check_input(ent, data, creating=False)
            merged = {**before, **values}
            check_links(c, rt, ent, values, errors, "")
            check_unique(c, rt, ent, values, errors, "", rid)
            child_recs = self._prepare_children(c, rt, ent, children, errors, actor) if children else {}
            if errors:
                raise ValidationError(f"{entity} {rid} has invalid fields", errors=errors)
            env = expression_env(self, c, rt, actor)
            for fname, rows in child_recs.items():
                merged[fname] = rows
            compute_formulas(rt, ent, merged, env)
            errs = run_validations(rt, ent, merged, env, "")
            if errs:
                raise ValidationError(f"{entity} {rid} has invalid fields", errors=errs)
            for fname in children:
                self._replace_children(c, rt, ent, rid, fname, children[fname], actor, child_recs.get(fname))
            lists_from: Mapping[str, Any] = before
            if children:
                lists_from = self._by_id(c, rt, ent, rid)
                merged.update({k: v for k, v in lists_from.items() if k in children})
                compute_formulas(rt, ent, merged, env)
            scalar = {f.name: merged.get(f.name) for f in ent.active_fields if f.stored}
            changed = {k: v for k, v in scalar.items() if before.get(k) != v}
            cols = columns_for(ent, changed)
            cols.update(version=before["version"] + 1, updated_at=now(), updated_by=actor.username)
            stmt = rt.statement(("update", entity), lambda: sa.update(table).where(
                table.c.id == sa.bindparam("_jimu_rid"), table.c.version == sa.bindparam("_jimu_ver"))
                .returning(*table.c))
            row = c.execute(stmt, {**cols, "_jimu_rid": rid, "_jimu_ver": before["version"]}).mappings().first()
            if row is None:
                raise VersionConflict(f"{entity} {rid} was changed concurrently; reload and retry",
                                      extra={"current_version": before["version"] + 1})
            # The row as stored (RETURNING) with the child lists as they now are: what
            # _by_id would read back.
            after = row_to_record(ent, row)
            for f in ent.active_fields:
                if f.type == "child_table" and f.target:
                    after[f.name] = [dict(r) for r in lists_from.get(f.name) or []]
            self._finish(c, rt, ent, _action, rid, before, after, actor, _extra)
        return after

    def delete(self, app: str, entity: str, record_id: Any, *, actor: Actor = SYSTEM,
               expected_version: int | None = None, conn: Connection | None = None) -> None:
        """Delete a record and its child rows (409 when other records link to it)."""
        rt = self.apps.get(app, conn)
        ent = rt.entity(entity)
        rid = _as_id(record_id)
        with self._tx(conn) as c:
            before = self._by_id(c, rt, ent, rid)
            _refuse_child(rt, entity, "delete", before)
            if expected_version is not None and before["version"] != expected_version:
                raise VersionConflict(f"{entity} {rid} was changed by someone else",
                                      extra={"current_version": before["version"]})
            refs = referencing(c, rt, entity, rid)
            if refs:
                raise Conflict(f"{entity} {rid} is used by " + ", ".join(f"{n} {e}" for e, n in refs),
                               code="record.in_use", extra={"references": [{"entity": e, "count": n} for e, n in refs]})
            table = rt.tables(entity)
            c.execute(sa.delete(table).where(table.c.id == rid))
            self._finish(c, rt, ent, "delete", rid, before, None, actor)

    def bulk_insert(self, app: str, entity: str, rows: list[Mapping[str, Any]], *, actor: Actor = SYSTEM,
                    conn: Connection | None = None, audit: bool = False) -> int:
        """Insert many flat records in one statement per batch (imports, sample data).

        Each row is checked like ``create`` (types, required, choices, defaults, stored
        formulas); links and unique constraints are enforced by the database. No child
        rows; one summary audit row instead of one per record unless ``audit``."""
        at = now()
        prepared: list[dict[str, Any]] = []
        all_errors: list[FieldError] = []
        with self._tx(conn) as c:
            rt = self.apps.get(app, c)
            ent = rt.entity(entity)
            table = rt.tables(entity)
            auto = [f for f in ent.active_fields if f.type == "auto_number"]
            valid: list[dict[str, Any]] = []
            env = expression_env(self, c, rt, actor)
            for i, data in enumerate(rows):
                values, _children, errors = check_input(ent, data, creating=True, prefix=f"[{i}].")
                apply_defaults(rt, ent, values, env)
                required(ent, values, errors, f"[{i}].")
                if errors:
                    all_errors.extend(errors)
                    continue
                compute_formulas(rt, ent, values, env)
                valid.append(values)
            if all_errors:
                raise ValidationError(f"{len(all_errors)} problem(s) in {len(rows)} rows", errors=all_errors[:200])
            for f in auto:  # one counter bump per field for the whole batch, in row order
                numbers = next_numbers(c, rt.name, ent.name, f.name, str(f.options.get("pattern")), len(valid))
                for values, number in zip(valid, numbers, strict=True):
                    values[f.name] = number
            for values in valid:
                cols = columns_for(ent, {f.name: values.get(f.name) for f in ent.active_fields if f.stored})
                cols.update(version=1, created_at=at, updated_at=at, created_by=actor.username,
                            updated_by=actor.username)
                prepared.append(cols)
            for i in range(0, len(prepared), 2000):
                c.execute(table.insert(), prepared[i:i + 2000])
            for listener in self.listeners:  # listeners that keep per-row figures (rollups)
                bulk = getattr(listener, "after_bulk_insert", None)
                if bulk is not None:
                    bulk(c, rt, ent, prepared)
            if audit or prepared:
                record_audit(c, app=rt.name, user=actor.username, action="import", entity=ent, record=None,
                             changes=[], summary=(f"{actor.username or '系统'} 导入了 {len(prepared)} 条 {ent.label.zh or ent.name}",
                                                  f"{actor.username or 'system'} imported {len(prepared)} {ent.name} rows"))
        return len(prepared)

    # Internals ---------------------------------------------------------------------------
    def _refuse_state_write(self, rt: AppRuntime, ent: EntitySpec, data: Mapping[str, Any], creating: bool,
                            current: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
        """``data`` without an unchanged state value; a changed one is 409 (transitions only)."""
        wf = rt.workflow_for(ent.name)
        if wf is None or wf.state_field not in data:
            return data
        value = data[wf.state_field]
        unchanged = (creating and value in (None, "", getattr(wf.initial_state, "name", None))) or (
            current is not None and value == current.get(wf.state_field))
        if unchanged:
            return {k: v for k, v in data.items() if k != wf.state_field}
        allowed = [t.name for t in wf.transitions]
        raise Conflict(
            f"'{wf.state_field}' changes only through the workflow's transitions: "
            f"POST .../data/{ent.name}/{{id}}/transitions/{{name}}",
            code="workflow.state_read_only",
            errors=[FieldError(wf.state_field, "workflow.state_read_only", "use a transition")],
            extra={"transitions": allowed})

    def _insert(self, c: Connection, rt: AppRuntime, ent: EntitySpec, data: Mapping[str, Any], actor: Actor, *,
                parent_id: int | None, idx: int, prefix: str, state: str | None = None,
                links_checked: bool = False) -> int:
        return self._insert_stored(c, rt, ent, data, actor, parent_id=parent_id, idx=idx, prefix=prefix,
                                   state=state, links_checked=links_checked)[0]

    def _insert_stored(self, c: Connection, rt: AppRuntime, ent: EntitySpec, data: Mapping[str, Any], actor: Actor,
                       *, parent_id: int | None, idx: int, prefix: str, state: str | None = None,
                       links_checked: bool = False) -> tuple[int, dict[str, Any] | None]:
        """Insert one row (and its child rows); returns (id, the record as stored, or None
        when the caller must read it back). The stored record comes from ``RETURNING``
        (the row as the database keeps it) plus the child rows just inserted, which is
        what ``_by_id`` would read; child rows come back without ``_parent_id`` removed.

        ``links_checked``: the caller (``_prepare_children``) already checked this row's
        links in this transaction."""
        values, children, errors = check_input(ent, data, creating=True, prefix=prefix)
        env = expression_env(self, c, rt, actor)
        apply_defaults(rt, ent, values, env)
        wf = rt.workflow_for(ent.name)
        if wf is not None and wf.initial_state is not None:
            values[wf.state_field] = state or wf.initial_state.name
        required(ent, values, errors, prefix)
        if not links_checked:
            check_links(c, rt, ent, values, errors, prefix)
        # The unique check is the INSERT's own (ON CONFLICT DO NOTHING, see
        # folds_unique): it is looked up here only when the write fails anyway, so the
        # errors come back at once and in the same order as before.
        folded = folds_unique(c, ent, values)
        at_unique = len(errors)
        if not folded:
            check_unique(c, rt, ent, values, errors, prefix, None)
        child_recs = self._prepare_children(c, rt, ent, children, errors, actor, prefix)
        if errors:
            if folded:
                taken: list[FieldError] = []
                check_unique(c, rt, ent, values, taken, prefix, None)
                errors[at_unique:at_unique] = taken
            raise ValidationError(f"{ent.name} has invalid fields", errors=errors)
        merged = {**values, **child_recs}
        compute_formulas(rt, ent, merged, env)
        errs = run_validations(rt, ent, merged, env, prefix)
        if errs:
            if folded:  # a value already taken is the error answered, as when checked first
                check_unique(c, rt, ent, values, errors, prefix, None)
            raise ValidationError(f"{ent.name} has invalid fields", errors=errors or errs)
        for f in ent.active_fields:
            if f.type == "auto_number":
                merged[f.name] = next_number(c, rt.name, ent.name, f.name, str(f.options.get("pattern")))
        at = now()
        cols = columns_for(ent, {f.name: merged.get(f.name) for f in ent.active_fields if f.stored})
        cols.update(version=1, created_at=at, updated_at=at, created_by=actor.username, updated_by=actor.username)
        if parent_id is not None:
            cols.update(_parent_id=parent_id, _idx=idx)
        table = rt.tables(ent.name)
        keys = tuple(cols)
        row = rt.statement(("lean_insert", ent.name, keys, folded), lambda: LeanInsert(
            table, keys, returning=True, or_nothing=folded)).row(c, cols)
        if row is None:  # a unique value is taken: the same 422 as the check before
            check_unique(c, rt, ent, values, errors, prefix, None)
            if errors:
                raise ValidationError(f"{ent.name} has invalid fields", errors=errors)
            insert = rt.statement(("insert", ent.name), lambda: table.insert().returning(*table.c))
            row = c.execute(insert, cols).mappings().one()  # another constraint: its own error
        rid = int(row["id"])
        stored: dict[str, Any] | None = row_to_record(ent, row)
        is_child = parent_link(rt, ent.name) is not None
        stored_lists: dict[str, list[dict[str, Any]]] = {}
        for fname, rows in children.items():
            f = ent.field(fname)
            assert f is not None and f.target
            # _prepare_children above checked every child row's links; one insert per list.
            stored_lists[fname] = insert_children(self, c, rt, rt.entity(f.target), rid, list(enumerate(rows)), actor,
                                                  prefix=f"{prefix}{fname}", returning=True,
                                                  prepared=child_recs[fname])
        if not is_child and stored is not None:
            # What _attach_children reads for a new record: every child list, in insert order.
            for f in ent.active_fields:
                if f.type == "child_table" and f.target:
                    stored[f.name] = stored_lists.get(f.name, [])
        if children and not is_child:
            # Parent formulas over child rows (e.g. amount = SUM(lines.amount)) see stored rows.
            assert stored is not None
            merged.update({k: stored[k] for k in children})
            before_formulas = {f.name: merged.get(f.name) for f in ent.active_fields if f.type == "formula"}
            compute_formulas(rt, ent, merged, env)
            changed = {k: merged[k] for k, v in before_formulas.items() if merged.get(k) != v}
            if changed:
                c.execute(sa.update(table).where(table.c.id == rid).values(columns_for(ent, changed)))
                stored = None  # read back: the stored form of the new values
        return rid, stored

    def _prepare_children(self, c: Connection, rt: AppRuntime, ent: EntitySpec, children: dict[str, list[Any]],
                          errors: list[FieldError], actor: Actor, prefix: str = "") -> dict[str, list[dict[str, Any]]]:
        """Check every child row up front so all errors come back at once; returns the
        coerced rows (for formulas on the parent)."""
        out: dict[str, list[dict[str, Any]]] = {}
        env = expression_env(self, c, rt, actor)
        known: set[tuple[str, Any]] = set()
        for fname, rows in children.items():
            f = ent.field(fname)
            assert f is not None and f.target
            child = rt.entity(f.target)
            checked = []
            for i, row in enumerate(rows):
                p = f"{prefix}{fname}[{i}]."
                values, _, errs = check_input(child, row, creating="id" not in row, prefix=p)
                apply_defaults(rt, child, values, env)
                if "id" not in row:
                    required(child, values, errs, p)
                checked.append((p, values, errs))
            # The rows' links looked up in one query per target, not one per row.
            prefetch_links(c, rt, child, [values for _p, values, _e in checked], known)
            coerced = []
            for p, values, errs in checked:
                check_links(c, rt, child, values, errs, p, known)
                errors.extend(errs)
                compute_formulas(rt, child, values, env)
                coerced.append(values)
            out[fname] = coerced
        return out

    def _replace_children(self, c: Connection, rt: AppRuntime, ent: EntitySpec, rid: int, fname: str,
                          rows: list[Mapping[str, Any]], actor: Actor,
                          prepared: list[dict[str, Any]] | None = None) -> None:
        """Insert, update and delete child rows so the list is ``rows``; ``prepared``: the
        rows as ``_prepare_children`` checked them (new rows are not checked twice)."""
        f = ent.field(fname)
        assert f is not None and f.target
        child = rt.entity(f.target)
        ct = rt.tables(f.target)
        existing = {r["id"]: r for r in c.execute(sa.select(ct).where(ct.c._parent_id == rid)).mappings()}
        keep: set[int] = set()
        env = expression_env(self, c, rt, actor)
        invalid: list[FieldError] = []
        changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        at = now()
        new_rows: list[tuple[int, Mapping[str, Any]]] = []
        for i, row in enumerate(rows):
            cid = row.get("id")
            if cid is None:
                new_rows.append((i, row))
                continue
            cid = _as_id(cid)
            if cid not in existing:
                raise ValidationError(f"{fname}[{i}]: row {cid} does not belong to this record",
                                      errors=[FieldError(f"{fname}[{i}].id", "child.foreign", "not a row of this record")])
            keep.add(cid)
            values, _, errs = check_input(child, row, creating=False, prefix=f"{fname}[{i}].")
            merged = {**row_to_record(child, existing[cid]), **values}
            compute_formulas(rt, child, merged, env)
            # A changed row obeys the child's validation rules like a new one (e.g. price >= 0).
            invalid += run_validations(rt, child, merged, env, f"{fname}[{i}].")
            cols = columns_for(child, {cf.name: merged.get(cf.name) for cf in child.active_fields if cf.stored})
            cols.update(_idx=i, updated_at=at, updated_by=actor.username, version=existing[cid]["version"] + 1)
            changed.setdefault(tuple(cols), []).append({"_jimu_id": cid, **{f"_v_{k}": v for k, v in cols.items()}})
        # update() ran _prepare_children on the new rows: their links are checked. One
        # executemany for all of them (a count's 5,000 lines at start), and an invalid new
        # row is still the error answered, as when rows were inserted one by one.
        insert_children(self, c, rt, child, rid, new_rows, actor, prefix=fname, returning=False,
                        prepared=None if prepared is None else [prepared[i] for i, _row in new_rows])
        if invalid:
            raise ValidationError(f"{ent.name} {rid} has invalid {fname} rows", errors=invalid)
        # One executemany per column set (the rows of one list share it): a count of 5,000
        # lines is one statement compiled once, not 5,000.
        for keys, params in changed.items():
            stmt = sa.update(ct).where(ct.c.id == sa.bindparam("_jimu_id")).values(
                {k: sa.bindparam(f"_v_{k}") for k in keys})
            c.execute(stmt, params)
        gone = [cid for cid in existing if cid not in keep]
        if gone:
            c.execute(sa.delete(ct).where(ct.c.id.in_(gone)))

    def _finish(self, c: Connection, rt: AppRuntime, ent: EntitySpec, action: str, rid: int,
                before: dict[str, Any] | None, after: dict[str, Any] | None, actor: Actor,
                extra: dict[str, Any] | None = None) -> None:
        changes = field_changes(ent, before, after)
        if action == "update" and not changes:
            return
        rec = after or before or {}
        title = str(rec.get(ent.title) or f"#{rid}")
        summary = summarize(actor.username, action, ent, title, changes, extra)
        changes_json = json_text_of(changes)  # json_changes' text, one encoding for the audit row and the event
        audit = audit_row(app=rt.name, user=actor.username, action=action, entity=ent, record=rid, changes=changes,
                          summary=summary, source=actor.source, document=(extra or {}).get("document"),
                          changes_json=changes_json)
        # The audit row waits for the outbox listener (the last one), which writes it with
        # the event row; the listeners before it write no audit rows and read none.
        event = WriteEvent(c, rt, ent, action, rid, before, after, changes, actor, extra or {}, changes_json, [audit])
        for listener in self.listeners:
            listener.after_write(event)
        if event.pending:
            insert_together(c, event.pending)


def _refuse_child(rt: AppRuntime, entity: str, right: str, row: Mapping[str, Any] | None = None) -> None:
    """Child rows are written only through their parent's child list (where the parent's
    state lock, rights and recomputed totals apply): a direct write is refused, whoever
    asks (DESIGN 8)."""
    link = parent_link(rt, entity)
    if link is not None:
        raise child_direct(rt.name, entity, link[0], link[1], right, (row or {}).get("_parent_id"))


def _select_by_id(table: sa.Table) -> Any:
    return sa.select(table).where(table.c.id == sa.bindparam("_jimu_rid"))


def _select_children(table: sa.Table) -> Any:
    return (sa.select(table).where(table.c._parent_id.in_(sa.bindparam("_jimu_ids", expanding=True)))
            .order_by(table.c._idx, table.c.id))


def _as_id(value: Any) -> int:
    rid = parse_id(value if isinstance(value, int) else str(value), high=MAX_ROW_ID)
    if rid is None:
        raise NotFound(f"no record with id {str(value)[:40]!r}", code="record.not_found")
    return rid

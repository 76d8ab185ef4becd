"""AccessPolicy: the caller's rights on one published app, applied to queries and records.

Rules (DESIGN 8, 15): an entity the caller has no right on does not exist for them (404);
a missing right on a visible entity is 403; a record outside the row filter is 404, never
403; writing a field the caller may only read is 403 naming the field; a hidden field is
absent everywhere and a masked one carries the mask's value.

Child rows (the rows of a ``child_table``: order lines, stocktake lines) have no rights
of their own: the caller reads them only where they may read the parent (the parent's
row filter limits every read and list of the child entity), and writes them only
through the parent's child list, where the parent's rights, state lock, editable fields
and recomputed totals apply. A direct create, update or delete of a child entity is
refused here, for every entry point, with ``record.child_direct`` pointing to the parent.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jimu.core.errors import Conflict, ExpressionError, FieldError, JimuError, NotFound, PermissionDenied
from jimu.platform.actor import Actor
from jimu.platform.expressions import Env, compile_expression
from jimu.platform.permissions import EntityGrant, FieldRule, effective_roles, entity_grant, is_admin
from jimu.platform.specs import EntitySpec
from jimu.platform.values import coerce, to_json
from jimu.runtime.apps import AppRegistry, AppRuntime
from jimu.runtime.records.children import child_direct, parent_link
from jimu.runtime.records.codec import SYSTEM_FIELDS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from jimu.runtime.context import Jimu

__all__ = ["AccessPolicy", "MASK_FAILED"]

MASK_FAILED = "***"
_lock = threading.Lock()
# Values to_json returns unchanged: checked by exact type first, so the common case costs
# one set lookup instead of to_json's isinstance chain.
_PLAIN = frozenset({str, int, bool, float, type(None)})
_PLAIN_FIELD, _MASK_FIELD, _CHILD_FIELD, _LINK_FIELD = 0, 1, 2, 3
# Rights a child entity can hold: it is read (and exported) where its parent is read, and
# written only through the parent's child list.
_CHILD_RIGHTS = frozenset({"read", "export"})
# A row filter naming the clock is compiled per request (its SQL carries the time as a
# literal); any identifier containing these words counts, which errs on the safe side.
_CLOCK_WORDS = re.compile(r"now|today", re.IGNORECASE)
# The last runtime served per app, by registry: a request that already read the published
# version (with its credentials) reuses it without another read when the version matches.
_runtimes: weakref.WeakKeyDictionary[AppRegistry, dict[str, AppRuntime]] = weakref.WeakKeyDictionary()


def _iso_datetime(value: datetime) -> str:
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()


# Exact types with a cheaper conversion than to_json's isinstance chain (same result);
# any other type goes through to_json itself.
_CONVERT: dict[type, Any] = {Decimal: lambda v: format(v, "f"), datetime: _iso_datetime, date: date.isoformat}


def _json(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    return _CONVERT.get(kind, to_json)(value)


def _cached(rt: AppRuntime, name: str, key: Any, build: Any) -> Any:
    """``build()`` cached under ``key`` in the runtime's cache ``name``: it lives exactly as
    long as this published spec (bounded: cleared past 4096 entries)."""
    cache: dict[Any, Any] = rt.__dict__.setdefault(name, {})
    hit = cache.get(key)
    if hit is None:
        hit = build()
        with _lock:
            if len(cache) > 4096:
                cache.clear()
            cache[key] = hit
    return hit


def _runtime(jimu: Jimu, app: str, version: int | None, conn: Connection | None) -> AppRuntime:
    """The published app, trusting ``version`` when the caller just read it."""
    with _lock:
        known = _runtimes.setdefault(jimu.apps, {})
    if version:
        hit = known.get(app)
        if hit is not None and hit.version == version:
            return hit
    rt = jimu.apps.get(app, conn)
    with _lock:
        known[app] = rt
    return rt


class AccessPolicy:
    """What ``actor`` may do on the published app ``rt``."""

    def __init__(self, jimu: Jimu, rt: AppRuntime, actor: Actor) -> None:
        self.jimu = jimu
        self.rt = rt
        self.app = rt.name
        self.actor = actor
        self._role_key = tuple(sorted(actor.roles))
        self.roles = _cached(rt, "_jimu_roles", self._role_key, lambda: effective_roles(rt.spec, actor.roles))
        self.env = Env(user=actor.username, roles=tuple(actor.roles), user_attrs=dict(actor.attrs))
        self._masks: dict[tuple[str, str], Any] = {}

    @classmethod
    def for_actor(cls, jimu: Jimu, app: str, actor: Actor, *, conn: Connection | None = None,
                  version: int | None = None) -> AccessPolicy:
        """The policy of ``actor`` on the published app ``app`` (404 when the app is
        unknown, unpublished or outside an API key's scope). ``version`` is the published
        version when the caller has just read it (in the same round trip as the
        credentials); otherwise it is read here, on ``conn`` when given."""
        scope = actor.attrs.get("api_key_app") if actor.attrs else None
        if scope is not None and scope != app:
            raise NotFound(f"no app named '{app}'", code="app.not_found")
        return cls(jimu, _runtime(jimu, app, version, conn), actor)

    # Questions ----------------------------------------------------------------------------
    @property
    def is_admin(self) -> bool:
        """Whether the caller holds the admin role."""
        return is_admin(self.actor.roles)

    def roles_restrict(self) -> bool:
        """Whether any of the caller's roles restricts fields or rows of some entity."""
        return any(r.all_entities is None or r.all_entities.fields or r.all_entities.row_filter
                   or any(x.fields or x.row_filter for x in r.entities.values()) for r in self.roles)

    def grant(self, entity: str) -> EntityGrant:
        """The merged grant of the caller's roles on ``entity`` (cached per published spec)."""
        # Cached on the AppRuntime itself: it lives exactly as long as this published spec.
        cache: dict[tuple[tuple[str, ...], str], EntityGrant] = self.rt.__dict__.setdefault("_jimu_grants", {})
        key = (self._role_key, entity)
        hit = cache.get(key)
        if hit is None:
            hit = entity_grant(self.rt.spec, self.roles, entity)
            link = self.parent_link(entity)
            if link is not None:
                # No rights of its own: read/export only while the parent may be read,
                # never a direct write (field rules stay: they apply inside the parent).
                parent_reads = self.grant(link[0]).can("read")
                hit = replace(hit, rights=frozenset(r for r in hit.rights if r in _CHILD_RIGHTS and parent_reads),
                              transitions=frozenset())
            with _lock:
                if len(cache) > 4096:
                    cache.clear()
                cache[key] = hit
        return hit

    def parent_link(self, entity: str) -> tuple[str, str] | None:
        """(parent entity, its child_table field) when ``entity``'s rows are child rows."""
        return parent_link(self.rt, entity)

    def child_direct(self, entity: str, right: str, parent_id: Any = None) -> JimuError:
        """The ``record.child_direct`` refusal of a direct ``right`` (create/update/delete)
        on child entity ``entity``; ``parent_id`` only when the caller may see that row."""
        link = self.parent_link(entity)
        assert link is not None
        return child_direct(self.app, entity, link[0], link[1], right, parent_id)

    def can(self, entity: str, right: str) -> bool:
        """Whether the caller has ``right`` (create/read/update/delete/export) on ``entity``."""
        ent = self.rt.find_entity(entity)
        return ent is not None and not ent.archived and self.grant(entity).can(right)

    def visible_entities(self) -> list[EntitySpec]:
        """Published, active entities the caller may read."""
        return [e for e in self.rt.spec.entities if not e.archived and self.grant(e.name).can("read")]

    def require(self, entity: str, right: str) -> EntitySpec:
        """The entity spec when ``right`` is granted: 404 when the entity is unknown or the
        caller has no right on it at all, 403 when only this right is missing."""
        ent = self.rt.find_entity(entity)
        grant = self.grant(entity) if ent is not None else None
        if ent is None or ent.archived or grant is None or not grant.visible:
            raise NotFound(f"app '{self.app}' has no entity '{entity}'", code="entity.not_found")
        if right in ("create", "update", "delete") and self.parent_link(entity) is not None:
            raise self.child_direct(entity, right)
        if not grant.can(right):
            raise PermissionDenied(f"you may not {right} {entity} records", code=f"forbidden.{right}")
        return ent

    def row_clause(self, entity: str, right: str = "read") -> Any:
        """An SQL clause limiting ``entity``'s rows to those the caller may ``right``:
        ``None`` for every row, ``false()`` when the right is not granted.

        The clause depends on the published spec, the roles and the caller's name and
        attributes (``$user``, ``$user.x``): it is built once per such profile and kept on
        the runtime (a publish makes a new runtime; changed roles or attributes make a new
        key). A filter that reads the clock (``$now``, ``$today``, ``TODAY()``) is built
        anew each time: its literal would go stale."""
        grant = self.grant(entity)
        if not grant.can(right):
            return sa.false()
        filters = grant.row_filters.get(right)

        def build() -> Any:
            own = None
            if filters is not None:
                clauses = [compile_expression(src, self.rt.spec, entity, purpose="row_filter")
                           .to_sql(self.rt.tables, self.env) for src in filters]
                own = clauses[0] if len(clauses) == 1 else sa.or_(*clauses)
            link = self.parent_link(entity)
            parent = self.row_clause(link[0], "read") if link is not None else None
            if link is None or parent is None:
                return own
            # A child row is visible only with its parent: the parent's read filter applies.
            ptable = self.rt.tables(link[0])
            inside = self.rt.tables(entity).c._parent_id.in_(sa.select(ptable.c.id).where(parent))
            return inside if own is None else sa.and_(own, inside)

        if self._reads_clock(entity, right):
            return build()
        return _cached(self.rt, "_jimu_row_clauses", (self.profile_key, entity, right), build)

    def _reads_clock(self, entity: str, right: str) -> bool:
        """Whether the row clause of ``entity`` (with its parents') names the clock."""
        if any(_CLOCK_WORDS.search(src) for src in self.grant(entity).row_filters.get(right) or ()):
            return True
        link = self.parent_link(entity)
        return link is not None and self._reads_clock(link[0], "read")

    @property
    def profile_key(self) -> tuple[Any, ...]:
        """What an expression may read of the caller (roles, name, attributes): the key of
        the per-caller caches on the runtime."""
        key = self.__dict__.get("_profile_key")
        if key is None:
            attrs = repr(sorted(self.actor.attrs.items())) if self.actor.attrs else ""
            key = self.__dict__["_profile_key"] = (self._role_key, self.actor.username, attrs)
        return key  # type: ignore[no-any-return]

    def admits(self, entity: str, record: Mapping[str, Any], right: str = "read") -> bool | None:
        """Whether ``record`` (as stored) lies inside the rows the caller may ``right``,
        decided without a query; None when only the database can tell (a row filter that
        follows a link). Same answer as :meth:`row_clause` (evaluator and SQL agree)."""
        grant = self.grant(entity)
        if not grant.can(right):
            return False
        link = self.parent_link(entity)
        if link is not None and self.row_clause(link[0], "read") is not None:
            return None  # the parent's row filter decides: a query
        filters = grant.row_filters.get(right)
        if filters is None:
            return True
        compiled = [compile_expression(src, self.rt.spec, entity, purpose="row_filter") for src in filters]
        if not all(c.local for c in compiled):
            return None
        try:
            return any(c.test(record, self.env) for c in compiled)
        except ExpressionError:
            return None

    def state_editable(self, entity: str, record: Mapping[str, Any] | None) -> set[str] | None:
        """The fields anyone may still change on ``record`` in its workflow state: None when
        the state does not restrict them (no workflow, a new record, no ``editable_fields``),
        an empty set in a final state."""
        wf = self.rt.workflow_for(entity)
        if wf is None or record is None:
            return None
        st = wf.state(str(record.get(wf.state_field) or ""))
        if st is None:
            return None
        if st.final:
            return set()
        return None if st.editable_fields is None else set(st.editable_fields)

    def check_state_write(self, entity: str, record: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        """Refuse (409 ``workflow.state_locked``, naming every field) changes the record's
        workflow state does not allow: any change in a final state, changes outside the
        state's ``editable_fields`` otherwise. A value sent back unchanged is accepted;
        a child table sent at all counts as a change."""
        editable = self.state_editable(entity, record)
        if editable is None:
            return
        ent = self.rt.entity(entity)
        wf = self.rt.workflow_for(entity)
        locked = []
        for key, value in data.items():
            f = ent.field(key)
            if (f is None or f.archived or key in SYSTEM_FIELDS or key in editable
                    or (wf is not None and key == wf.state_field) or f.type in ("formula", "auto_number")):
                continue
            if f.type != "child_table":
                try:
                    if coerce(f, value) == record.get(key):
                        continue
                except (ValueError, TypeError, ArithmeticError):
                    pass  # not a valid value: locked all the same
            locked.append(key)
        if locked:
            state = str(record.get(wf.state_field) if wf is not None else "")
            raise Conflict(f"{entity} in state '{state}' does not allow changing " + ", ".join(locked),
                           code="workflow.state_locked",
                           errors=[FieldError(k, "workflow.state_locked", f"locked in state '{state}'") for k in locked],
                           extra={"state": state, "editable": sorted(editable)})

    def field_rule(self, entity: str, field: str) -> FieldRule:
        """The caller's access to one field."""
        return self.grant(entity).field_rule(field)

    def readable_fields(self, entity: str) -> list[str]:
        """Active fields the caller sees (masked ones included), in form order."""
        ent = self.rt.entity(entity)
        grant = self.grant(entity)
        return [f.name for f in ent.active_fields if grant.field_rule(f.name).visible]

    def masked_fields(self, entity: str) -> dict[str, str]:
        """Field -> mask expression for the caller's masked fields."""
        ent = self.rt.entity(entity)
        grant = self.grant(entity)
        out: dict[str, str] = {}
        for f in ent.active_fields:
            rule = grant.field_rule(f.name)
            if rule.access == "mask" and rule.mask:
                out[f.name] = rule.mask
        return out

    def writable_fields(self, entity: str) -> list[str]:
        """Active fields the caller may write (computed fields excluded)."""
        ent = self.rt.entity(entity)
        grant = self.grant(entity)
        return [f.name for f in ent.active_fields
                if grant.field_rule(f.name).writable and f.type not in ("formula", "auto_number")]

    # Records ---------------------------------------------------------------------------------
    def _plan(self, entity: str) -> list[tuple[str, int, Any]]:
        """(field, how, extra) for every visible field: how is plain, mask (extra: the
        compiled mask, None when it does not compile), child or link (extra: the target).
        Cached on the runtime per role set, like the grants."""
        cache: dict[tuple[tuple[str, ...], str], list[tuple[str, int, Any]]] = self.rt.__dict__.setdefault(
            "_jimu_render_plans", {})
        key = (self._role_key, entity)
        plan = cache.get(key)
        if plan is None:
            ent = self.rt.entity(entity)
            grant = self.grant(entity)
            plan = []
            for f in ent.active_fields:
                rule = grant.field_rule(f.name)
                if not rule.visible:
                    continue
                if rule.access == "mask" and rule.mask:
                    try:
                        compiled = compile_expression(rule.mask, self.rt.spec, entity, purpose="mask")
                    except ExpressionError:
                        compiled = None
                    plan.append((f.name, _MASK_FIELD, compiled))
                elif f.type == "child_table" and f.target:
                    plan.append((f.name, _CHILD_FIELD, f.target))
                elif f.type == "link" and f.target:
                    plan.append((f.name, _LINK_FIELD, f.target))
                else:
                    plan.append((f.name, _PLAIN_FIELD, None))
            with _lock:
                if len(cache) > 4096:
                    cache.clear()
                cache[key] = plan
        return plan

    def render(self, entity: str, record: Mapping[str, Any], *, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """The record as the caller may see it, JSON-ready: hidden fields removed, masked
        ones replaced by the mask's value, child rows rendered by the child entity's rights.
        ``fields`` narrows the output (system fields always stay)."""
        return self.render_many(entity, (record,), fields=fields)[0]

    def render_many(self, entity: str, records: Iterable[Mapping[str, Any]], *,
                    fields: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """:meth:`render` for each of ``records`` (a page: the plan is looked up once)."""
        plan = self._plan(entity)
        if fields is not None:
            wanted = set(fields)
            plan = [step for step in plan if step[0] in wanted]
        env = self.env
        plain, convert, to_plain = _PLAIN, _CONVERT, to_json
        out_list = []
        for record in records:
            out: dict[str, Any] = {}
            for k in SYSTEM_FIELDS:
                if k in record:
                    value = record[k]
                    out[k] = value if type(value) in plain else convert.get(type(value), to_plain)(value)
            for name, how, extra in plan:
                if name not in record:
                    continue
                value = record[name]
                if how == _PLAIN_FIELD:
                    out[name] = value if type(value) in plain else convert.get(type(value), to_plain)(value)
                elif how == _MASK_FIELD:
                    try:
                        masked = MASK_FAILED if extra is None else extra.evaluate(record, env)
                    except ExpressionError:
                        masked = MASK_FAILED
                    out[name] = _json(masked)
                elif how == _CHILD_FIELD and isinstance(value, list):
                    out[name] = self.render_many(extra, [row for row in value if isinstance(row, Mapping)])
                elif how == _LINK_FIELD and isinstance(value, Mapping):
                    out[name] = self.render(extra, value)  # an expanded link
                else:
                    out[name] = _json(value)
            out_list.append(out)
        return out_list

    def _mask(self, entity: str, mask: str, record: Mapping[str, Any]) -> Any:
        try:
            compiled = self._masks.get((entity, mask))
            if compiled is None:
                compiled = self._masks[(entity, mask)] = compile_expression(mask, self.rt.spec, entity,
                                                                            purpose="mask")
            return compiled.evaluate(record, self.env)
        except ExpressionError:
            return MASK_FAILED

    def check_write(self, entity: str, data: Mapping[str, Any], *, creating: bool = False) -> None:
        """Refuse (403, naming every field) a write to fields the caller may not write.
        Child-table rows are checked against the child entity's rights. Unknown fields are
        left to the record service (422)."""
        self.require(entity, "create" if creating else "update")
        denied = self._denied(entity, data, "")
        if denied:
            names = ", ".join(denied)
            raise PermissionDenied(f"you may not write {names}", code="forbidden.field",
                                   errors=[FieldError(n, "forbidden.field", "read-only for you") for n in denied])

    def _denied(self, entity: str, data: Mapping[str, Any], prefix: str) -> list[str]:
        ent = self.rt.entity(entity)
        grant = self.grant(entity)
        out: list[str] = []
        wf = self.rt.workflow_for(ent.name)
        state_field = None if wf is None else wf.state_field
        for key, value in data.items():
            f = ent.field(key)
            if f is None or f.archived or key in SYSTEM_FIELDS:
                continue
            if key == state_field:
                continue  # the record service answers 409: the state moves only by transitions
            rule = grant.field_rule(key)
            if f.type == "child_table" and f.target and rule.writable and isinstance(value, list):
                for i, row in enumerate(value):
                    if isinstance(row, Mapping):
                        out += self._denied(f.target, row, f"{prefix}{key}[{i}].")
            elif f.type in ("formula", "auto_number") and rule.visible:
                continue  # computed: a value sent back is ignored by the record service
            elif not rule.writable:
                out.append(prefix + key)
        return out

    def load(self, entity: str, record_id: Any, right: str = "read") -> dict[str, Any]:
        """The stored record when the caller may ``right`` it; 404 otherwise (existence
        never leaks). A write right on a child row: 404 unless the caller sees the row (and
        so its parent), then the ``record.child_direct`` refusal naming the parent's id."""
        if right in ("create", "update", "delete") and self.parent_link(entity) is not None:
            row = self.load(entity, record_id)
            raise self.child_direct(entity, right, row.get("_parent_id"))
        self.require(entity, right)
        where = self.row_clause(entity, right)
        if right != "read":
            read = self.row_clause(entity, "read")
            where = read if where is None else (where if read is None else sa.and_(where, read))
        return self.jimu.records.get(self.app, entity, record_id, where=where)

    def visible_ids(self, entity: str, ids: Iterable[Any]) -> set[str]:
        """Which of ``ids`` (as strings) the caller may read."""
        wanted = [int(i) for i in ids if str(i).isdigit()]
        if not wanted or not self.can(entity, "read"):
            return set()
        table = self.rt.tables(entity)
        stmt = sa.select(table.c.id).where(table.c.id.in_(wanted))
        clause = self.row_clause(entity)
        if clause is not None:
            stmt = stmt.where(clause)
        with self.jimu.db.read() as c:
            return {str(r[0]) for r in c.execute(stmt)}

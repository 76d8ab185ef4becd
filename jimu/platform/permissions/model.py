"""Rights, row filters and field access from the roles a user holds.

Contract (DESIGN 15): a role is ``{"entities": {ENTITY: {"create", "read", "update",
"delete", "export", "transitions", "row_filter", "fields": {FIELD: "hidden" | "read" |
"write" | {"mask": EXPR}}}}}``; a field not listed is ``write`` when the role may update,
else ``read``. Across several roles the rights are a union, the row filters are OR-ed
(a role granting the right with no filter lifts the restriction) and each field takes the
most permissive access: write > read > mask > hidden.

Admin-ness is a role: the app's role named ``admin`` when the app defines one, else an
implicit role granting everything to users holding ``admin``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.roles import EntityRights, FieldAccess, FieldMask, RoleSpec

__all__ = [
    "ADMIN_ROLE",
    "RIGHTS",
    "Right",
    "FieldRule",
    "EntityGrant",
    "is_admin",
    "implicit_admin_role",
    "effective_roles",
    "entity_grant",
    "merge_field_access",
]

ADMIN_ROLE = "admin"
Right = Literal["create", "read", "update", "delete", "export"]
RIGHTS: tuple[str, ...] = ("create", "read", "update", "delete", "export")
_RANK = {"hidden": 0, "mask": 1, "read": 2, "write": 3}


@dataclass(frozen=True)
class FieldRule:
    """The resolved access to one field: ``hidden``, ``mask`` (with its expression),
    ``read`` or ``write``."""

    access: Literal["hidden", "mask", "read", "write"]
    mask: str | None = None

    @property
    def visible(self) -> bool:
        return self.access != "hidden"

    @property
    def writable(self) -> bool:
        return self.access == "write"


@dataclass(frozen=True)
class EntityGrant:
    """Everything a set of roles allows on one entity.

    ``row_filters`` maps each right to the filter expressions OR-ed for it: ``None`` means
    every row, an empty tuple means no row (the right is not granted)."""

    entity: str
    rights: frozenset[str]
    transitions: frozenset[str]
    row_filters: dict[str, tuple[str, ...] | None]
    fields: dict[str, FieldRule] = field(default_factory=dict)
    default_rule: FieldRule = FieldRule("read")

    def can(self, right: str) -> bool:
        """Whether the right (create/read/update/delete/export) is granted."""
        return right in self.rights

    def can_transition(self, name: str) -> bool:
        """Whether the workflow transition ``name`` may be fired (``*`` grants all)."""
        return name in self.transitions or "*" in self.transitions

    def field_rule(self, name: str) -> FieldRule:
        """The access to field ``name`` (unlisted fields get the default)."""
        return self.fields.get(name, self.default_rule)

    @property
    def visible(self) -> bool:
        """Whether the entity exists for these roles at all (any right)."""
        return bool(self.rights) or bool(self.transitions)


def is_admin(roles: Iterable[str]) -> bool:
    """Whether the holder of ``roles`` administers the platform (holds role ``admin``)."""
    return ADMIN_ROLE in set(roles)


def implicit_admin_role() -> RoleSpec:
    """The admin role used when an app defines none: every right on every entity."""
    return RoleSpec(name=ADMIN_ROLE, label={"zh": "管理员", "en": "Administrator"},  # type: ignore[arg-type]
                    all_entities=EntityRights(create=True, read=True, update=True, delete=True, export=True,
                                              transitions=["*"]))


def effective_roles(app: AppSpec, roles: Iterable[str]) -> list[RoleSpec]:
    """The app's role specs matching ``roles`` by name (plus the implicit admin role)."""
    out: list[RoleSpec] = []
    for name in dict.fromkeys(roles):
        spec = app.role(name)
        if spec is not None:
            out.append(spec)
        elif name == ADMIN_ROLE:
            out.append(implicit_admin_role())
    return out


def _rank(access: FieldAccess) -> tuple[int, str | None]:
    if isinstance(access, FieldMask):
        return _RANK["mask"], access.mask
    return _RANK[access], None


def merge_field_access(accesses: Sequence[FieldAccess]) -> FieldRule:
    """The most permissive of several roles' access to one field (hidden if none)."""
    best: tuple[int, str | None] = (_RANK["hidden"], None)
    for access in accesses:
        rank = _rank(access)
        if rank[0] > best[0]:
            best = rank
    name = next(k for k, v in _RANK.items() if v == best[0])
    return FieldRule(name, best[1])  # type: ignore[arg-type]


def _rights_for(app: AppSpec, role: RoleSpec, entity: str) -> EntityRights | None:
    rights = role.rights(entity)
    if rights is None:
        parent = app.parent_of(entity)
        if parent is not None:
            # Child rows are part of their parent: same rights, every field by default.
            own = role.rights(parent[0].name)
            if own is not None:
                rights = own.model_copy(update={"fields": {}, "row_filter": None})
    return rights


def _access(rights: EntityRights, name: str, base_of: dict[str, str]) -> FieldAccess:
    """One role's access to field ``name``. A field holding another in the base currency
    (``options.base_of``) and not listed by the role follows that field: hidden stays
    hidden, and a masked one is hidden (its mask reads the other field, so it would show the
    wrong figure), so ``base_amount`` never gives away an ``amount`` the role may not see."""
    of = base_of.get(name)
    if of is None or name in rights.fields:
        return rights.field_access(name)
    access = rights.field_access(of)
    return "hidden" if isinstance(access, FieldMask) else access


def entity_grant(app: AppSpec, roles: Iterable[RoleSpec], entity: str) -> EntityGrant:
    """The union of what ``roles`` allow on ``entity`` of ``app``."""
    granted: set[str] = set()
    transitions: set[str] = set()
    filters: dict[str, list[str] | None] = {r: [] for r in RIGHTS}
    per_field: dict[str, list[FieldAccess]] = {}
    defaults: list[FieldAccess] = []
    spec = app.entity(entity)
    names = [f.name for f in spec.fields] if spec is not None else []
    base_of = {f.name: str(f.options["base_of"]) for f in (spec.fields if spec is not None else [])
               if f.options.get("base_of")}
    for role in roles:
        rights = _rights_for(app, role, entity)
        if rights is None:
            continue
        transitions.update(rights.transitions)
        for right in RIGHTS:
            if not getattr(rights, right):
                continue
            granted.add(right)
            current = filters[right]
            if rights.row_filter is None or current is None:
                filters[right] = None
            else:
                current.append(rights.row_filter)
        if not (rights.read or rights.update or rights.create):
            continue
        for name in names:
            per_field.setdefault(name, []).append(_access(rights, name, base_of))
        defaults.append("write" if (rights.update or rights.create) else "read")
    row_filters = {r: (None if v is None else tuple(dict.fromkeys(v))) for r, v in filters.items()}
    fields = {name: merge_field_access(acc) for name, acc in per_field.items()}
    for f in spec.fields if spec is not None else []:
        # ``options.read_only``: the system writes the field (e.g. a line's batch allocations),
        # nobody else, whatever the roles say; hidden and masked stay as they are.
        if f.options.get("read_only") and fields.get(f.name, FieldRule("read")).access == "write":
            fields[f.name] = FieldRule("read")
    return EntityGrant(entity, frozenset(granted), frozenset(transitions), row_filters, fields,
                       merge_field_access(defaults))

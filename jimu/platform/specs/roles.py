"""The role spec: rights per entity, a row filter, and per-field access (contract 15)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from jimu.platform.specs.common import Label, SpecModel

__all__ = ["FieldMask", "FieldAccess", "EntityRights", "RoleSpec"]


class FieldMask(SpecModel):
    """The field is shown as the result of ``mask`` (e.g. ``ROUND_TO(cost_price, 1000)``)."""

    mask: str


FieldAccess = Literal["hidden", "read", "write"] | FieldMask


class EntityRights(SpecModel):
    create: bool = False
    read: bool = False
    update: bool = False
    delete: bool = False
    export: bool = False
    transitions: list[str] = Field(default_factory=list)
    row_filter: str | None = None
    fields: dict[str, FieldAccess] = Field(default_factory=dict)

    def field_access(self, field: str) -> FieldAccess:
        """A field not listed is ``write`` when the role may update (or create), else ``read``."""
        if field in self.fields:
            return self.fields[field]
        return "write" if (self.update or self.create) else "read"


class RoleSpec(SpecModel):
    name: str
    label: Label = Field(default_factory=Label)
    description: Label | None = None
    entities: dict[str, EntityRights] = Field(default_factory=dict)
    all_entities: EntityRights | None = None
    domains: list[str] = Field(default_factory=list)

    def rights(self, entity: str) -> EntityRights | None:
        """Rights on ``entity``: its own entry, else the role-wide default, else none."""
        return self.entities.get(entity) or self.all_entities

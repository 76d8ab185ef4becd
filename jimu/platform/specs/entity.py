"""The entity spec: a business object stored as one real table."""

from __future__ import annotations

from pydantic import Field

from jimu.platform.specs.common import Label, SpecModel
from jimu.platform.specs.fields import FieldSpec

__all__ = ["EntitySpec"]


class EntitySpec(SpecModel):
    name: str
    label: Label = Field(default_factory=Label)
    fields: list[FieldSpec] = Field(default_factory=list)
    title_field: str | None = None
    search_fields: list[str] = Field(default_factory=list)
    indexes: list[list[str]] = Field(default_factory=list)
    unique_together: list[list[str]] = Field(default_factory=list)
    default_sort: str = "-id"
    description: Label | None = None
    archived: bool = False
    table: str | None = None

    def field(self, name: str) -> FieldSpec | None:
        """The field named ``name`` (archived fields included)."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def active_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields if not f.archived]

    @property
    def title(self) -> str:
        """The field shown as the record's title."""
        if self.title_field:
            return self.title_field
        for candidate in ("name", "title", "code", "sku", "number", "no"):
            if self.field(candidate):
                return candidate
        return "id"

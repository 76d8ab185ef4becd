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

    def base_field(self, name: str) -> FieldSpec | None:
        """The active stored field declared as ``name`` in the base currency
        (``options.base_of``, e.g. an order's ``base_amount`` of ``amount``), None when there
        is none. Sums of ``name`` across records add this one instead: a money field keeps
        each record's own currency, so its raw sum would add USD to CNY."""
        for f in self.fields:
            if not f.archived and f.stored and f.options.get("base_of") == name:
                return f
        return None

    def summed_field(self, name: str) -> FieldSpec | None:
        """What a sum of field ``name`` across records adds: its base-currency field
        (:meth:`base_field`) when it has one, else the field itself (None when unknown)."""
        return self.base_field(name) or self.field(name)

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

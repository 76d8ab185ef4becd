"""The field spec: one typed column of an entity (DESIGN section 3, contract section 15)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, model_validator

from jimu.platform.specs.common import Label, SpecModel
from jimu.platform.specs.naming import name_from_label

__all__ = ["FieldType", "FIELD_TYPES", "FieldSpec", "FieldValidation", "DEFAULT_OPTIONS"]

FieldType = Literal[
    "text",
    "long_text",
    "integer",
    "decimal",
    "money",
    "percent",
    "boolean",
    "date",
    "datetime",
    "duration",
    "choice",
    "multi_choice",
    "link",
    "child_table",
    "user",
    "attachment",
    "image",
    "email",
    "phone",
    "url",
    "barcode",
    "geo",
    "formula",
    "auto_number",
    "json",
]

FIELD_TYPES: tuple[str, ...] = get_args(FieldType)

# Per-type option defaults, filled in when a field is read so every consumer sees them.
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "decimal": {"precision": 18, "scale": 4},
    "money": {"currency": "CNY", "precision": 18, "scale": 2},
    "percent": {"precision": 9, "scale": 4},
    "text": {"max_length": 255},
    "email": {"max_length": 255},
    "phone": {"max_length": 64},
    "url": {"max_length": 2048},
    "barcode": {"max_length": 128},
}


class FieldValidation(SpecModel):
    """A rule the value must satisfy: an expression that is true for valid records."""

    expression: str
    message: Label = Field(default_factory=Label)


class FieldSpec(SpecModel):
    """One field. ``column`` is the physical column, fixed when the field is first
    published, so a rename changes only the name."""

    name: str = ""
    label: Label = Field(default_factory=Label)
    type: FieldType = "text"
    required: bool = False
    default: Any = None
    unique: bool = False
    indexed: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    help: Label | None = None
    validation: FieldValidation | None = None
    archived: bool = False
    column: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _name_from_label(cls, value: Any) -> Any:
        if isinstance(value, dict) and not value.get("name"):
            label = value.get("label")
            text = label if isinstance(label, str) else (label or {}).get("zh") or (label or {}).get("en")
            if text:
                value = {**value, "name": name_from_label(str(text))}
        return value

    @model_validator(mode="after")
    def _fill(self) -> FieldSpec:
        defaults = DEFAULT_OPTIONS.get(self.type)
        if defaults:
            self.options = {**defaults, **self.options}
        if not self.label.zh and not self.label.en:
            self.label = Label(zh=self.name, en=self.name)
        return self

    # Typed accessors ---------------------------------------------------------------
    @property
    def scale(self) -> int:
        """Decimal places for decimal/money/percent (formulas: their result type's)."""
        return int(self.options.get("scale", 0))

    @property
    def precision(self) -> int:
        return int(self.options.get("precision", 18))

    @property
    def target(self) -> str | None:
        """The linked or child entity for link/child_table fields."""
        value = self.options.get("entity")
        return str(value) if value else None

    @property
    def choice_values(self) -> list[str]:
        return [str(c["value"]) if isinstance(c, dict) else str(c) for c in self.options.get("choices", [])]

    @property
    def expression(self) -> str | None:
        value = self.options.get("expression")
        return str(value) if value else None

    @property
    def stored(self) -> bool:
        """Whether the field has a column (child tables live in their own table)."""
        return self.type != "child_table"

    @property
    def value_type(self) -> str:
        """The type of the value: a formula's result type, else the field type."""
        if self.type == "formula":
            return str(self.options.get("result_type", "decimal"))
        return self.type

"""Shared pieces of the spec models: bilingual labels and the base model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["Label", "SpecModel", "OpenSpecModel"]


class SpecModel(BaseModel):
    """Base of every spec document: unknown keys are errors, so typos are caught."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_assignment=False)

    def dump(self) -> dict[str, Any]:
        """The JSON-able form (aliases, no unset noise)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=False)


class OpenSpecModel(SpecModel):
    """A spec kind still growing: extra keys are kept, not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Label(SpecModel):
    """A label in Chinese and English; a plain string is taken as Chinese."""

    zh: str = ""
    en: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_str(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"zh": value, "en": ""}
        return value

    def text(self, lang: str = "zh") -> str:
        """The label in ``lang``, falling back to the other language."""
        if lang.startswith("en"):
            return self.en or self.zh
        return self.zh or self.en

    def __str__(self) -> str:
        if self.zh and self.en and self.zh != self.en:
            return f"{self.zh} ({self.en})"
        return self.zh or self.en

"""The remaining spec kinds: form, view, automation, ledger, dashboard.

They are validated shells that the issues owning them fill in; unknown keys are kept
(OpenSpecModel) so a richer spec written by a newer designer is not lost.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from jimu.platform.specs.common import Label, OpenSpecModel, SpecModel

__all__ = [
    "FormSection",
    "FormSpec",
    "ViewSpec",
    "AutomationSpec",
    "LedgerDimension",
    "LedgerPosting",
    "LedgerSpec",
    "DashboardSpec",
]


class FormSection(OpenSpecModel):
    name: str = ""
    label: Label = Field(default_factory=Label)
    columns: int = 2
    tab: str | None = None
    fields: list[str] = Field(default_factory=list)
    visible_if: str | None = None


class FormSpec(OpenSpecModel):
    name: str
    entity: str
    label: Label = Field(default_factory=Label)
    sections: list[FormSection] = Field(default_factory=list)


class ViewSpec(OpenSpecModel):
    name: str
    entity: str
    label: Label = Field(default_factory=Label)
    kind: Literal["list", "kanban", "calendar", "report"] = "list"
    columns: list[str] = Field(default_factory=list)
    filter: str | None = None
    sort: list[str] = Field(default_factory=list)
    group_by: str | None = None
    aggregates: dict[str, str] = Field(default_factory=dict)


class AutomationSpec(OpenSpecModel):
    name: str
    label: Label = Field(default_factory=Label)
    entity: str | None = None
    trigger: dict[str, Any] = Field(default_factory=dict)
    condition: str | None = None
    actions: list[dict[str, Any]] = Field(default_factory=list)
    enabled: bool = True


class LedgerDimension(SpecModel):
    name: str
    entity: str | None = None
    required: bool = True


class LedgerPosting(OpenSpecModel):
    """Which document (and transition) moves how much from which bucket to which."""

    name: str
    entity: str
    on: str = "transition"
    transition: str | None = None
    lines: str | None = None
    quantity: str = "qty"
    dimensions: dict[str, str] = Field(default_factory=dict)
    moves: list[dict[str, Any]] = Field(default_factory=list)


class LedgerSpec(OpenSpecModel):
    name: str
    label: Label = Field(default_factory=Label)
    dimensions: list[LedgerDimension] = Field(default_factory=list)
    buckets: list[str] = Field(default_factory=lambda: ["on_hand", "reserved", "in_transit", "on_order"])
    scale: int = 4
    allow_negative: bool = False
    postings: list[LedgerPosting] = Field(default_factory=list)


class DashboardSpec(OpenSpecModel):
    name: str
    label: Label = Field(default_factory=Label)
    charts: list[dict[str, Any]] = Field(default_factory=list)



"""The app spec: every element of one app, as stored, exported and published."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from jimu.platform.specs.common import Label, SpecModel
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.kinds import AutomationSpec, DashboardSpec, FormSpec, LedgerSpec, ViewSpec
from jimu.platform.specs.roles import RoleSpec
from jimu.platform.specs.workflow import WorkflowSpec

__all__ = ["AppSpec", "KINDS", "KIND_MODELS"]

# kind -> (attribute on AppSpec, model). The order is the order of export and validation.
KIND_MODELS: dict[str, tuple[str, type[SpecModel]]] = {
    "entity": ("entities", EntitySpec),
    "workflow": ("workflows", WorkflowSpec),
    "role": ("roles", RoleSpec),
    "form": ("forms", FormSpec),
    "view": ("views", ViewSpec),
    "automation": ("automations", AutomationSpec),
    "ledger": ("ledgers", LedgerSpec),
    "dashboard": ("dashboards", DashboardSpec),
}
KINDS = tuple(KIND_MODELS)


class AppSpec(SpecModel):
    name: str
    label: Label = Field(default_factory=Label)
    description: Label | None = None
    domains: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    entities: list[EntitySpec] = Field(default_factory=list)
    workflows: list[WorkflowSpec] = Field(default_factory=list)
    roles: list[RoleSpec] = Field(default_factory=list)
    forms: list[FormSpec] = Field(default_factory=list)
    views: list[ViewSpec] = Field(default_factory=list)
    automations: list[AutomationSpec] = Field(default_factory=list)
    ledgers: list[LedgerSpec] = Field(default_factory=list)
    dashboards: list[DashboardSpec] = Field(default_factory=list)
    owners: dict[str, str] = Field(default_factory=dict)

    def entity(self, name: str) -> EntitySpec | None:
        return next((e for e in self.entities if e.name == name), None)

    def workflow_for(self, entity: str) -> WorkflowSpec | None:
        """The workflow driving ``entity``'s state field, if any."""
        return next((w for w in self.workflows if w.entity == entity), None)

    def role(self, name: str) -> RoleSpec | None:
        return next((r for r in self.roles if r.name == name), None)

    def ledger(self, name: str) -> LedgerSpec | None:
        return next((x for x in self.ledgers if x.name == name), None)

    def elements(self, kind: str) -> list[Any]:
        attr, _ = KIND_MODELS[kind]
        return list(getattr(self, attr))

    def element(self, kind: str, name: str) -> Any | None:
        return next((e for e in self.elements(kind) if e.name == name), None)

    def parent_of(self, child_entity: str) -> tuple[EntitySpec, str] | None:
        """The entity (and its child_table field) that owns ``child_entity``'s rows."""
        for e in self.entities:
            for f in e.fields:
                if f.type == "child_table" and f.target == child_entity and not f.archived:
                    return e, f.name
        return None

"""The workflow spec: a state machine on one entity (DESIGN section 6, contract 15)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from jimu.platform.specs.common import Label, OpenSpecModel, SpecModel
from jimu.platform.specs.fields import FieldSpec

__all__ = [
    "StateSpec",
    "ApproverRule",
    "ApprovalStep",
    "ApprovalSpec",
    "STAY",
    "TransitionSpec",
    "TimerSpec",
    "WorkflowSpec",
]


class StateSpec(SpecModel):
    name: str
    label: Label = Field(default_factory=Label)
    initial: bool = False
    final: bool = False
    editable_fields: list[str] | None = None


class ApproverRule(SpecModel):
    """Who may approve: a role, a user field of the record, the submitter's manager,
    or an expression that yields user names."""

    kind: Literal["role", "field", "manager", "expression", "user"] = "role"
    value: str = ""


class ApprovalStep(SpecModel):
    name: str
    label: Label = Field(default_factory=Label)
    approvers: list[ApproverRule] = Field(default_factory=list)
    mode: Literal["any", "all", "n_of_m"] = "any"
    n: int | None = None
    condition: str | None = None
    fallback_role: str | None = None


class ApprovalSpec(SpecModel):
    steps: list[ApprovalStep] = Field(default_factory=list)
    reject_to: str | None = None


STAY = "*"  # a transition ``to`` that keeps the current state


class TransitionSpec(SpecModel):
    """``partial_to``: the state taken instead of ``to`` when the transition's progress
    postings (``progress`` on a posting: e.g. a partial receipt) leave some line with a
    rest; the transition then usually also leaves from that state. ``progress``: the same
    declaration as a progress posting's (``lines``, ``quantity``, ``progress``, ``input``,
    ``input_fields``) for when no posting carries it (a template without stock).
    ``to: "*"`` (:data:`STAY`): the record stays in the state it was fired from (an
    action such as invoicing what a partially shipped order has moved)."""

    name: str
    label: Label = Field(default_factory=Label)
    from_: list[str] = Field(default_factory=list, alias="from")
    to: str
    partial_to: str | None = None
    progress: dict[str, Any] | None = None
    roles: list[str] = Field(default_factory=list)
    guard: str | None = None
    guard_message: Label | None = None
    inputs: list[FieldSpec] = Field(default_factory=list)
    set: dict[str, str] = Field(default_factory=dict)
    approval: ApprovalSpec | None = None
    postings: list[dict[str, Any]] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)


class TimerSpec(OpenSpecModel):
    """``after`` an ISO 8601 duration in ``state``, or ``at`` a date field plus ``offset``,
    run ``action`` (notify, escalate, transition, or an automation action)."""

    name: str
    state: str | None = None
    after: str | None = None
    at_field: str | None = None
    offset: str | None = None
    action: dict[str, Any] = Field(default_factory=dict)


class WorkflowSpec(SpecModel):
    name: str
    entity: str
    label: Label = Field(default_factory=Label)
    state_field: str = "state"
    states: list[StateSpec] = Field(default_factory=list)
    transitions: list[TransitionSpec] = Field(default_factory=list)
    timers: list[TimerSpec] = Field(default_factory=list)

    def state(self, name: str) -> StateSpec | None:
        return next((s for s in self.states if s.name == name), None)

    def transition(self, name: str) -> TransitionSpec | None:
        return next((t for t in self.transitions if t.name == name), None)

    @property
    def initial_state(self) -> StateSpec | None:
        return next((s for s in self.states if s.initial), self.states[0] if self.states else None)

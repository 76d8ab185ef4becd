"""Spec models (pydantic v2) for every kind of app metadata, and their validation."""

from jimu.platform.specs.app import KIND_MODELS, KINDS, AppSpec
from jimu.platform.specs.common import Label, SpecModel
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.fields import FIELD_TYPES, FieldSpec, FieldType, FieldValidation
from jimu.platform.specs.kinds import (
    AutomationSpec,
    DashboardSpec,
    FormSection,
    FormSpec,
    LedgerDimension,
    LedgerPosting,
    LedgerSpec,
    ViewSpec,
)
from jimu.platform.specs.roles import EntityRights, FieldMask, RoleSpec
from jimu.platform.specs.workflow import (
    ApprovalSpec,
    ApprovalStep,
    ApproverRule,
    StateSpec,
    TimerSpec,
    TransitionSpec,
    WorkflowSpec,
)

__all__ = [
    "AppSpec",
    "ApprovalSpec",
    "ApprovalStep",
    "ApproverRule",
    "AutomationSpec",
    "DashboardSpec",
    "EntityRights",
    "EntitySpec",
    "FIELD_TYPES",
    "FieldMask",
    "FieldSpec",
    "FieldType",
    "FieldValidation",
    "FormSection",
    "FormSpec",
    "KINDS",
    "KIND_MODELS",
    "Label",
    "LedgerDimension",
    "LedgerPosting",
    "LedgerSpec",
    "RoleSpec",
    "SpecModel",
    "StateSpec",
    "TimerSpec",
    "TransitionSpec",
    "ViewSpec",
    "WorkflowSpec",
]

"""The CBU manifest (``cbu.yaml``, DESIGN section 12) and the template manifest
(``template.yaml``): pydantic models, their JSON Schema, and loading from a folder.

A CBU contributes spec fragments. Whole elements (entities, forms, views, workflows,
roles, automations, ledgers, dashboards) are listed under ``contributes``; fragments of
elements another unit owns go under ``extends`` (fields added to an entity, postings and
dimensions added to a ledger, transitions/states/timers added to a workflow, settings).
Any mapping inside ``contributes``/``extends`` may carry ``when: EXPR`` over the params
(``approvals``, ``not stock``, ``mode == "strict"``); strings may use ``{{ param }}``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from jimu.core.errors import FieldError, ValidationError
from jimu.platform.specs.common import Label, SpecModel
from jimu.platform.specs.naming import name_problem
from jimu.templates_market.versions import is_range, parse_version

__all__ = [
    "CbuManifest", "CbuParam", "Contributions", "Extensions", "TemplateManifest", "TemplateCbu",
    "cbu_json_schema", "template_json_schema", "load_cbu", "load_template", "CbuPackage", "TemplatePackage",
]

_DOMAIN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


class CbuParam(SpecModel):
    """One install parameter: a type, a default, an optional list of choices."""

    type: Literal["string", "integer", "number", "boolean", "choice"] = "string"
    default: Any = None
    choices: list[Any] = Field(default_factory=list)
    label: Label = Field(default_factory=Label)
    help: Label | None = None

    def coerce(self, name: str, value: Any) -> Any:
        """``value`` (possibly text from the command line) as this param's type."""
        try:
            if self.type == "boolean":
                if isinstance(value, str):
                    low = value.strip().lower()
                    if low not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                        raise ValueError(value)
                    return low in ("true", "1", "yes", "on")
                return bool(value)
            if self.type == "integer":
                return int(value)
            if self.type == "number":
                return float(value) if not isinstance(value, int | float) else value
        except (TypeError, ValueError):
            raise ValidationError(f"param '{name}': {value!r} is not a {self.type}", code="cbu.param",
                                  errors=[FieldError(f"params.{name}", "cbu.param", f"expected {self.type}")]) from None
        if self.type == "choice" and self.choices and value not in self.choices:
            raise ValidationError(f"param '{name}': {value!r} is not one of {self.choices}", code="cbu.param",
                                  errors=[FieldError(f"params.{name}", "cbu.param", "not an allowed choice")])
        return str(value) if self.type in ("string", "choice") and value is not None else value


class Dependency(SpecModel):
    name: str
    version: str = "*"
    when: str | None = None

    @field_validator("version")
    @classmethod
    def _range(cls, v: str) -> str:
        if not is_range(v):
            raise ValueError(f"'{v}' is not a version range")
        return v


class Intended(SpecModel):
    """What the unit is meant for (the health scanner's domain-fit rules read it)."""

    entities: list[str] = Field(default_factory=list)
    uses: list[str] = Field(default_factory=list)


class Contributions(SpecModel):
    """Whole spec elements the unit creates (each a spec document, see ``jimu schema``)."""

    entities: list[dict[str, Any]] = Field(default_factory=list)
    forms: list[dict[str, Any]] = Field(default_factory=list)
    views: list[dict[str, Any]] = Field(default_factory=list)
    workflows: list[dict[str, Any]] = Field(default_factory=list)
    roles: list[dict[str, Any]] = Field(default_factory=list)
    automations: list[dict[str, Any]] = Field(default_factory=list)
    ledgers: list[dict[str, Any]] = Field(default_factory=list)
    dashboards: list[dict[str, Any]] = Field(default_factory=list)


class Extensions(SpecModel):
    """Fragments added to elements that other units own."""

    fields: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    ledger_postings: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    ledger_dimensions: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    posting_options: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    workflow_states: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    workflow_transitions: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    workflow_timers: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    #: ``{"workflow.transition": [input field spec, ...]}``: inputs added to another unit's
    #: transition (e.g. an override a manager may pass when receiving).
    transition_inputs: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)


class ValueRename(SpecModel):
    """Stored values a new version of the unit renames (e.g. a choice value): applied to
    the app's rows when the unit is upgraded."""

    entity: str
    field: str
    values: dict[str, str] = Field(default_factory=dict)


class CbuManifest(SpecModel):
    """``cbu.yaml``."""

    name: str
    version: str
    title: Label
    description: Label | None = None
    domains: list[str] = Field(default_factory=list)
    intended: Intended = Field(default_factory=Intended)
    depends: list[Dependency] = Field(default_factory=list)
    params: dict[str, CbuParam] = Field(default_factory=dict)
    contributes: Contributions = Field(default_factory=Contributions)
    extends: Extensions = Field(default_factory=Extensions)
    actions: str | None = None
    sample_data: list[str] = Field(default_factory=list)
    changelog: dict[str, str] = Field(default_factory=dict)
    value_renames: list[ValueRename] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        problem = name_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        try:
            parse_version(v)
        except ValidationError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        bad = [d for d in v if not _DOMAIN.match(d)]
        if bad:
            raise ValueError(f"domain tags look like 'supply_chain.supplier': {bad}")
        return v

    @property
    def ref(self) -> str:
        """``name@version``, the owner string kept in ``AppSpec.owners``."""
        return f"{self.name}@{self.version}"

    def resolve_params(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``given`` (only the params this unit declares), coerced."""
        out = {k: p.default for k, p in self.params.items()}
        for k, v in (given or {}).items():
            if k in self.params:
                out[k] = self.params[k].coerce(k, v)
        return out


class TemplateCbu(SpecModel):
    name: str
    version: str = "*"
    params: dict[str, Any] = Field(default_factory=dict)
    #: False: the template's demo leaves this unit's sample data out (a template bringing
    #: its own catalogue, e.g. catering's dishes and ingredients instead of groceries).
    sample_data: bool = True


class TemplateManifest(SpecModel):
    """``template.yaml``: a bundle of CBUs with params, sample data and a README."""

    id: str
    title: Label
    description: Label | None = None
    industry: str = "general"
    cbus: list[TemplateCbu]
    params: dict[str, CbuParam] = Field(default_factory=dict)
    sample_data: bool = True
    screenshots: list[str] = Field(default_factory=list)
    readme: str = "README.md"
    contains: list[str] = Field(default_factory=list)

    @field_validator("cbus", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        return [{"name": x} if isinstance(x, str) else x for x in (v or [])]


class CbuPackage:
    """A loaded CBU: its manifest and its folder."""

    def __init__(self, manifest: CbuManifest, path: Path) -> None:
        self.manifest = manifest
        self.path = path

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def sample_files(self) -> list[Path]:
        """Sample data files in load order (listed order, else sorted)."""
        folder = self.path / "sample_data"
        if self.manifest.sample_data:
            return [folder / n for n in self.manifest.sample_data]
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".csv"))

    def __repr__(self) -> str:
        return f"<CBU {self.manifest.ref} at {self.path}>"


class TemplatePackage:
    def __init__(self, manifest: TemplateManifest, path: Path) -> None:
        self.manifest = manifest
        self.path = path

    @property
    def id(self) -> str:
        return self.manifest.id

    def readme(self) -> str:
        p = self.path / self.manifest.readme
        return p.read_text(encoding="utf-8") if p.is_file() else ""


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ValidationError(f"{path}: not valid YAML: {exc}", code="cbu.yaml") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: expected a mapping at the top", code="cbu.yaml")
    return data


def _invalid(path: Path, exc: PydanticValidationError) -> ValidationError:
    errors = [FieldError(".".join(str(p) for p in e["loc"]), "cbu.manifest", e["msg"]) for e in exc.errors()]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return ValidationError(f"{path}: invalid manifest: {detail}", code="cbu.manifest", errors=errors)


def load_cbu(folder: Path) -> CbuPackage:
    """Load and validate ``folder/cbu.yaml`` (422 listing every problem)."""
    path = folder / "cbu.yaml"
    try:
        manifest = CbuManifest.model_validate(_read_yaml(path))
    except PydanticValidationError as exc:
        raise _invalid(path, exc) from None
    return CbuPackage(manifest, folder)


def load_template(folder: Path) -> TemplatePackage:
    """Load and validate ``folder/template.yaml``."""
    path = folder / "template.yaml"
    try:
        manifest = TemplateManifest.model_validate(_read_yaml(path))
    except PydanticValidationError as exc:
        raise _invalid(path, exc) from None
    return TemplatePackage(manifest, folder)


def cbu_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``cbu.yaml`` (``jimu schema cbu``)."""
    schema = CbuManifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Jimu capability unit (cbu.yaml)"
    return schema


def template_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``template.yaml``."""
    schema = TemplateManifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema

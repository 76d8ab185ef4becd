"""The health scanner's data model: rules, hits, findings, CBU facts and the scan context.

Element keys
------------
Every finding names its element with an *element key*, the same format as the keys of
``AppSpec.owners`` (which maps an element to the CBU that created it, ``"cbu_name@version"``):

==========================  =============================================
``app``                     the app itself (settings, domains)
``entity:<entity>``         an entity
``field:<entity>.<field>``  a field of an entity
``workflow:<name>``         a workflow (``state:<wf>.<state>``, ``transition:<wf>.<t>``,
                            ``timer:<wf>.<timer>`` for its parts)
``role:<name>``             a role (``role:<name>`` also for its per-entity rights)
``view:<name>`` / ``form:<name>`` / ``automation:<name>`` / ``ledger:<name>`` /
``dashboard:<name>``        the other spec kinds
``cbu:<name>``              an installed capability unit
==========================  =============================================

``ScanContext.stats`` carries optional runtime facts (the runtime fills them from the
database: ``jimu.runtime.health_facts``); the keys the built-in rules read:

* ``rows``: ``{entity: row count}``
* ``field_writes``: ``{"entity.field": number of records where the field was ever written}``
* ``role_holders``: ``{role: number of active users holding it}``
* ``active_users``: ``[username, ...]`` of the active users (approvers named as users)
* ``api_keys``: ``[{"name": str, "roles": [role, ...]}]``
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from jimu.platform.specs import AppSpec, EntitySpec, FieldSpec, RoleSpec, WorkflowSpec

__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "STATES",
    "Category",
    "HealthSeverity",
    "FindingState",
    "CbuManifestInfo",
    "CbuUsage",
    "ScanContext",
    "Hit",
    "Fix",
    "Rule",
    "HealthFinding",
    "parse_owner",
    "finding_id",
    "fingerprint",
]

Category = Literal["DF", "DM", "FX", "WF", "PS", "PF", "AU", "MG"]
HealthSeverity = Literal["critical", "high", "medium", "low", "info"]
FindingState = Literal["open", "fixed", "false_positive", "wont_fix", "snoozed"]

CATEGORIES: dict[str, tuple[str, str]] = {
    "DF": ("领域适配", "Domain fit"),
    "DM": ("数据模型", "Data model"),
    "FX": ("公式", "Formulas"),
    "WF": ("工作流", "Workflows"),
    "PS": ("权限", "Permissions"),
    "PF": ("性能", "Performance"),
    "AU": ("自动化", "Automations"),
    "MG": ("治理", "Governance"),
}
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
STATES: tuple[str, ...] = ("open", "fixed", "false_positive", "wont_fix", "snoozed")


@dataclass(frozen=True)
class CbuManifestInfo:
    """What the scanner knows of one installed CBU (filled by the template market).

    ``domains`` are tags such as ``supply_chain.supplier``; ``entities`` the entity names
    the unit is meant to own or link to; ``keywords`` words of its intended uses (English
    tokens or Chinese words) that are never treated as foreign to it.
    """

    name: str
    version: str = "1.0.0"
    latest_version: str | None = None
    domains: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    title: str = ""

    @property
    def families(self) -> frozenset[str]:
        """Domain families: the part of each tag before the first dot."""
        return frozenset(d.split(".", 1)[0] for d in self.domains)


@dataclass(frozen=True)
class CbuUsage:
    """Usage counters of one CBU across the installation (all apps)."""

    events: int = 0
    errors: int = 0
    apps_using: int = 0
    apps_total: int = 0

    @property
    def failure_rate(self) -> float:
        return self.errors / self.events if self.events else 0.0

    @property
    def reuse_rate(self) -> float:
        return self.apps_using / self.apps_total if self.apps_total else 0.0


def parse_owner(value: str) -> tuple[str, str]:
    """``"cbu_name@1.2.0"`` -> ``("cbu_name", "1.2.0")`` (version ``""`` when absent)."""
    name, _, version = value.partition("@")
    return name, version


@dataclass
class ScanContext:
    """Everything a rule may look at. Indexes are computed once, on first use."""

    app: AppSpec
    cbus: Mapping[str, CbuManifestInfo] = field(default_factory=dict)
    usage: Mapping[str, CbuUsage] = field(default_factory=dict)
    stats: Mapping[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @cached_property
    def entities(self) -> dict[str, EntitySpec]:
        return {e.name: e for e in self.app.entities if not e.archived}

    @cached_property
    def roles(self) -> dict[str, RoleSpec]:
        return {r.name: r for r in self.app.roles}

    @cached_property
    def workflows_by_entity(self) -> dict[str, WorkflowSpec]:
        return {w.entity: w for w in self.app.workflows}

    def fields(self) -> list[tuple[EntitySpec, FieldSpec]]:
        """Every active field of every active entity."""
        return [(e, f) for e in self.entities.values() for f in e.active_fields]

    def rows(self, entity: str) -> int | None:
        value = self.stats.get("rows", {}).get(entity)
        return int(value) if value is not None else None

    def owner_cbu(self, element: str) -> CbuManifestInfo | None:
        """The manifest of the CBU owning ``element`` (installed version from the owner)."""
        owner = self.app.owners.get(element)
        if not owner:
            return None
        name, version = parse_owner(owner)
        info = self.cbus.get(name)
        if info is None:
            return CbuManifestInfo(name=name, version=version or "0")
        return info

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def element_json(self, element: str) -> Any:
        """The JSON of the element named by an element key (None when it does not exist)."""
        kind, _, name = element.partition(":")
        app = self.app
        if kind == "app":
            return {"settings": app.settings, "domains": app.domains}
        if kind == "field":
            ename, _, fname = name.partition(".")
            ent = self.entities.get(ename)
            f = ent.field(fname) if ent else None
            return f.dump() if f else None
        if kind in ("state", "transition", "timer"):
            wname, _, part = name.partition(".")
            wf = app.element("workflow", wname)
            if wf is None:
                return None
            items = {"state": wf.states, "transition": wf.transitions, "timer": wf.timers}[kind]
            hit = next((x for x in items if x.name == part), None)
            return hit.dump() if hit else None
        if kind == "cbu":
            info, usage = self.cbus.get(name), self.usage.get(name)
            return {"cbu": repr(info), "usage": repr(usage)}
        if kind in ("dimension", "posting", "postopt"):
            return _ledger_part(app, kind, name)
        if kind == "input":
            wname, _, rest = name.partition(".")
            tname, _, iname = rest.partition(".")
            wf = app.element("workflow", wname)
            t = next((x for x in wf.transitions if x.name == tname), None) if wf else None
            inp = next((f for f in t.inputs if f.name == iname), None) if t else None
            return inp.dump() if inp else None
        if kind == "setting":
            return {name: app.settings[name]} if name in app.settings else None
        if kind == "role" and "." in name:  # a role's rights on one entity
            rname, _, ename = name.partition(".")
            role = app.role(rname)
            rights = role.entities.get(ename) if role else None
            return rights.dump() if rights is not None else None
        try:
            obj = app.element(kind, name)
        except KeyError:
            return None
        return obj.dump() if obj is not None else None


def _ledger_part(app: AppSpec, kind: str, name: str) -> Any:
    """``dimension:ledger.dim``, ``posting:ledger.posting`` or ``postopt:ledger.posting``
    (the posting's overrides a unit set)."""
    lname, _, part = name.partition(".")
    lg = app.ledger(lname)
    if lg is None:
        return None
    if kind == "dimension":
        dim = next((d for d in lg.dimensions if d.name == part), None)
        return dim.dump() if dim else None
    posting = next((p for p in lg.postings if p.name == part), None)
    if posting is None:
        return None
    return posting.dump() if kind == "posting" else posting.dump().get("overrides")


@dataclass(frozen=True)
class Hit:
    """What a rule's check reports: the element, its path in the spec and a message."""

    element: str
    path: str
    message: str


@dataclass(frozen=True)
class Fix:
    """A safe automatic fix: ``plan(hits)`` describes it step by step, ``apply(app, hits)`` returns
    a modified copy of the app (never mutating its argument)."""

    plan: Callable[[list[Hit]], list[str]]
    apply: Callable[[AppSpec, list[Hit]], AppSpec]


@dataclass(frozen=True)
class Rule:
    """One health rule. ``check`` must be pure and never raise for a valid AppSpec."""

    id: str
    category: Category
    severity: HealthSeverity
    title_zh: str
    title_en: str
    check: Callable[[ScanContext], list[Hit]]
    remediation: str
    fix: Fix | None = None

    @property
    def title(self) -> str:
        return f"{self.title_zh} / {self.title_en}"


def finding_id(rule: str, path: str) -> str:
    """A stable id for a finding: a hash of the rule id and the element path."""
    return hashlib.sha1(f"{rule}|{path}".encode()).hexdigest()[:16]


def fingerprint(obj: Any) -> str:
    """A hash of an element's JSON, so a dismissed finding reopens when the element changes."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class HealthFinding:
    """A hit made a finding: rule facts, stable id, element fingerprint and state."""

    id: str
    rule: str
    category: str
    severity: str
    element: str
    path: str
    message: str
    remediation: str
    title_zh: str
    title_en: str
    fingerprint: str
    fix_available: bool = False
    state: str = "open"
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report form (DESIGN 15) plus title, path and fix_available."""
        return {
            "id": self.id,
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "element": self.element,
            "message": self.message,
            "remediation": self.remediation,
            "state": self.state,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "path": self.path,
            "fix_available": self.fix_available,
        }

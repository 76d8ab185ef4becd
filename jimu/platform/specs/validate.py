"""Spec validation: every problem of an app spec at once, as findings with stable ids.

``parse_app`` turns raw JSON/YAML data into an :class:`AppSpec`, converting pydantic's
errors into findings whose path names elements by name (``entities.item.fields.cost``), not
by index. ``validate_app`` then checks what a schema cannot: references, duplicates,
reserved words, per-type options. Further validators (expressions, workflows) plug in
through the ``jimu_spec_validators`` hook.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from jimu.core.errors import FieldError, ValidationError
from jimu.platform.findings import Finding, blocking
from jimu.platform.hooks import hookimpl
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.fields import FIELD_TYPES, FieldSpec
from jimu.platform.specs.naming import SYSTEM_COLUMNS, name_problem

__all__ = ["parse_app", "validate_app", "check_app", "raise_for", "pydantic_findings", "AUTO_NUMBER_RE"]

AUTO_NUMBER_RE = re.compile(r"\{(YYYY|YY|MM|DD|#+)\}")

KNOWN_OPTIONS: dict[str, set[str]] = {
    "text": {"max_length", "pattern"},
    "long_text": {"max_length", "rich"},
    "integer": {"min", "max"},
    "decimal": {"precision", "scale", "min", "max", "base_of"},
    "money": {"currency", "precision", "scale", "min", "max", "base_of"},
    "percent": {"precision", "scale", "min", "max"},
    "choice": {"choices"},
    "multi_choice": {"choices"},
    "link": {"entity", "on_delete", "filter", "db_constraint"},
    "child_table": {"entity"},
    "formula": {"expression", "result_type", "scale", "precision", "stored", "base_of"},
    "auto_number": {"pattern"},
    "email": {"max_length"},
    "phone": {"max_length"},
    "url": {"max_length"},
    "barcode": {"max_length", "symbology"},
}


def _loc_path(data: Any, loc: tuple[Any, ...]) -> str:
    """Turn ('entities', 0, 'fields', 2, 'type') into 'entities.item.fields.cost.type'."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            item = node[key]
            name = item.get("name") if isinstance(item, dict) else None
            parts.append(str(name) if name else f"[{key}]")
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)


def pydantic_findings(exc: PydanticValidationError, data: Any, prefix: str = "") -> list[Finding]:
    """Findings for each of pydantic's errors, with named paths."""
    findings = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        # Union/Literal errors carry the branch name as a loc part; drop pydantic's noise.
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        path = _loc_path(data, loc)
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        message = err.get("msg", "invalid")
        hint = ""
        if err.get("type") == "literal_error" and loc and loc[-1] == "type":
            message = f"unknown field type {err.get('input')!r}"
            hint = "one of: " + ", ".join(FIELD_TYPES)
        elif err.get("type") == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" if loc else "unknown key"
        findings.append(Finding("SPEC-E000", "error", path, message, hint))
    return findings


def parse_app(data: dict[str, Any]) -> tuple[AppSpec | None, list[Finding]]:
    """Parse and validate raw app data; returns the spec (None if it does not parse) and
    every finding."""
    try:
        app = AppSpec.model_validate(data)
    except PydanticValidationError as exc:
        return None, pydantic_findings(exc, data)
    return app, validate_app(app)


def check_app(app: AppSpec) -> AppSpec:
    """Validate ``app`` and raise one ValidationError listing every blocking finding."""
    raise_for(validate_app(app), "The app spec is invalid")
    return app


def raise_for(findings: list[Finding], message: str) -> None:
    """Raise a 422 ValidationError carrying each blocking finding as a field error."""
    errors = blocking(findings)
    if errors:
        raise ValidationError(
            f"{message}: {len(errors)} problem(s)",
            code="spec.invalid",
            errors=[FieldError(f.path, f.id, f.message + (f" — {f.hint}" if f.hint else "")) for f in errors],
            extra={"findings": [f.as_dict() for f in findings]},
        )


def _dupes(names: Iterable[str]) -> list[str]:
    return [n for n, c in Counter(names).items() if c > 1]


def _check_names(kind: str, names: list[str], path: str) -> list[Finding]:
    out = []
    for name in names:
        problem = name_problem(name)
        if problem:
            out.append(Finding("SPEC-E001", "error", f"{path}.{name}", problem, f"rename this {kind}"))
    for name in _dupes(names):
        out.append(Finding("SPEC-E002", "error", f"{path}.{name}", f"duplicate {kind} name '{name}'"))
    return out


def _check_db_constraint(f: FieldSpec, path: str) -> list[Finding]:
    """``options.db_constraint: false`` (a link without a database foreign key, for tables
    of machine-written rows): only with ``on_delete: restrict``, the behaviour the record
    service keeps by itself (a delete of a linked record is refused by a count); a cascade
    or a set-null needs the database's foreign key."""
    value = f.options["db_constraint"]
    where = f"{path}.options.db_constraint"
    if not isinstance(value, bool):
        return [Finding("SPEC-E021", "error", where, "db_constraint is true or false")]
    on_delete = str(f.options.get("on_delete", "restrict"))
    if not value and on_delete != "restrict":
        return [Finding("SPEC-E021", "error", where, f"a link without a database constraint cannot on_delete: {on_delete} "
                        "(only restrict is kept without it)", "keep the constraint, or use on_delete: restrict")]
    return []


def _check_field(app: AppSpec, entity: EntitySpec, f: FieldSpec) -> list[Finding]:
    path = f"entities.{entity.name}.fields.{f.name}"
    out: list[Finding] = []
    if f.name in SYSTEM_COLUMNS:
        out.append(Finding("SPEC-E003", "error", path, f"'{f.name}' is a system column of every record",
                           f"rename it, e.g. '{entity.name}_{f.name}'"))
    unknown_opts = set(f.options) - KNOWN_OPTIONS.get(f.type, set())
    for key in sorted(unknown_opts):
        out.append(Finding("SPEC-W013", "warning", f"{path}.options.{key}",
                           f"option '{key}' has no meaning for a {f.type} field"))
    if f.type in ("link", "child_table"):
        target = f.target
        if not target:
            out.append(Finding("SPEC-E004", "error", path, f"{f.type} field needs options.entity"))
        elif app.entity(target) is None:
            names = [e.name for e in app.entities]
            out.append(Finding("SPEC-E004", "error", path, f"links to unknown entity '{target}'",
                               _suggest(target, names)))
        elif f.type == "child_table" and target == entity.name:
            out.append(Finding("SPEC-E014", "error", path, "an entity cannot be its own child table"))
    if f.type == "link" and "db_constraint" in f.options:
        out += _check_db_constraint(f, path)
    if f.type in ("choice", "multi_choice"):
        values = f.choice_values
        if not values:
            out.append(Finding("SPEC-E005", "error", path, f"{f.type} field needs options.choices"))
        for v in _dupes(values):
            out.append(Finding("SPEC-E005", "error", path, f"choice '{v}' is listed twice"))
    if f.type in ("decimal", "money", "percent") or (f.type == "formula" and "scale" in f.options):
        precision, scale = f.options.get("precision", 18), f.options.get("scale", 0)
        if not (isinstance(precision, int) and 1 <= precision <= 38):
            out.append(Finding("SPEC-E006", "error", path, "precision must be an integer from 1 to 38"))
        elif not (isinstance(scale, int) and 0 <= scale <= precision):
            out.append(Finding("SPEC-E006", "error", path, "scale must be an integer from 0 to precision"))
    if f.type == "formula":
        if not f.expression:
            out.append(Finding("SPEC-E007", "error", path, "formula field needs options.expression"))
        rt = f.options.get("result_type", "decimal")
        if rt not in FIELD_TYPES or rt in ("formula", "child_table", "auto_number", "link"):
            out.append(Finding("SPEC-E007", "error", path, f"formula result_type '{rt}' is not a value type"))
    if f.type == "auto_number":
        pattern = str(f.options.get("pattern", ""))
        if not pattern or not re.search(r"\{#+\}", pattern):
            out.append(Finding("SPEC-E008", "error", path, "auto_number needs a pattern with a counter such as {####}",
                               "e.g. SO-{YYYY}{MM}-{####}"))
    if f.options.get("base_of") is not None:
        out.extend(_check_base_of(entity, f, path))
    if f.unique and f.type in ("child_table", "long_text", "json", "multi_choice", "formula"):
        out.append(Finding("SPEC-E015", "error", path, f"a {f.type} field cannot be unique"))
    return out


_AMOUNTS = ("decimal", "money")


def _check_base_of(entity: EntitySpec, f: FieldSpec, path: str) -> list[Finding]:
    """``options.base_of``: ``f`` holds another amount field of its entity in the base
    currency (sums of that field add ``f``), so both are decimal/money amounts and a field
    has one base field at most."""
    of = f.options["base_of"]
    target = entity.field(str(of)) if isinstance(of, str) else None
    where = f"{path}.options.base_of"
    if target is None or target.name == f.name:
        names = [x.name for x in entity.fields if x.name != f.name]
        return [Finding("SPEC-E020", "error", where, f"base_of names no other field of '{entity.name}': {of!r}",
                        _suggest(str(of), names))]
    if f.value_type not in _AMOUNTS or target.value_type not in _AMOUNTS:
        return [Finding("SPEC-E020", "error", where, f"base_of links two decimal or money amounts; "
                        f"'{f.name}' is {f.value_type} and '{target.name}' is {target.value_type}")]
    others = [x.name for x in entity.fields if x.name != f.name and x.options.get("base_of") == target.name]
    if others:
        return [Finding("SPEC-E020", "error", where, f"'{target.name}' already has a base field: {others[0]}")]
    return []


def _suggest(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def _check_entity(app: AppSpec, entity: EntitySpec) -> list[Finding]:
    path = f"entities.{entity.name}"
    out = _check_names("field", [f.name for f in entity.fields], f"{path}.fields")
    columns = [f.column for f in entity.fields if f.column]
    for col in _dupes(columns):
        out.append(Finding("SPEC-E002", "error", path, f"two fields share the column '{col}'"))
    for f in entity.fields:
        out.extend(_check_field(app, entity, f))
    names = [f.name for f in entity.fields]
    refs: list[tuple[str, str]] = []
    if entity.title_field:
        refs.append(("title_field", entity.title_field))
    refs += [("search_fields", n) for n in entity.search_fields]
    refs += [("indexes", n) for idx in entity.indexes for n in idx]
    refs += [("unique_together", n) for idx in entity.unique_together for n in idx]
    for where, name in refs:
        if name not in names and name not in SYSTEM_COLUMNS:
            out.append(Finding("SPEC-E009", "error", f"{path}.{where}", f"unknown field '{name}'",
                               _suggest(name, names)))
    if not entity.active_fields:
        out.append(Finding("SPEC-W018", "warning", path, f"entity '{entity.name}' has no fields"))
    return out


def _check_workflow(app: AppSpec, wf: Any) -> list[Finding]:
    path = f"workflows.{wf.name}"
    out: list[Finding] = []
    entity = app.entity(wf.entity)
    if entity is None:
        return [Finding("SPEC-E010", "error", path, f"workflow on unknown entity '{wf.entity}'",
                        _suggest(wf.entity, [e.name for e in app.entities]))]
    state_field = entity.field(wf.state_field)
    if state_field is None:
        out.append(Finding("SPEC-E010", "error", path, f"entity '{entity.name}' has no state field '{wf.state_field}'",
                           "add a choice field named 'state'"))
    states = [s.name for s in wf.states]
    out += _check_names("state", states, f"{path}.states")
    out += _check_names("transition", [t.name for t in wf.transitions], f"{path}.transitions")
    if not wf.states:
        out.append(Finding("SPEC-E010", "error", path, "a workflow needs at least one state"))
    initials = [s.name for s in wf.states if s.initial]
    if len(initials) > 1:
        out.append(Finding("SPEC-E010", "error", path, f"more than one initial state: {', '.join(initials)}"))
    for t in wf.transitions:
        tpath = f"{path}.transitions.{t.name}"
        for s in [*t.from_, t.to, *([t.partial_to] if t.partial_to else [])]:
            if s not in states and s != "*":
                out.append(Finding("SPEC-E010", "error", tpath, f"unknown state '{s}'", _suggest(s, states)))
        for fname in t.set:
            if entity.field(fname) is None:
                out.append(Finding("SPEC-E010", "error", f"{tpath}.set.{fname}", f"unknown field '{fname}'"))
        for role in t.roles:
            if app.roles and app.role(role) is None:
                out.append(Finding("SPEC-E011", "error", f"{tpath}.roles", f"unknown role '{role}'",
                                   _suggest(role, [r.name for r in app.roles])))
    if state_field is not None and state_field.type == "choice":
        missing = [s for s in states if s not in state_field.choice_values]
        if missing:
            out.append(Finding("SPEC-W019", "warning", path,
                               f"states not among the choices of '{wf.state_field}': {', '.join(missing)}"))
    return out


def _check_roles(app: AppSpec) -> list[Finding]:
    out = _check_names("role", [r.name for r in app.roles], "roles")
    for role in app.roles:
        for ename, rights in role.entities.items():
            path = f"roles.{role.name}.entities.{ename}"
            entity = app.entity(ename)
            if entity is None:
                out.append(Finding("SPEC-E011", "error", path, f"unknown entity '{ename}'",
                                   _suggest(ename, [e.name for e in app.entities])))
                continue
            for fname in rights.fields:
                if entity.field(fname) is None:
                    out.append(Finding("SPEC-E011", "error", f"{path}.fields.{fname}", f"unknown field '{fname}'",
                                       _suggest(fname, [f.name for f in entity.fields])))
    return out


def _check_refs(app: AppSpec) -> list[Finding]:
    out: list[Finding] = []
    entity_names = [e.name for e in app.entities]
    bound: list[tuple[str, list[Any]]] = [("form", list(app.forms)), ("view", list(app.views))]
    for kind, items in bound:
        out += _check_names(kind, [x.name for x in items], f"{kind}s")
        for x in items:
            entity = app.entity(x.entity)
            if entity is None:
                out.append(Finding("SPEC-E016", "error", f"{kind}s.{x.name}", f"unknown entity '{x.entity}'",
                                   _suggest(x.entity, entity_names)))
                continue
            names = [f.name for f in entity.fields] + list(SYSTEM_COLUMNS)
            used = list(x.columns) if kind == "view" else [n for s in x.sections for n in s.fields]
            for n in used:
                if n not in names:
                    out.append(Finding("SPEC-E016", "error", f"{kind}s.{x.name}", f"unknown field '{n}'",
                                       _suggest(n, names)))
    for ledger in app.ledgers:
        for dim in ledger.dimensions:
            if dim.entity and app.entity(dim.entity) is None:
                out.append(Finding("SPEC-E017", "error", f"ledgers.{ledger.name}.dimensions.{dim.name}",
                                   f"unknown entity '{dim.entity}'"))
    named: list[tuple[str, list[Any]]] = [("ledger", list(app.ledgers)), ("automation", list(app.automations)),
                                          ("dashboard", list(app.dashboards))]
    for kind, items in named:
        out += _check_names(kind, [x.name for x in items], f"{kind}s")
    return out


def _check_children(app: AppSpec) -> list[Finding]:
    owners: dict[str, list[str]] = {}
    for e in app.entities:
        for f in e.fields:
            if f.type == "child_table" and f.target and not f.archived:
                owners.setdefault(f.target, []).append(f"{e.name}.{f.name}")
    return [
        Finding("SPEC-E012", "error", f"entities.{child}", f"child entity '{child}' is owned by several fields: "
                + ", ".join(paths), "give each child table its own entity")
        for child, paths in owners.items() if len(paths) > 1
    ]


def _core_validators() -> list[Callable[[AppSpec], list[Finding]]]:
    return [_check_app_structure]


def _check_app_structure(app: AppSpec) -> list[Finding]:
    out: list[Finding] = []
    problem = name_problem(app.name)
    if problem:
        out.append(Finding("SPEC-E001", "error", "name", problem))
    out += _check_names("entity", [e.name for e in app.entities], "entities")
    for entity in app.entities:
        out += _check_entity(app, entity)
    out += _check_children(app)
    out += _check_names("workflow", [w.name for w in app.workflows], "workflows")
    for wf in app.workflows:
        out += _check_workflow(app, wf)
    out += _check_roles(app)
    out += _check_refs(app)
    return out


def validate_app(app: AppSpec) -> list[Finding]:
    """Every finding for ``app``: structure first, then each plugged-in validator."""
    from jimu.platform.hooks import collect

    findings: list[Finding] = []
    for validator in collect("jimu_spec_validators"):
        findings.extend(validator(app))
    return findings


@hookimpl
def jimu_spec_validators() -> list[Callable[[AppSpec], list[Finding]]]:
    return _core_validators()

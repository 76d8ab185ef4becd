"""What the designer computes on top of the platform: expression checks with positions,
live previews on real rows, completions, the publish dialog, workflow findings placed on
the graph, the permission matrix and the "view as role" preview.

Every function takes plain specs or the :class:`Jimu` context and returns JSON-ready
dicts, so the HTTP handlers in :mod:`jimu.designer.api` stay thin and tests can call these
directly.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from jimu.core.errors import ExpressionError, JimuError
from jimu.platform.actor import Actor
from jimu.platform.expressions import compile_expression
from jimu.platform.expressions.functions import registry
from jimu.platform.findings import SEVERITY_ORDER, Finding
from jimu.platform.specs import AppSpec, EntitySpec, FieldMask, WorkflowSpec
from jimu.platform.values import to_json

if TYPE_CHECKING:
    from jimu.runtime.context import Jimu

__all__ = [
    "check_expression", "preview_expression", "completions", "publish_dialog", "workflow_check",
    "transition_findings", "TIMER_TARGETS",
    "permission_matrix", "view_as", "sample_value", "RIGHTS",
]

log = logging.getLogger("jimu.designer")

RIGHTS = ("create", "read", "update", "delete", "export")
VARIABLES = [("$user", "当前用户", "the current user"), ("$now", "当前时间", "the current time"),
             ("$today", "今天", "today's date")]


def _error(exc: ExpressionError) -> dict[str, Any]:
    return {"code": exc.code, "message": getattr(exc, "plain_message", None) or str(exc),
            "position": exc.position, "hint": exc.hint}


def check_expression(spec: AppSpec, entity: str | None, source: str, purpose: str = "formula",
                     extra_names: dict[str, str] | None = None) -> dict[str, Any]:
    """Compile ``source`` against the draft: ``{"ok", "type", "dependencies", "error"}``
    where error is ``{code, message, position, hint}`` (position: 0-based offset)."""
    if not source.strip():
        return {"ok": True, "type": None, "dependencies": [], "error": None}
    try:
        ce = compile_expression(source, spec, entity, purpose=purpose, extra_names=extra_names)
    except ExpressionError as exc:
        return {"ok": False, "type": None, "dependencies": [], "error": _error(exc)}
    return {"ok": True, "type": ce.result_type, "dependencies": sorted(ce.dependencies), "error": None}


def preview_expression(jimu: Jimu, app: str, entity: str, source: str, purpose: str = "formula",
                       limit: int = 5) -> dict[str, Any]:
    """Check ``source`` and evaluate it on the first ``limit`` records of the published
    entity. Fields that exist only in the draft read as NULL."""
    spec = jimu.store.draft(app)
    out = check_expression(spec, entity, source, purpose)
    out["rows"] = []
    if not out["ok"] or not source.strip():
        return out
    ce = compile_expression(source, spec, entity, purpose=purpose)
    ent = spec.entity(entity)
    try:
        records = jimu.records.list(app, entity, limit=limit).data
    except JimuError:
        records = []  # never published, or the entity is new in the draft
    names = [f.name for f in ent.fields] if ent else []
    title = ent.title if ent else "id"
    if title == "id" and ent is not None:
        title = next((f.name for f in ent.active_fields if f.type == "text"), "id")
    for rec in records:
        row = {n: rec.get(n) for n in names} | rec
        item: dict[str, Any] = {"id": rec.get("id"), "title": to_json(rec.get(title, rec.get("id")))}
        try:
            item["value"] = to_json(ce.evaluate(row))
        except ExpressionError as exc:
            item["error"] = _error(exc)
        out["rows"].append(item)
    return out


def completions(spec: AppSpec, entity: str | None) -> dict[str, Any]:
    """Names the formula editor offers: the entity's fields (name and labels, with a
    link's target fields as ``link.field``), variables and every registered function."""
    fields: list[dict[str, Any]] = []
    ent = spec.entity(entity) if entity else None
    for f in ent.active_fields if ent else []:
        fields.append({"name": f.name, "zh": f.label.zh, "en": f.label.en, "type": f.value_type})
        target = spec.entity(f.target) if f.type == "link" and f.target else None
        for g in target.active_fields if target else []:
            fields.append({"name": f"{f.name}.{g.name}", "zh": f"{f.label.zh}.{g.label.zh}",
                           "en": f"{f.label.en}.{g.label.en}", "type": g.value_type})
    functions = [{"name": fd.name, "signature": fd.signature, "doc": fd.doc, "sql": not fd.python_only}
                 for fd in sorted(registry().values(), key=lambda d: d.name)]
    variables = [{"name": n, "zh": zh, "en": en} for n, zh, en in VARIABLES]
    return {"fields": fields, "functions": functions, "variables": variables}


# Publish dialog ------------------------------------------------------------------------
def publish_dialog(result: dict[str, Any], health: dict[str, Any] | None) -> dict[str, Any]:
    """Shape a dry-run publish result for the dialog: element and column changes grouped
    by action, rows affected by type changes, findings worst first, and whether publishing
    is blocked (a spec error or a critical health finding)."""
    groups: dict[str, list[dict[str, Any]]] = {"added": [], "changed": [], "archived": []}
    for ch in result.get("changes", []):
        action = ch["action"]
        key = "added" if action == "added" else "archived" if action in ("archived", "removed") else "changed"
        groups[key].append({"kind": ch["kind"], "element": ch["element"], "action": action,
                            "zh": ch["summary_zh"], "en": ch["summary_en"]})
    columns: list[dict[str, Any]] = [
        {"action": op.get("action"), "entity": op.get("entity"), "field": op.get("field"),
         "zh": op.get("summary_zh"), "en": op.get("summary_en")}
        for op in result.get("schema", [])]
    affected = [{"entity": p.get("entity"), "field": p.get("field"), "rows": p.get("rows"),
                 "failing": p.get("failing"), "old_type": p.get("old_type"),
                 "new_type": p.get("new_type"), "samples": p.get("samples", [])}
                for p in result.get("previews", [])]
    findings = sorted(result.get("findings", []), key=lambda f: -SEVERITY_ORDER.get(f["severity"], 0))
    blocking = [f for f in findings if SEVERITY_ORDER.get(f["severity"], 0) >= 5]
    return {"version": result.get("version"), "next_version": int(result.get("version") or 0) + 1,
            "changes": groups, "columns": columns, "rows_affected": affected, "findings": findings,
            "health": health, "blocked": bool(blocking), "blocking": blocking,
            "empty": not any(groups.values())}


# Workflow --------------------------------------------------------------------------------
def _finding_target(path: str) -> dict[str, str | None]:
    """Which state or transition of a workflow a finding path points at."""
    parts = path.split(".")
    out: dict[str, str | None] = {"state": None, "transition": None}
    for key in ("states", "transitions"):
        if key in parts and parts.index(key) + 1 < len(parts):
            out[key[:-1]] = parts[parts.index(key) + 1]
    return out


TIMER_TARGETS = ("approvers", "submitter", "creator", "owner")  # or role:<role> / user:<username>;
# creator and owner both mean the record's creator (jimu.runtime.workflow.timers)


def transition_findings(spec: AppSpec, wf: WorkflowSpec) -> list[Finding]:
    """What spec validation does not look at but firing would trip on: transition input
    names (valid, unique, not a system column), their validation expressions, every
    ``set`` expression (compiled as the engine does, inputs in scope) and timer ``to``
    targets. Paths: ``workflows.W.transitions.T.inputs.N``, ``....set.F``,
    ``workflows.W.timers.X.action.to``."""
    from jimu.platform.specs.naming import name_problem

    out: list[Finding] = []
    path = f"workflows.{wf.name}"
    entity = spec.entity(wf.entity)
    for t in wf.transitions:
        tpath = f"{path}.transitions.{t.name}"
        names = [f.name for f in t.inputs]
        for n in names:
            problem = name_problem(n)
            if problem:
                out.append(Finding("DSG-E001", "error", f"{tpath}.inputs.{n}", problem, "rename this input"))
            elif n == wf.state_field:
                out.append(Finding("DSG-E001", "error", f"{tpath}.inputs.{n}",
                                   f"'{n}' is the workflow's state field", "rename this input"))
        for n in sorted({n for n in names if names.count(n) > 1}):
            out.append(Finding("DSG-E002", "error", f"{tpath}.inputs.{n}", f"duplicate input name '{n}'"))
        if entity is None:
            continue
        extra = {f.name: f.value_type for f in t.inputs}
        sources = [(f"{tpath}.inputs.{f.name}.validation", f.validation.expression, "validation")
                   for f in t.inputs if f.validation is not None]
        sources += [(f"{tpath}.set.{fname}", src, "formula") for fname, src in t.set.items()]
        for fpath, src, purpose in sources:
            if not str(src or "").strip():
                out.append(Finding("DSG-E003", "error", fpath, "the expression is empty"))
                continue
            try:
                compile_expression(src, spec, entity.name, purpose=purpose, extra_names=extra)
            except ExpressionError as exc:
                err = _error(exc)
                where = f" (at {err['position'] + 1})" if err["position"] is not None else ""
                out.append(Finding("DSG-E003", "error", fpath, f"{err['message']}{where}: {src}", err["hint"] or ""))
        if wf.state_field in t.set:
            out.append(Finding("DSG-E004", "error", f"{tpath}.set.{wf.state_field}",
                               "the state field is set by the transition itself", "remove this row"))
    roles = {r.name for r in spec.roles} | {"admin"}
    for tm in wf.timers:
        to = (tm.action or {}).get("to")
        if to is None or to == "":
            continue
        to = str(to)
        ok = to in TIMER_TARGETS or (to.startswith("user:") and len(to) > 5) or \
            (to.startswith("role:") and (to[5:] in roles or not spec.roles))
        if not ok:
            out.append(Finding("DSG-E005", "error", f"{path}.timers.{tm.name}.action.to",
                               f"unknown timer target '{to}'",
                               "approvers, submitter, creator (owner), role:<role> or user:<username>"))
    return out


def workflow_check(spec: AppSpec, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a proposed workflow without saving it: spec validation, the workflow
    engine's findings and the health scanner's workflow rules, each placed on the state or
    transition it names (unplaced ones belong to the whole workflow)."""
    from jimu.platform.specs.validate import validate_app

    try:
        wf = WorkflowSpec.model_validate(body)
    except Exception as exc:  # noqa: BLE001 - pydantic errors become one finding
        return {"findings": [{"id": "SPEC-E000", "severity": "error", "path": "workflow", "message": str(exc)[:400],
                              "hint": "", "state": None, "transition": None}]}
    data = spec.dump()
    data["workflows"] = [w for w in data["workflows"] if w["name"] != wf.name] + [wf.dump()]
    for e in data["entities"]:  # saving adds the state field the editor maintains, so check as if it did
        if e["name"] == wf.entity and not any(f["name"] == wf.state_field for f in e["fields"]):
            e["fields"].append({"name": wf.state_field, "type": "choice", "label": {"zh": "状态", "en": "State"},
                                "options": {"choices": [{"value": s.name, "label": s.label.zh} for s in wf.states]
                                            or [{"value": "draft", "label": "draft"}]}})
    trial = AppSpec.model_validate(data)
    found: list[Finding] = [f for f in validate_app(trial) if f.path.startswith(f"workflows.{wf.name}")]
    found += transition_findings(trial, wf)
    out = [{**f.as_dict(), **_finding_target(f.path)} for f in found]
    from jimu.platform.health import ScanContext, run_scan

    try:
        report = run_scan(ScanContext(app=trial))
    except Exception:  # the scanner's findings are advisory, but its crash is a bug to see
        log.exception("health scan of workflow %s failed", wf.name)
        raise
    for hf in report.findings:
        if hf.element == f"workflow:{wf.name}" or hf.path.startswith(f"workflows.{wf.name}"):
            out.append({"id": hf.rule, "severity": hf.severity, "path": hf.path, "message": hf.message,
                        "hint": hf.remediation, **_finding_target(hf.path)})
    # A finding that names a state or transition in its message but not in its path.
    names = {s.name for s in wf.states}
    for f in out:
        if f["state"] is None and f["transition"] is None:
            hit = [n for n in names if f"'{n}'" in f["message"] or f" {n} " in f" {f['message']} "]
            if len(hit) == 1:
                f["state"] = hit[0]
    return {"findings": out}


# Permissions -----------------------------------------------------------------------------
def _access_text(access: Any) -> Any:
    if isinstance(access, FieldMask):
        return {"mask": access.mask}
    return access


def permission_matrix(spec: AppSpec) -> dict[str, Any]:
    """Roles × entities × rights, with field access and row filters, as the matrix shows it."""
    entities = [{"name": e.name, "zh": e.label.zh, "en": e.label.en,
                 "fields": [{"name": f.name, "zh": f.label.zh, "en": f.label.en} for f in e.active_fields],
                 "transitions": [t.name for w in spec.workflows if w.entity == e.name for t in w.transitions]}
                for e in spec.entities if not e.archived]
    roles = []
    for r in spec.roles:
        rights: dict[str, Any] = {}
        for e in spec.entities:
            er = r.rights(e.name)
            if er is None:
                continue
            rights[e.name] = {**{k: getattr(er, k) for k in RIGHTS}, "transitions": list(er.transitions),
                              "row_filter": er.row_filter,
                              "fields": {k: _access_text(v) for k, v in er.fields.items()}}
        roles.append({"name": r.name, "zh": r.label.zh, "en": r.label.en, "entities": rights})
    return {"roles": roles, "entities": entities, "rights": list(RIGHTS)}


def sample_value(ftype: str) -> Any:
    """A plausible value of a field type, for previews when an entity has no rows yet."""
    samples: dict[str, Any] = {"text": "示例", "long_text": "示例说明", "integer": 3, "decimal": "12.5000",
                               "money": "12345.50", "percent": "0.1500", "boolean": True, "date": "2026-01-31",
                               "datetime": "2026-01-31T09:30:00+00:00", "email": "demo@example.com",
                               "phone": "13800000000", "url": "https://example.com", "barcode": "6901234567892"}
    return samples.get(ftype)


def view_as(jimu: Jimu, app: str, role: str, entity: str) -> dict[str, Any]:
    """The first record of ``entity`` as a user holding only ``role`` sees it, rendered by
    the access layer against the *draft* roles and the published data."""
    from decimal import Decimal

    from jimu.platform.schema import AppTables
    from jimu.runtime.access import AccessPolicy
    from jimu.runtime.apps import AppRuntime

    draft = jimu.store.draft(app)
    ent: EntitySpec | None = draft.entity(entity)
    if ent is None:
        return {"record": None, "fields": [], "sample": True}
    published = jimu.store.published(app)
    record: dict[str, Any] | None = None
    if published is not None and published.entity(entity) is not None:
        try:
            rows = jimu.records.list(app, entity, limit=1).data
            record = rows[0] if rows else None
        except JimuError:
            record = None
    sample = record is None
    if record is None:
        record = {"id": 1, "version": 1}
        for f in ent.active_fields:
            value = sample_value(f.value_type)
            record[f.name] = Decimal(value) if f.value_type in ("decimal", "money", "percent") and value else value
    # A runtime over the draft spec: a negative version keeps the grant cache apart.
    rt = AppRuntime(app, -1 - jimu.store.draft_revision(app), draft, AppTables(published or draft))
    policy = AccessPolicy(jimu, rt, Actor(f"preview:{role}", (role,), {}, "designer"))
    grant = policy.grant(entity)
    rules = [{"name": f.name, "zh": f.label.zh, "en": f.label.en, "access": grant.field_rule(f.name).access}
             for f in ent.active_fields]
    rendered = policy.render(entity, record) if grant.can("read") else None
    return {"record": rendered, "fields": rules, "sample": sample,
            "rights": {k: grant.can(k) for k in RIGHTS}, "original": {k: to_json(v) for k, v in record.items()}}

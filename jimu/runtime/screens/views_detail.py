"""The detail screen (fields per role, transition buttons with their inputs, approval
panel, audit trail), firing transitions, the kanban board and the inbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jimu.core.errors import JimuError, NotFound
from jimu.platform.audit import query_audit
from jimu.platform.specs.workflow import WorkflowSpec
from jimu.runtime.access import AccessPolicy
from jimu.runtime.access.audit import filter_audit
from jimu.runtime.api.util import decode_json, read_body
from jimu.runtime.screens.base import Screen, open_screen, redirect, screen
from jimu.runtime.screens.fields import display, editable_names, field_view, link_titles
from jimu.runtime.screens.line_inputs import line_input_rows, line_inputs_of, parse_line_inputs
from jimu.runtime.screens.views_form import _children_view, form_layout
from jimu.runtime.screens.views_list import list_columns
from jimu.runtime.workflow import WorkflowEngine, list_inbox, vote_kind

__all__ = ["detail_page", "transition_submit", "kanban_page", "kanban_move", "inbox_page", "allowed_transitions",
           "waiting_for_me"]

KANBAN_LIMIT = 500


def _engine(s: Screen) -> WorkflowEngine:
    engine = s.jimu.settings.get("_workflow_engine")
    if not isinstance(engine, WorkflowEngine):
        engine = WorkflowEngine(s.jimu)
        s.jimu.settings["_workflow_engine"] = engine
    return engine


def allowed_transitions(s: Screen, entity: str, record: dict[str, Any]) -> list[str]:
    """Transitions the caller may fire on ``record``: the engine's answer, limited to what
    the caller's roles grant on the entity."""
    assert s.policy is not None
    grant = s.policy.grant(entity)
    return [n for n in _engine(s).allowed(s.app, entity, record, s.actor) if grant.can_transition(n)]


def _transition_views(s: Screen, wf: WorkflowSpec, names: list[str], errors: dict[str, str],
                      failed: str | None, record: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        t = wf.transition(name)
        if t is None:
            continue
        per_line = line_inputs_of(s, wf.entity, t)
        inputs = [{"name": f.name, "label": s.label(f.label, f.name), "type": f.type, "required": f.required,
                   "error": errors.get(f.name) if failed == name else None,
                   "lines": line_input_rows(s, wf.entity, per_line[f.name], record) if f.name in per_line else None}
                  for f in t.inputs]
        # Only optional inputs, none per line (e.g. submit's credit override_reason): one click
        # fires it; the "…" beside it opens the dialog for whoever needs the inputs.
        quick = not any(f["required"] or f["lines"] is not None for f in inputs)
        out.append({"name": t.name, "label": s.label(t.label, t.name), "inputs": inputs, "quick": quick,
                    "kind": vote_kind(t) or ("danger" if t.name in ("cancel", "reject") else "primary"),
                    "open": failed == name})
    return out


def _audit(s: Screen, entity: str, rid: int) -> list[dict[str, Any]]:
    assert s.policy is not None
    with s.jimu.db.read() as c:
        rows = query_audit(c, s.app, entity=entity, record=str(rid), limit=50)
    entries = filter_audit(s.policy, rows)
    return [{"at": str(e.get("at", ""))[:19].replace("T", " "), "user": e.get("user"), "action": e.get("action"),
             "summary": (e.get("summary") or {}).get("en" if s.lang == "en" else "zh") or e.get("action")}
            for e in entries]


def _detail(s: Screen, entity: str, rid: Any, *, errors: dict[str, str] | None = None, failed: str | None = None,
            message: str | None = None, status: int = 200) -> Response:
    policy = s.policy
    assert policy is not None
    ent = policy.require(entity, "read")
    record = policy.load(entity, rid)
    rendered = policy.render(entity, record)
    titles = link_titles(policy, entity, [rendered])
    fields = {}
    for name in policy.readable_fields(entity):
        f = ent.field(name)
        assert f is not None
        fv = field_view(policy, entity, f, rendered, s.lang, editable=False, titles=titles)
        if f.type == "child_table":
            _children_view(s, fv, rendered.get(name) or [], False, {})
        fields[name] = fv
    wf = policy.rt.workflow_for(entity)
    transitions, approval, state_label = [], None, None
    if wf is not None:
        transitions = _transition_views(s, wf, allowed_transitions(s, entity, record), errors or {}, failed,
                                        rendered)
        st = wf.state(str(record.get(wf.state_field) or ""))
        state_label = s.label(st.label, st.name) if st else record.get(wf.state_field)
        info = _engine(s).describe(s.app, entity, record["id"], s.actor)
        if info.get("approval"):
            ap = info["approval"]
            approval = {"step": ap["step"], "label": s.label(ap.get("label"), ap["name"]),
                        "approvers": ", ".join(ap.get("approvers") or [])}
    title = rendered.get(ent.title) or f"#{record['id']}"
    return s.render("detail.html", status=status, on=entity, entity=entity, ent=ent, entity_label=s.label(ent.label, entity),
                    record=rendered, title=title, sections=form_layout(policy, ent), fields=fields,
                    transitions=transitions, approval=approval, state=record.get(wf.state_field) if wf else None,
                    state_label=state_label, audit=_audit(s, entity, record["id"]), message=message,
                    can_edit=policy.can(entity, "update") and bool(editable_names(policy, entity, record)),
                    can_delete=policy.can(entity, "delete"),
                    notice=s.request.query_params.get("msg"), related=_related(s, entity, record))


def _related(s: Screen, entity: str, record: Mapping[str, Any]) -> list[dict[str, str]]:
    """Links besides the transitions (a shipped order offers its return form)."""
    from jimu.runtime.stock.prefill import related_actions

    return related_actions(s.policy, entity, record, s.lang)


@screen
async def detail_page(request: Request) -> Response:
    """GET /app/{app}/{entity}/{id}."""
    s = await open_screen(request)
    return _detail(s, str(request.path_params["entity"]), request.path_params["id"])


@screen
async def transition_submit(request: Request) -> Response:
    """POST /app/{app}/{entity}/{id}/transition/{name} (inputs, comment): fire it; errors
    reopen the dialog with the input messages."""
    s = await open_screen(request)
    assert s.policy is not None and s.form is not None
    entity, rid, name = (str(request.path_params[k]) for k in ("entity", "id", "name"))
    s.policy.require(entity, "read")
    record = s.policy.load(entity, rid)
    wf = s.policy.rt.workflow_for(entity)
    t = wf.transition(name) if wf else None
    inputs: dict[str, Any] = {f.name: str(s.form.get(f.name) or "").strip() or None for f in (t.inputs if t else [])}
    back = str(s.form.get("next") or "")
    try:
        for li in (line_inputs_of(s, entity, t) if t else {}).values():
            inputs[li.input] = parse_line_inputs(s, li, s.form, record)
        if name not in allowed_transitions(s, entity, record):
            from jimu.core.errors import PermissionDenied

            raise PermissionDenied(s.t("forbidden"), code="workflow.transition_forbidden")
        _engine(s).fire(s.app, entity, record["id"], name, inputs, s.actor,
                        comment=str(s.form.get("comment") or "") or None)
    except JimuError as exc:
        from jimu.runtime.localize import localize

        localize(s.jimu, s.app, exc, s.lang)  # stock errors name the item as "sku name" in the screen's language
        if back.startswith("/app/"):
            return redirect(f"{back}{'&' if '?' in back else '?'}msg={quote(exc.message)}")
        errors = {e.field: e.message for e in exc.errors}
        return _detail(s, entity, rid, errors=errors, failed=name, message=exc.message, status=exc.status)
    if back.startswith("/app/"):
        return redirect(back)
    return redirect(f"/app/{s.app}/{entity}/{rid}")


def _kanban_cards(s: Screen, policy: AccessPolicy, entity: str, cols: list[str]) -> list[dict[str, Any]]:
    ent = policy.rt.entity(entity)
    data = s.jimu.records.list(s.app, entity, where=policy.row_clause(entity), limit=KANBAN_LIMIT, actor=s.actor).data
    wf = policy.rt.workflow_for(entity)
    assert wf is not None
    rendered = [policy.render(entity, r) for r in data]
    titles = link_titles(policy, entity, rendered)
    cards = []
    for r, raw in zip(rendered, data, strict=True):
        lines = []
        for c in cols:
            f = ent.field(c)
            if f is not None and c in r and c not in (wf.state_field, ent.title):
                masked = policy.field_rule(entity, c).access == "mask"
                lines.append({"label": s.label(f.label, c), "text": display(f, r.get(c), s.lang, titles, masked)})
        cards.append({"id": r["id"], "state": raw.get(wf.state_field), "title": r.get(ent.title) or f"#{r['id']}",
                      "lines": lines})
    return cards


@screen
async def kanban_page(request: Request) -> Response:
    """GET /app/{app}/{entity}/kanban: one column per workflow state."""
    s = await open_screen(request)
    policy = s.policy
    assert policy is not None
    entity = str(request.path_params["entity"])
    ent = policy.require(entity, "read")
    wf = policy.rt.workflow_for(entity)
    if wf is None:
        return redirect(f"/app/{s.app}/{entity}")
    view = next((v for v in policy.rt.spec.views if v.entity == entity and v.kind == "kanban"), None)
    cols = list_columns(policy, ent, view)[:4]
    cards = _kanban_cards(s, policy, entity, cols)
    columns = [{"name": st.name, "label": s.label(st.label, st.name), "final": st.final,
                "cards": [c for c in cards if c["state"] == st.name]} for st in wf.states]
    return s.render("kanban.html", on=entity, entity=entity, ent=ent, entity_label=s.label(ent.label, entity), columns=columns)


@screen
async def kanban_move(request: Request) -> Response:
    """POST /app/{app}/{entity}/{id}/move (JSON ``{"to": state}``, X-CSRF-Token): fire the
    one transition the caller may take to ``to``; 409/422 with the reason otherwise."""
    s = await open_screen(request)
    assert s.policy is not None
    entity, rid = str(request.path_params["entity"]), request.path_params["id"]
    body = decode_json(await read_body(request))  # the API's decoder: 400, never a RecursionError
    to = str(body.get("to") or "") if isinstance(body, dict) else ""
    s.policy.require(entity, "read")
    record = s.policy.load(entity, rid)
    wf = s.policy.rt.workflow_for(entity)
    if wf is None:
        raise NotFound(f"{entity} has no workflow", code="workflow.not_found")
    names = allowed_transitions(s, entity, record)
    candidates = [t for t in wf.transitions if t.name in names and t.to == to]
    if not candidates:
        return JSONResponse({"ok": False, "reason": s.t("no_transition")}, status_code=409)
    t = candidates[0]
    if any(f.required for f in t.inputs):
        return JSONResponse({"ok": False, "reason": s.t("move_needs_inputs"), "inputs": True,
                             "url": f"/app/{s.app}/{entity}/{rid}"}, status_code=422)
    try:
        after = _engine(s).fire(s.app, entity, record["id"], t.name, {}, s.actor)
    except JimuError as exc:
        return JSONResponse({"ok": False, "reason": exc.message}, status_code=exc.status)
    return JSONResponse({"ok": True, "state": after.get(wf.state_field), "version": after["version"]})


def waiting_for_me(s: Screen, limit: int = 20) -> list[dict[str, Any]]:
    """Records sitting in a state from which the caller may approve (e.g. sales orders
    pending approval for a manager), so approvals show up before an instance is opened."""
    policy = s.policy
    assert policy is not None
    out: list[dict[str, Any]] = []
    for wf in policy.rt.spec.workflows:
        if not policy.can(wf.entity, "read"):
            continue
        grant = policy.grant(wf.entity)
        votes = [t for t in wf.transitions if vote_kind(t) == "approve" and t.from_ and grant.can_transition(t.name)
                 and (not t.roles or any(s.actor.has_role(r) for r in t.roles))]
        states = sorted({st for t in votes for st in t.from_ if st != "*"})
        if not states:
            continue
        ent = policy.rt.entity(wf.entity)
        expr = " or ".join(f"{wf.state_field} == \"{st}\"" for st in states)
        recs = s.jimu.records.list(s.app, wf.entity, where=policy.row_clause(wf.entity), filter=expr, limit=limit,
                                   actor=s.actor).data
        for rec in recs:
            names = allowed_transitions(s, wf.entity, rec)
            opts = [wf.transition(n) for n in names]
            out.append({"id": f"w-{wf.entity}-{rec['id']}", "kind": "approval", "entity": wf.entity,
                        "record": rec["id"], "read": False, "at": str(rec.get("updated_at", ""))[:16].replace("T", " "),
                        "title": f"{s.label(ent.label, ent.name)} {rec.get(ent.title) or rec['id']}",
                        "url": f"/app/{s.app}/{wf.entity}/{rec['id']}",
                        "votes": [{"name": t.name, "label": s.label(t.label, t.name), "kind": vote_kind(t)}
                                  for t in opts if t is not None and vote_kind(t) is not None]})
    return out


@screen
async def inbox_page(request: Request) -> Response:
    """GET /app/{app}/inbox: approvals and notifications waiting for the caller, with
    approve/reject buttons on approvals."""
    s = await open_screen(request)
    policy = s.policy
    assert policy is not None
    with s.jimu.db.read() as c:
        entries = list_inbox(c, s.app, s.actor.username or "", limit=100)
    items = []
    for e in entries:
        item = dict(e)
        item["url"] = f"/app/{s.app}/{e['entity']}/{e['record']}" if e.get("entity") and e.get("record") else None
        item["votes"] = []
        if e.get("kind") == "approval" and e.get("entity") and policy.can(str(e["entity"]), "read"):
            wf = policy.rt.workflow_for(str(e["entity"]))
            try:
                rec = policy.load(str(e["entity"]), e["record"])
                names = allowed_transitions(s, str(e["entity"]), rec)
            except JimuError:
                names = []
            if wf is not None:
                item["votes"] = [{"name": n, "label": s.label(wf.transition(n).label, n),  # type: ignore[union-attr]
                                  "kind": vote_kind(wf.transition(n))}  # type: ignore[arg-type]
                                 for n in names if vote_kind(wf.transition(n)) is not None]  # type: ignore[arg-type]
        item["at"] = str(e.get("at", ""))[:16].replace("T", " ")
        items.append(item)
    seen = {(str(i.get("entity")), str(i.get("record"))) for i in items}
    items += [w for w in waiting_for_me(s) if (w["entity"], str(w["record"])) not in seen]
    return s.render("inbox.html", items=items, notice=request.query_params.get("msg"))

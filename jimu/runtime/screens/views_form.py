"""The form screen (new / edit): layout from the form spec, child tables, link pickers,
inline field errors from the record service, live visibility rules and the barcode scan
field of stock documents."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from jimu.core.errors import ExpressionError, JimuError
from jimu.platform.expressions import compile_expression
from jimu.platform.specs import EntitySpec
from jimu.runtime.access import AccessPolicy
from jimu.runtime.access.gate import still_allowed as _still_allowed
from jimu.runtime.records.validate import check_input
from jimu.runtime.screens.base import Screen, open_screen, redirect, screen
from jimu.runtime.screens.fields import (
    FieldView,
    editable_names,
    field_view,
    link_options,
    link_titles,
    parse_value,
)

__all__ = ["form_page", "form_submit", "options_page", "visibility_page", "scan_page", "form_layout", "scan_target"]

_ROW_KEY = re.compile(r"^(?P<field>[a-z_][a-z0-9_]*)-(?P<idx>\d+)-(?P<col>[a-z_][a-z0-9_]*)$")


def form_layout(policy: AccessPolicy, ent: EntitySpec) -> list[dict[str, Any]]:
    """Sections ``{name, label, columns, tab, fields, visible_if}`` of the entity's form spec
    (or one default section), hidden fields dropped, unplaced visible fields appended."""
    readable = policy.readable_fields(ent.name)
    spec = next((f for f in policy.rt.spec.forms if f.entity == ent.name), None)
    sections: list[dict[str, Any]] = []
    placed: set[str] = set()
    if spec is not None:
        for i, sec in enumerate(spec.sections):
            names = [n for n in sec.fields if n in readable]
            placed.update(sec.fields)
            if names:
                sections.append({"name": sec.name or f"s{i}", "label": sec.label, "columns": max(1, min(sec.columns, 4)),
                                 "tab": sec.tab, "fields": names, "visible_if": sec.visible_if})
    rest = [n for n in readable if n not in placed]
    plain = [n for n in rest if ent.field(n).type != "child_table"]  # type: ignore[union-attr]
    if plain:
        sections.append({"name": "more" if sections else "main", "label": None, "columns": 2, "tab": None,
                         "fields": plain, "visible_if": None})
    for n in rest:
        if n not in plain:
            sections.append({"name": n, "label": ent.field(n).label, "columns": 1, "tab": None,  # type: ignore[union-attr]
                             "fields": [n], "visible_if": None})
    return sections


def scan_target(policy: AccessPolicy, child: EntitySpec) -> dict[str, str] | None:
    """For a stock document's child table: the link to items (with sku/barcode) and the
    quantity field a scan increments; None when the child has no such pair."""
    link = next((f for f in child.active_fields if f.type == "link" and f.target
                 and (t := policy.rt.spec.entity(f.target)) is not None
                 and (t.field("sku") is not None or t.field("barcode") is not None)), None)
    qty = next((f for f in child.active_fields if f.name in ("qty", "counted_qty", "quantity")), None)
    if link is None or qty is None:
        return None
    return {"item": link.name, "qty": qty.name, "target": str(link.target)}


def _children_view(s: Screen, fv: FieldView, rows: list[Mapping[str, Any]], editable: bool,
                   errors: Mapping[str, str]) -> None:
    assert s.policy is not None and fv.target
    child = s.policy.rt.entity(fv.target)
    writable = set(s.policy.writable_fields(fv.target)) if editable else set()
    titles = link_titles(s.policy, fv.target, rows)
    fv.columns = [field_view(s.policy, fv.target, f, {}, s.lang, editable=f.name in writable)
                  for f in child.active_fields if s.policy.field_rule(fv.target, f.name).visible
                  and f.type != "child_table"]
    fv.rows = []
    for i, row in enumerate(rows):
        cells = {}
        for col in fv.columns:
            cf = child.field(col.name)
            assert cf is not None
            one = field_view(s.policy, fv.target, cf, row, s.lang, editable=False, titles=titles)
            cells[col.name] = {"value": "" if row.get(col.name) is None else str(row.get(col.name)),
                               "display": one.display, "error": errors.get(f"{fv.name}[{i}].{col.name}")}
        fv.rows.append({"id": row.get("id"), "cells": cells})
    fv.extra = {"scan": scan_target(s.policy, child) if editable else None}


def _views(s: Screen, ent: EntitySpec, rendered: Mapping[str, Any], editable: set[str],
           errors: Mapping[str, str]) -> dict[str, FieldView]:
    assert s.policy is not None
    titles = link_titles(s.policy, ent.name, [rendered])
    out = {}
    for name in s.policy.readable_fields(ent.name):
        f = ent.field(name)
        assert f is not None
        fv = field_view(s.policy, ent.name, f, rendered, s.lang, editable=name in editable, titles=titles,
                        errors=errors)
        if f.type == "child_table":
            rows = rendered.get(name) if isinstance(rendered.get(name), list) else []
            _children_view(s, fv, rows or [], fv.editable, errors)
        out[name] = fv
    return out


def _page(s: Screen, ent: EntitySpec, record: Mapping[str, Any] | None, rendered: Mapping[str, Any],
          errors: Mapping[str, str] | None = None, message: str | None = None, status: int = 200) -> HTMLResponse:
    assert s.policy is not None
    editable = editable_names(s.policy, ent.name, record)
    sections = form_layout(s.policy, ent)
    fields = _views(s, ent, rendered, editable, errors or {})
    tabs = list(dict.fromkeys(sec["tab"] for sec in sections if sec["tab"]))
    action = f"/app/{s.app}/{ent.name}/{record['id']}/edit" if record else f"/app/{s.app}/{ent.name}/new"
    return s.render("form.html", status=status, on=ent.name, ent=ent, entity_label=s.label(ent.label, ent.name),
                    record=record, sections=sections, fields=fields, tabs=tabs, action=action,
                    form_errors=errors or {}, message=message,
                    has_rules=any(sec["visible_if"] for sec in sections))


@screen
async def form_page(request: Request) -> Response:
    """GET /app/{app}/{entity}/new and /app/{app}/{entity}/{id}/edit."""
    s = await open_screen(request)
    assert s.policy is not None
    entity = str(request.path_params["entity"])
    rid = request.path_params.get("id")
    if rid is None:
        ent = s.policy.require(entity, "create")
        from jimu.runtime.stock.prefill import new_form_values

        return _page(s, ent, None, new_form_values(s.jimu, s.policy, entity, request.query_params))
    ent = s.policy.require(entity, "update")
    record = s.policy.load(entity, rid, "update")
    return _page(s, ent, record, s.policy.render(entity, record))


def parse_form(policy: AccessPolicy, ent: EntitySpec, form: FormData, editable: set[str]) -> dict[str, Any]:
    """The record body a posted form describes (only fields the caller may change)."""
    data: dict[str, Any] = {}
    for name in editable:
        f = ent.field(name)
        if f is None:
            continue
        if f.type == "child_table" and f.target:
            if f"{name}-present" in form:
                data[name] = _parse_rows(policy, f.target, name, form)
        elif f.type == "boolean" or name in form:
            data[name] = parse_value(f, [str(v) for v in form.getlist(name)])
    return data


def _parse_rows(policy: AccessPolicy, child_name: str, fname: str, form: FormData) -> list[dict[str, Any]]:
    child = policy.rt.entity(child_name)
    writable = set(policy.writable_fields(child_name)) | {"id"}
    rows: dict[int, dict[str, Any]] = {}
    for key in form:
        m = _ROW_KEY.match(key)
        if m is None or m["field"] != fname or m["col"] not in writable:
            continue
        row = rows.setdefault(int(m["idx"]), {})
        if m["col"] == "id":
            value = str(form.get(key) or "")
            if value.isdigit():
                row["id"] = int(value)
            continue
        cf = child.field(m["col"])
        if cf is not None:
            row[m["col"]] = parse_value(cf, [str(v) for v in form.getlist(key)])
    return [r for _, r in sorted(rows.items()) if any(v not in (None, "", False) for k, v in r.items() if k != "id")
            or "id" in r]


@screen
async def form_submit(request: Request) -> Response:
    """POST new/edit: create or update through the record service; field errors come back
    inline on the re-rendered form (422)."""
    s = await open_screen(request)
    assert s.policy is not None and s.form is not None
    entity = str(request.path_params["entity"])
    rid = request.path_params.get("id")
    ent = s.policy.require(entity, "update" if rid is not None else "create")
    record = s.policy.load(entity, rid, "update") if rid is not None else None
    data = parse_form(s.policy, ent, s.form, editable_names(s.policy, entity, record))
    try:
        s.policy.check_write(entity, data, creating=record is None)
        with s.jimu.db.write() as c:
            if record is None:
                saved = s.jimu.records.create(s.app, entity, data, actor=s.actor, conn=c)
                _still_allowed(s.policy, c, entity, saved, "create")
            else:
                version = str(s.form.get("version") or "")
                saved = s.jimu.records.update(s.app, entity, record["id"], data, actor=s.actor, conn=c,
                                              expected_version=int(version) if version.isdigit() else None)
                _still_allowed(s.policy, c, entity, saved, "update")
    except JimuError as exc:
        from jimu.runtime.localize import localize

        localize(s.jimu, s.app, exc, s.lang)
        errors = {e.field: e.message for e in exc.errors}
        rendered = {**(s.policy.render(entity, record) if record else {}), **data}
        return _page(s, ent, record, rendered, errors, message=exc.message, status=exc.status)
    return redirect(f"/app/{s.app}/{entity}/{saved['id']}")


@screen
async def options_page(request: Request) -> Response:
    """GET /app/{app}/_options/{target}?q=&selected=: ``<option>`` elements for a link picker."""
    s = await open_screen(request)
    assert s.policy is not None
    target = str(request.path_params["target"])
    s.policy.require(target, "read")
    q = (request.query_params.get("q") or "").strip()[:100]
    selected = request.query_params.get("selected") or ""
    opts = link_options(s.policy, target, q, limit=50)
    return s.render("_options.html", options=opts, selected=selected, blank=s.t("choose"))


@screen
async def visibility_page(request: Request) -> Response:
    """POST /app/{app}/{entity}/_visible (the form's values): which sections are visible.
    Rules are expressions evaluated here, so the browser never runs them."""
    s = await open_screen(request)
    assert s.policy is not None and s.form is not None
    entity = str(request.path_params["entity"])
    ent = s.policy.require(entity, "read")
    data = parse_form(s.policy, ent, s.form, {f.name for f in ent.active_fields if f.type != "child_table"})
    values, _children, _errors = check_input(ent, {k: v for k, v in data.items() if v is not None}, creating=False)
    out: dict[str, bool] = {}
    for sec in form_layout(s.policy, ent):
        if not sec["visible_if"]:
            continue
        try:
            out[sec["name"]] = bool(compile_expression(sec["visible_if"], s.policy.rt.spec, entity,
                                                       purpose="visibility").evaluate(values, s.policy.env))
        except ExpressionError:
            out[sec["name"]] = True
    return JSONResponse(out)


@screen
async def scan_page(request: Request) -> Response:
    """GET /app/{app}/_scan/{target}?code=: the item whose sku or barcode is ``code``."""
    s = await open_screen(request)
    assert s.policy is not None
    target = str(request.path_params["target"])
    ent = s.policy.require(target, "read")
    code = (request.query_params.get("code") or "").strip()
    expr_parts = [f"{n} == {_quote(code)}" for n in ("sku", "barcode")
                  if ent.field(n) is not None and s.policy.field_rule(target, n).access in ("read", "write")]
    if not code or not expr_parts:
        return JSONResponse({"error": s.t("scan_unknown", code=code)}, status_code=404)
    found = s.jimu.records.list(s.app, target, where=s.policy.row_clause(target), filter=" or ".join(expr_parts),
                                limit=1, actor=s.actor).data
    if not found:
        return JSONResponse({"error": s.t("scan_unknown", code=code)}, status_code=404)
    rec = s.policy.render(target, found[0])
    title = rec.get(ent.title) or f"#{rec['id']}"
    return JSONResponse({"id": rec["id"], "title": str(title), "price": rec.get("sale_price")})


def _quote(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)

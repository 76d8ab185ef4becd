"""The list screen: columns, quick search, filter builder, sort, saved views, cursor
pages, bulk delete and CSV/XLSX export — all through the caller's AccessPolicy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response

from jimu.core.errors import JimuError, ValidationError
from jimu.platform.schema.sorting import sortable_fields
from jimu.platform.specs import EntitySpec
from jimu.platform.specs.kinds import ViewSpec
from jimu.runtime.access import AccessPolicy
from jimu.runtime.access.export import export_rows, to_csv, to_xlsx
from jimu.runtime.access.gate import check_filter as _check_filter
from jimu.runtime.access.sorting import list_sort, may_sort_by
from jimu.runtime.api.auth import jimu_of
from jimu.runtime.records.query import list_records as query_records
from jimu.runtime.screens import saved
from jimu.runtime.screens.base import Screen, open_screen, redirect, screen
from jimu.runtime.screens.fields import display, link_titles

__all__ = ["list_page", "export_page", "bulk_delete", "save_view_page", "delete_view_page", "build_filter",
           "list_columns", "OPERATORS", "PAGE_SIZE"]

PAGE_SIZE = 50
OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "contains", "blank")
_SYM = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_TEXTUAL = ("text", "long_text", "barcode", "email", "phone", "url", "user", "auto_number")


def _literal(ftype: str, value: str) -> str:
    if ftype in ("integer", "decimal", "money", "percent", "link"):
        try:
            return str(Decimal(value.strip()))
        except InvalidOperation:
            raise ValidationError(f"'{value}' is not a number", code="filter.value") from None
    if ftype == "boolean":
        return "True" if value.lower() in ("1", "true", "yes", "是", "on") else "False"
    return json.dumps(value, ensure_ascii=False)


def build_filter(ent: EntitySpec, rows: list[tuple[str, str, str]]) -> str:
    """The expression of the filter builder's (field, operator, value) rows, joined by ``and``."""
    parts = []
    for name, op, value in rows:
        f = ent.field(name)
        if f is None or op not in OPERATORS or (value == "" and op != "blank"):
            continue
        if op == "blank":
            parts.append(f"ISBLANK({name})")
        elif op == "contains":
            parts.append(f"CONTAINS({name}, {json.dumps(value, ensure_ascii=False)})")
        else:
            parts.append(f"{name} {_SYM[op]} {_literal(f.value_type, value)}")
    return " and ".join(parts)


def _search_expr(policy: AccessPolicy, ent: EntitySpec, q: str) -> str:
    names = list(ent.search_fields) or [f.name for f in ent.active_fields if f.type in _TEXTUAL]
    lit = json.dumps(q, ensure_ascii=False)
    usable = [n for n in names if (f := ent.field(n)) is not None and not f.archived and f.value_type in _TEXTUAL
              and policy.field_rule(ent.name, n).access in ("read", "write")]
    return " or ".join(f"CONTAINS({n}, {lit})" for n in usable[:8]) or "False"


def _view(policy: AccessPolicy, entity: str, name: str | None, kinds: tuple[str, ...] = ("list",)) -> ViewSpec | None:
    views = [v for v in policy.rt.spec.views if v.entity == entity and v.kind in kinds]
    if name:
        return next((v for v in views if v.name == name), None)
    return views[0] if views else None


def list_columns(policy: AccessPolicy, ent: EntitySpec, view: ViewSpec | None) -> list[str]:
    """Columns the caller sees: the view's, else the first readable non-table fields."""
    readable = [n for n in policy.readable_fields(ent.name)
                if (f := ent.field(n)) is not None and f.type not in ("child_table", "long_text", "json")]
    if view is not None and view.columns:
        cols = [c for c in view.columns if c in readable or c in ("created_at", "updated_at", "created_by")]
        if cols:
            return cols
    return readable[:7]


def _query(request: Request, policy: AccessPolicy, ent: EntitySpec, view: ViewSpec | None) -> dict[str, Any]:
    """The list's parameters and the combined expression filter."""
    q = request.query_params
    rows = list(zip(q.getlist("f_field"), q.getlist("f_op"), q.getlist("f_value"), strict=False))
    built = build_filter(ent, rows)
    expr = (q.get("filter") or "").strip()
    search = (q.get("q") or "").strip()
    parts = [p for p in (view.filter if view else None, expr, built,
                         _search_expr(policy, ent, search) if search else None) if p]
    combined = " and ".join(f"({p})" for p in parts) or None
    if expr:
        _check_filter(policy, ent.name, expr)
    if built:
        _check_filter(policy, ent.name, built)
    sort = q.get("sort") or (view.sort[0] if view and view.sort else None)
    # A sort the caller may not use is dropped here (a link kept from another role's
    # screen); list_sort also keeps a masked default sort out of the order and cursor.
    sort = list_sort(policy, ent.name, sort if sort and may_sort_by(policy, ent.name, sort) else None)
    return {"filter": combined, "expr": expr, "rows": rows, "search": search, "sort": sort,
            "cursor": q.get("cursor") or None, "view": view.name if view else ""}


def _labels(s: Screen, ent: EntitySpec, cols: list[str]) -> dict[str, str]:
    out = {}
    for c in cols:
        f = ent.field(c)
        out[c] = s.label(f.label, c) if f is not None else s.t(c)
    return out


@screen
async def list_page(request: Request) -> Response:
    """GET /app/{app}/{entity}: the list (``partial=rows`` answers only the table body)."""
    # One read transaction for the session check + published version, the page, the link
    # titles and the saved views (each would otherwise check out a connection of its own).
    db = jimu_of(request).db
    saved.ensure_table(db)
    with db.read() as c:
        s = await open_screen(request, db=c)
        assert s.policy is not None
        entity = str(request.path_params["entity"])
        ent = s.policy.require(entity, "read")
        view = _view(s.policy, entity, request.query_params.get("view"))
        params = _query(request, s.policy, ent, view)
        error = None
        try:
            result = query_records(c, s.policy.rt, ent, where=s.policy.row_clause(entity), filter=params["filter"],
                                   sort=params["sort"], limit=PAGE_SIZE, cursor=params["cursor"], actor=s.actor)
            data, next_cursor = result.data, result.next_cursor
        except JimuError as exc:
            data, next_cursor, error = [], None, exc.message
        cols = list_columns(s.policy, ent, view)
        rendered = s.policy.render_many(entity, data, fields=cols)
        titles = link_titles(s.policy, entity, rendered, conn=c)
        saved_views = saved.list_saved(s.jimu.db, s.app, entity, s.actor.username or "", conn=c)
    specs = [(c_, ent.field(c_)) for c_ in cols]
    masked_cols = {c_: f is not None and s.policy.field_rule(entity, c_).access == "mask" for c_, f in specs}
    rows = []
    for r in rendered:
        cells = []
        for c_, f in specs:
            masked = masked_cols[c_]
            cells.append({"name": c_, "text": display(f, r.get(c_), s.lang, titles, masked) if f is not None
                          else str(r.get(c_) or "")[:16].replace("T", " "), "masked": masked})
        rows.append({"id": r["id"], "version": r.get("version"), "cells": cells})
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "partial", "msg")]
    base = [(k, v) for k, v in keep if k != "sort"]
    sortable = sortable_fields(ent)  # header sorting only where an index serves it
    sort_urls = {c: "?" + urlencode([*base, ("sort", ("-" if params["sort"] == c else "") + c)]) for c in cols
                 if c in sortable}
    next_url = f"?{urlencode([*keep, ('cursor', next_cursor)])}" if next_cursor else None
    ctx = dict(entity=ent, entity_label=s.label(ent.label, entity), cols=cols, col_labels=_labels(s, ent, cols),
               rows=rows, params=params, next_url=next_url, sort_urls=sort_urls, error=error,
               first_url=f"?{urlencode(keep)}" if params["cursor"] else None,
               views=[v for v in s.policy.rt.spec.views if v.entity == entity and v.kind == "list"],
               saved_views=saved_views,
               filter_fields=[(n, s.label(ent.field(n).label, n)) for n in s.policy.readable_fields(entity)  # type: ignore[union-attr]
                              if s.policy.field_rule(entity, n).access != "mask"
                              and ent.field(n).type != "child_table"],  # type: ignore[union-attr]
               operators=[(o, s.t("op_" + o)) for o in OPERATORS],
               can_create=s.policy.can(entity, "create"), can_delete=s.policy.can(entity, "delete"),
               can_export=s.policy.can(entity, "export"), has_kanban=s.policy.rt.workflow_for(entity) is not None,
               query_string=urlencode(keep),
               message=request.query_params.get("msg"))
    if request.query_params.get("partial") == "rows":
        return s.render("_list_rows.html", on=entity, **ctx)
    return s.render("list.html", on=entity, **ctx)


def _labelled(s: Screen, ent: EntitySpec, columns: list[str],
              rows: Iterator[dict[str, Any]]) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """The export's columns as field labels in the screen's language (a label two fields
    share gets the field name appended), rows keyed by those labels."""
    labels = _labels(s, ent, columns)
    seen: dict[str, int] = {}
    for c in columns:
        seen[labels[c]] = seen.get(labels[c], 0) + 1
    heads = [labels[c] if seen[labels[c]] == 1 else f"{labels[c]} ({c})" for c in columns]
    pairs = list(zip(heads, columns, strict=True))
    return heads, ({h: row.get(c) for h, c in pairs} for row in rows)


@screen
async def export_page(request: Request) -> Response:
    """GET /app/{app}/{entity}/export.csv|xlsx with the list's filters. The header row
    holds the field labels in the screen's language; ``?headers=names`` gives the field
    names instead (stable, for scripts and re-import)."""
    s = await open_screen(request)
    assert s.policy is not None
    entity = str(request.path_params["entity"])
    fmt = str(request.path_params["fmt"])
    ent = s.policy.require(entity, "export")
    params = _query(request, s.policy, ent, _view(s.policy, entity, request.query_params.get("view")))
    columns, rows = export_rows(s.policy, entity, filter=params["filter"])
    if request.query_params.get("headers") != "names":
        columns, rows = _labelled(s, ent, columns, rows)
    headers = {"Content-Disposition": f'attachment; filename="{s.app}-{entity}.{fmt}"'}
    if fmt == "csv":
        return Response(to_csv(columns, rows), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(to_xlsx(columns, rows, entity), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@screen
async def bulk_delete(request: Request) -> Response:
    """POST /app/{app}/{entity}/bulk-delete (ids): deletes what the caller may delete."""
    s = await open_screen(request)
    assert s.policy is not None and s.form is not None
    entity = str(request.path_params["entity"])
    s.policy.require(entity, "delete")
    done, failed = 0, []
    for rid in s.form.getlist("ids"):
        try:
            s.policy.load(entity, rid, "delete")
            s.jimu.records.delete(s.app, entity, rid, actor=s.actor)
            done += 1
        except JimuError as exc:
            failed.append(f"#{rid}: {exc.message}")
    msg = s.t("deleted_n", n=done) + ("; " + "; ".join(failed) if failed else "")
    # ``back`` (the list's query string) is re-encoded, never pasted: a CR/LF in it would
    # otherwise reach the Location header (the server then drops the connection).
    back = [(k, v) for k, v in parse_qsl(str(s.form.get("back") or ""), keep_blank_values=True) if k != "msg"]
    return redirect(f"/app/{s.app}/{entity}?{urlencode([*back, ('msg', msg)])}")


@screen
async def save_view_page(request: Request) -> Response:
    """POST /app/{app}/{entity}/views (name, query): save the current list as a view."""
    s = await open_screen(request)
    assert s.policy is not None and s.form is not None
    entity = str(request.path_params["entity"])
    s.policy.require(entity, "read")
    name = str(s.form.get("name") or "").strip()[:150]
    query = str(s.form.get("query") or "")
    if name:
        saved.save_view(s.jimu.db, s.app, entity, s.actor.username or "", name, query)
    return redirect(f"/app/{s.app}/{entity}?{query}")


@screen
async def delete_view_page(request: Request) -> Response:
    """POST /app/{app}/{entity}/views/{view_id}/delete."""
    s = await open_screen(request)
    entity = str(request.path_params["entity"])
    saved.delete_view(s.jimu.db, s.app, s.actor.username or "", int(request.path_params["view_id"]))
    return redirect(f"/app/{s.app}/{entity}")

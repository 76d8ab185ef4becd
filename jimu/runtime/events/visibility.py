"""What one caller may see of an event: the SSE data and the webhook payload.

The event row keeps a snapshot of the record (JSON) and its changes; this module
re-types the snapshot, applies the caller's row filter (in Python on the snapshot, falling
back to the database when the filter needs it) and renders old and new values through
:meth:`AccessPolicy.render`, so hidden fields are absent and masked ones masked exactly as
on every other surface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jimu.core.errors import ExpressionError, JimuError
from jimu.platform.expressions import compile_expression
from jimu.platform.values import coerce
from jimu.runtime.access import AccessPolicy

__all__ = ["typed_record", "row_visible", "render_event", "event_record"]


def typed_record(policy: AccessPolicy, entity: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON snapshot back to typed values (Decimal, dates) so masks and filters
    compute as they do on stored rows."""
    ent = policy.rt.spec.entity(entity)
    out: dict[str, Any] = dict(data)
    if ent is None:
        return out
    for f in ent.active_fields:
        value = out.get(f.name)
        if value is None or not f.stored:
            continue
        try:
            out[f.name] = coerce(f, value)
        except (ValueError, TypeError, ArithmeticError, JimuError):
            pass
    return out


def row_visible(policy: AccessPolicy, entity: str, record: Mapping[str, Any], *, stored: bool = True) -> bool:
    """Whether ``record`` passes the caller's read row filter (``stored``: the row still
    exists, so the database can decide when the filter cannot run on the snapshot)."""
    grant = policy.grant(entity)
    if not grant.can("read"):
        return False
    filters = grant.row_filters.get("read")
    if filters is None:
        return True
    try:
        return any(compile_expression(src, policy.rt.spec, entity, purpose="row_filter").test(record, policy.env)
                   for src in filters)
    except (ExpressionError, LookupError, TypeError):
        if not stored or record.get("id") is None:
            return False
        return str(record["id"]) in policy.visible_ids(entity, [record["id"]])


def event_record(policy: AccessPolicy, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The typed record snapshot of a record event when the caller may see it, else None."""
    entity = row["entity"]
    if not entity or not policy.can(entity, "read"):
        return None
    data = row["data"] or {}
    rec = typed_record(policy, entity, data.get("record") or {})
    if not row_visible(policy, entity, rec, stored=row["kind"] != "record.deleted"):
        return None
    return rec


def render_event(policy: AccessPolicy, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{"entity", "id", "version", "changes"}`` for the caller, or None when the caller
    may not see this event. Record changes are ``[{"field", "old", "new"}]`` limited to
    visible fields (masked values masked); ``ledger.moved`` changes are the movements
    (dims, bucket deltas, document) and need the read right on the first dimension."""
    kind = row["kind"]
    if kind == "ledger.moved":
        return _render_ledger(policy, row)
    if not kind.startswith("record."):
        return None
    rec = event_record(policy, row)
    if rec is None:
        return None
    entity = row["entity"]
    changes = list(row["changes"] or [])
    ent = policy.rt.spec.entity(entity)
    typed_changes = []
    for c in changes:
        f = ent.field(c.get("field")) if ent is not None else None
        old, new = c.get("old"), c.get("new")
        if f is not None:
            old = _coerce(f, old)
            new = _coerce(f, new)
        typed_changes.append((c.get("field"), old, new))
    before = {**rec, **{name: old for name, old, _ in typed_changes}}
    after = {**rec, **{name: new for name, _, new in typed_changes}}
    rb = policy.render(entity, before)
    ra = policy.render(entity, after)
    out = [{"field": name, "old": rb.get(name), "new": ra.get(name)}
           for name, _, _ in typed_changes if name in ra or name in rb]
    if row["kind"] == "record.updated" and not out:
        return None  # only fields the caller may not see changed
    rid = row["record"]
    return {"entity": entity, "id": int(rid) if rid and str(rid).isdigit() else rid,
            "version": row["version"], "changes": out}


def _coerce(f: Any, value: Any) -> Any:
    if value is None or not f.stored:
        return value
    try:
        return coerce(f, value)
    except (ValueError, TypeError, ArithmeticError, JimuError):
        return value


def _render_ledger(policy: AccessPolicy, row: Mapping[str, Any]) -> dict[str, Any] | None:
    lg = policy.rt.spec.ledger(str(row["entity"]))
    if lg is None or not lg.dimensions:
        return None
    first = lg.dimensions[0]
    if first.entity and not policy.can(first.entity, "read"):
        return None
    changes = []
    for c in row["changes"] or []:
        doc = c.get("document")
        if doc and not (policy.can(str(doc.get("entity")), "read")
                        and str(doc.get("id")) in policy.visible_ids(str(doc["entity"]), [doc.get("id")])):
            c = {**c, "document": None}
        changes.append(c)
    rid = row["record"]
    return {"entity": row["entity"], "id": int(rid) if rid and str(rid).isdigit() else rid, "version": None,
            "changes": changes}

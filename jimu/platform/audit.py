"""The audit trail: who changed what, when, from where, old -> new, with a sentence in
Chinese and English ("张三 将 销售单 SO-202611-0007 的 数量 从 5 改为 8")."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.platform.lean_insert import LeanInsert, Row, json_text
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.store.tables import audit_log
from jimu.platform.values import to_json

__all__ = ["record_audit", "audit_row", "json_changes", "summarize", "query_audit", "audit_entry"]

ACTION_ZH = {"create": "新建了", "delete": "删除了", "update": "修改了", "transition": "执行了"}


def _show(value: Any) -> str:
    v = to_json(value)
    if v is None or v == "":
        return "空" if v is None else "''"
    return str(v)


def summarize(user: str | None, action: str, entity: EntitySpec, title: str,
              changes: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> tuple[str, str]:
    """(zh, en) sentences for one audited action."""
    who = user or "系统"
    who_en = user or "system"
    ezh = entity.label.zh or entity.name
    een = entity.label.en or entity.name
    extra = extra or {}
    if action == "transition":
        t = extra.get("transition", "")
        tl = extra.get("transition_label") or {}
        return (f"{who} 对 {ezh} {title} 执行了 {tl.get('zh') or t}（{extra.get('from')} → {extra.get('to')}）",
                f"{who_en} ran {tl.get('en') or t} on {een} {title} ({extra.get('from')} -> {extra.get('to')})")
    if action == "create":
        return f"{who} 新建了 {ezh} {title}", f"{who_en} created {een} {title}"
    if action == "delete":
        return f"{who} 删除了 {ezh} {title}", f"{who_en} deleted {een} {title}"
    parts_zh, parts_en = [], []
    for ch in changes:
        f = entity.field(ch["field"])
        lzh = (f.label.zh if f else "") or ch["field"]
        len_ = (f.label.en if f else "") or ch["field"]
        parts_zh.append(f"{lzh} 从 {_show(ch['old'])} 改为 {_show(ch['new'])}")
        parts_en.append(f"{len_} from {_show(ch['old'])} to {_show(ch['new'])}")
    return (f"{who} 将 {ezh} {title} 的 " + "，".join(parts_zh),
            f"{who_en} changed {een} {title}: " + "; ".join(parts_en))


def record_audit(conn: Connection, *, app: str, user: str | None, action: str, entity: EntitySpec | None,
                 record: Any, changes: list[dict[str, Any]], summary: tuple[str, str],
                 source: str | None = None, document: str | None = None, changes_json: str | None = None) -> None:
    """Write one audit row in the caller's transaction. ``changes_json``: the JSON text of
    ``changes`` (:func:`json_changes`) when the caller already has it."""
    lean, params = audit_row(app=app, user=user, action=action, entity=entity, record=record, changes=changes,
                             summary=summary, source=source, document=document, changes_json=changes_json)
    lean(conn, params)


def audit_row(*, app: str, user: str | None, action: str, entity: EntitySpec | None, record: Any,
              changes: list[dict[str, Any]], summary: tuple[str, str], source: str | None = None,
              document: str | None = None, changes_json: str | None = None) -> Row:
    """The audit row :func:`record_audit` writes, as an insert and its values, for a caller
    that writes it together with other rows (``lean_insert.insert_together``); its time
    is now, not when it is written."""
    return _INSERT, dict(
        at=now(), user=user, app=app, action=action, entity=entity.name if entity else None,
        record=None if record is None else str(record),
        changes=json_text(json_changes(changes)) if changes_json is None else changes_json,
        summary_zh=summary[0], summary_en=summary[1], source=source, document=document)


def json_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{field, old, new}]`` with JSON-ready values, as the audit row and the event keep them."""
    return [{"field": c["field"], "old": to_json(c["old"]), "new": to_json(c["new"])} for c in changes]


# One INSERT for every audit row, compiled once per dialect and run through the driver.
_INSERT = LeanInsert(audit_log, ("at", "user", "app", "action", "entity", "record", "changes", "summary_zh",
                                 "summary_en", "source", "document"), encoded=("changes",))


def audit_entry(row: Any) -> dict[str, Any]:
    """The contract shape of one audit row."""
    return {
        "id": row["id"], "at": row["at"].isoformat(), "user": row["user"], "action": row["action"],
        "entity": row["entity"], "record": row["record"], "changes": row["changes"],
        "summary": {"zh": row["summary_zh"], "en": row["summary_en"]},
        "source": row["source"], "document": row["document"],
    }


def query_audit(conn: Connection, app: str, *, entity: str | None = None, record: str | None = None,
                user: str | None = None, since: Any = None, until: Any = None, after_id: int | None = None,
                limit: int = 50) -> list[dict[str, Any]]:
    """Audit entries newest first, filtered; ``after_id`` continues a page (ids below it)."""
    stmt = sa.select(audit_log).where(audit_log.c.app == app)
    if entity:
        stmt = stmt.where(audit_log.c.entity == entity)
    if record is not None:
        stmt = stmt.where(audit_log.c.record == str(record))
    if user:
        stmt = stmt.where(audit_log.c.user == user)
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    if until is not None:
        stmt = stmt.where(audit_log.c.at < until)
    if after_id is not None:
        stmt = stmt.where(audit_log.c.id < after_id)
    rows = conn.execute(stmt.order_by(audit_log.c.id.desc()).limit(limit)).mappings().all()
    return [audit_entry(r) for r in rows]

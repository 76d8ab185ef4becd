"""The inbox: approvals waiting for a user, notifications and escalations.

An entry reads ``{id, kind, title, entity, record, at, read}`` (plus ``approval`` and
``step`` for approvals). Approval entries leave the list when the step is decided; a user
also sees the approvals of everyone who currently delegates to them, except those of
documents they submitted (nobody approves their own document).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.core.errors import NotFound
from jimu.runtime.workflow.tables import approvals, delegations, inbox

__all__ = ["add_entry", "add_entries", "list_inbox", "mark_read", "close_approval_entries", "principals_for",
           "entry_dict"]


def add_entry(conn: Connection, *, app: str, user: str, kind: str, title: str, entity: str | None = None,
              record: int | None = None, approval_id: int | None = None, step: int | None = None,
              payload: Mapping[str, Any] | None = None, at: datetime | None = None) -> int:
    """Insert one inbox entry in the caller's transaction; returns its id."""
    return int(conn.execute(inbox.insert().values(
        app=app, user=user, kind=kind, title=title, entity=entity, record=record, approval_id=approval_id,
        step=step, at=at or clock.now(), read=False, done=False, payload=dict(payload or {}),
    ).returning(inbox.c.id)).scalar_one())


def add_entries(conn: Connection, users: Iterable[str], **kw: Any) -> list[int]:
    """One entry per distinct user."""
    return [add_entry(conn, user=u, **kw) for u in dict.fromkeys(users)]


def principals_for(conn: Connection, user: str, app: str | None = None, now: datetime | None = None) -> list[str]:
    """``user`` plus everyone who delegates to ``user`` right now."""
    at = now or clock.now()
    stmt = sa.select(delegations.c.user).where(
        delegations.c.delegate == user, delegations.c.from_at <= at,
        sa.or_(delegations.c.until_at.is_(None), delegations.c.until_at > at))
    if app is not None:
        stmt = stmt.where(sa.or_(delegations.c.app.is_(None), delegations.c.app == app))
    return [user] + [u for u in dict.fromkeys(conn.execute(stmt).scalars()) if u != user]


def entry_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """The contract shape of one entry."""
    out = {"id": int(row["id"]), "kind": row["kind"], "title": row["title"], "entity": row["entity"],
           "record": row["record"], "at": row["at"].isoformat(), "read": bool(row["read"]),
           "user": row["user"]}
    if row["approval_id"] is not None:
        out.update(approval=int(row["approval_id"]), step=row["step"])
    payload = row.get("payload")
    if isinstance(payload, Mapping) and isinstance(payload.get("lines"), list):
        out["lines"] = payload["lines"]  # a digest's rows (e.g. the near-expiry digest)
    return out


def list_inbox(conn: Connection, app: str, user: str, *, after_id: int | None = None, limit: int = 50,
               unread_only: bool = False, now: datetime | None = None) -> list[dict[str, Any]]:
    """Entries for ``user`` (and the users delegating to them), newest first: open
    approvals and every notification/escalation. ``after_id`` continues a page."""
    users = principals_for(conn, user, app, now)
    # A delegate never decides a document they submitted themselves: those entries stay out.
    own = sa.select(approvals.c.id).where(approvals.c.submitter == user)
    stmt = sa.select(inbox).where(inbox.c.app == app, inbox.c.done.is_(False),
                                  sa.or_(inbox.c.user == user,
                                         sa.and_(inbox.c.user.in_(users), inbox.c.kind == "approval",
                                                 inbox.c.approval_id.not_in(own))))
    if unread_only:
        stmt = stmt.where(inbox.c.read.is_(False))
    if after_id is not None:
        stmt = stmt.where(inbox.c.id < after_id)
    rows = conn.execute(stmt.order_by(inbox.c.id.desc()).limit(limit)).mappings().all()
    return [entry_dict(r) for r in rows]


def mark_read(conn: Connection, app: str, user: str, entry_id: int) -> dict[str, Any]:
    """Mark one of the caller's entries read (404 for someone else's)."""
    users = principals_for(conn, user, app)
    row = conn.execute(sa.select(inbox).where(inbox.c.id == entry_id, inbox.c.app == app,
                                              inbox.c.user.in_(users))).mappings().first()
    if row is None:
        raise NotFound(f"no inbox entry {entry_id}", code="inbox.not_found")
    conn.execute(sa.update(inbox).where(inbox.c.id == entry_id).values(read=True))
    return {**entry_dict(row), "read": True}


def close_approval_entries(conn: Connection, approval_id: int, step: int | None = None,
                           users: Iterable[str] | None = None) -> None:
    """Approval entries of an approval (one step / some users) are no longer waiting."""
    stmt = sa.update(inbox).where(inbox.c.approval_id == approval_id, inbox.c.kind == "approval")
    if step is not None:
        stmt = stmt.where(inbox.c.step == step)
    if users is not None:
        stmt = stmt.where(inbox.c.user.in_(list(users)))
    conn.execute(stmt.values(done=True))

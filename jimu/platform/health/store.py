"""Persisting scans: findings keep their state across scans, history keeps the scores.

Merge rules (``scan_and_store``), per finding id (rule + element path):

* new finding -> ``open``;
* dismissed (``false_positive``/``wont_fix``) and the element's fingerprint unchanged ->
  stays dismissed; the element changed -> reopened (the reason is cleared);
* ``snoozed`` stays snoozed until ``snoozed_until`` passes (or the element changes);
* ``fixed`` and found again -> reopened;
* an ``open`` or ``snoozed`` finding not found by this scan -> ``fixed``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from jimu.core import clock
from jimu.core.errors import NotFound, ValidationError
from jimu.platform.db import Database
from jimu.platform.health.model import STATES, HealthFinding, ScanContext
from jimu.platform.health.scan import HealthReport, run_scan, score
from jimu.platform.health.tables import health_findings, health_scans

__all__ = ["scan_and_store", "set_finding_state", "list_findings", "scan_history"]

_DISMISSED = frozenset({"false_positive", "wont_fix"})


def _merged_state(row: Any, f: HealthFinding, now: datetime) -> tuple[str, str | None, datetime | None]:
    same = row.fingerprint == f.fingerprint
    if row.state in _DISMISSED and same:
        return row.state, row.reason, None
    if row.state == "snoozed" and same and row.snoozed_until is not None and row.snoozed_until > now:
        return "snoozed", row.reason, row.snoozed_until
    return "open", None, None


def scan_and_store(db: Database, ctx: ScanContext, rules: list[Any] | None = None) -> HealthReport:
    """Scan, merge the states kept in the database, store findings and a history row.

    The returned report carries the merged states, and its scores count open findings only."""
    report = run_scan(ctx, rules)
    now = clock.now()
    app = ctx.app.name
    t = health_findings
    with db.write() as conn:
        existing = {r.id: r for r in conn.execute(sa.select(t).where(t.c.app == app))}
        inserts = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for f in report.findings:
            values = {"rule": f.rule, "category": f.category, "severity": f.severity, "element": f.element,
                      "path": f.path, "message": f.message, "remediation": f.remediation,
                      "fingerprint": f.fingerprint, "last_seen": now}
            row = existing.pop(f.id, None)
            if row is None:
                inserts.append({**values, "app": app, "id": f.id, "state": "open", "first_seen": now})
                continue
            state, reason, until = _merged_state(row, f, now)
            f.state, f.reason = state, reason
            if state != row.state:
                values.update(state=state, reason=reason, snoozed_until=until, state_by="scanner", state_at=now)
            updates.setdefault(tuple(values), []).append({**values, "b_id": f.id})
        for names, batch in updates.items():  # one executemany per shape of update
            conn.execute(t.update().where(t.c.app == app, t.c.id == sa.bindparam("b_id"))
                         .values({n: sa.bindparam(n) for n in names}), batch)
        if inserts:
            conn.execute(t.insert(), inserts)
        gone = [fid for fid, r in existing.items() if r.state in ("open", "snoozed")]
        if gone:
            conn.execute(t.update().where(t.c.app == app, t.c.id.in_(gone))
                         .values(state="fixed", reason=None, snoozed_until=None, state_by="scanner", state_at=now))
        report.score, report.categories = score(report.findings)
        counts = Counter(f.severity for f in report.findings if f.state == "open")
        conn.execute(health_scans.insert().values(app=app, at=now, score=report.score,
                                                  categories=report.categories, counts=dict(counts)))
    return report


def set_finding_state(
    db: Database,
    app: str,
    finding_id: str,
    state: str,
    reason: str | None,
    user: str | None,
    snoozed_until: datetime | None = None,
) -> dict[str, Any]:
    """Change a finding's state (the ``PATCH .../health/findings/{id}`` behaviour).

    Dismissing (false_positive, wont_fix) needs a reason; snoozed needs ``snoozed_until``
    in the future. Returns the stored finding."""
    if state not in STATES:
        raise ValidationError(f"unknown state {state!r}; one of {', '.join(STATES)}", code="health.state")
    if state in _DISMISSED and not (reason or "").strip():
        raise ValidationError(f"marking a finding {state} needs a reason", code="health.reason")
    now = clock.now()
    if state == "snoozed" and (snoozed_until is None or snoozed_until <= now):
        raise ValidationError("snoozing needs snoozed_until in the future", code="health.snooze")
    t = health_findings
    with db.write() as conn:
        found = conn.execute(sa.select(t.c.id).where(t.c.app == app, t.c.id == finding_id)).first()
        if found is None:
            raise NotFound(f"no finding {finding_id!r} in app {app!r}")
        conn.execute(t.update().where(t.c.app == app, t.c.id == finding_id).values(
            state=state, reason=reason, snoozed_until=snoozed_until if state == "snoozed" else None,
            state_by=user, state_at=now))
        row = conn.execute(sa.select(t).where(t.c.app == app, t.c.id == finding_id)).one()
    return _row_dict(row)


def _row_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("snoozed_until", "first_seen", "last_seen", "state_at"):
        if data.get(key) is not None:
            data[key] = data[key].isoformat()
    return data


def list_findings(db: Database, app: str, state: str | None = None) -> list[dict[str, Any]]:
    """Stored findings of ``app`` (optionally in one state), most severe first."""
    t = health_findings
    query = sa.select(t).where(t.c.app == app)
    if state:
        query = query.where(t.c.state == state)
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    with db.read() as conn:
        rows = [_row_dict(r) for r in conn.execute(query)]
    return sorted(rows, key=lambda r: (order.get(r["severity"], 9), r["rule"], r["path"]))


def scan_history(db: Database, app: str, limit: int = 50) -> list[dict[str, Any]]:
    """The latest scans of ``app``, newest first: at, score, category scores, counts."""
    s = health_scans
    with db.read() as conn:
        rows = conn.execute(sa.select(s).where(s.c.app == app).order_by(s.c.id.desc()).limit(limit))
        return [_row_dict(r) for r in rows]

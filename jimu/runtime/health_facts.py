"""Runtime facts for the health scanner, read from the database (DESIGN 15).

Some rules judge an app by how it is used, not only by its spec: DM-03 (a field nobody
ever fills), PF-03 (a per-row aggregate over a big table), PS-04 (an API key carrying the
admin role), WF-04 (an approval step whose role nobody holds), MG-01/MG-02 (a capability
unit few apps reuse, or that fails too often). Without these facts those rules stay
silent, so every scan through :func:`jimu.runtime.health.scan_context` gets them:

- ``stats["rows"]``: entity -> record count;
- ``stats["field_writes"]``: ``"entity.field"`` -> records where the field holds a value
  (stored fields only; child tables and unstored formulas have no column);
- ``stats["role_holders"]``: every role of the app -> active users holding it (0 included,
  so a role nobody holds is known to be vacant);
- ``stats["active_users"]``: the active usernames (approvers named as users);
- ``stats["api_keys"]``: the app's active API keys with their role;
- ``usage``: CBU name -> :class:`CbuUsage` over the whole installation: the apps whose
  published spec carries elements of the unit (reuse), the audit rows written on the
  unit's entities (runs) and the failures recorded for them (outbox consumers that failed
  or were given up, failed scheduled jobs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.health import CbuUsage
from jimu.platform.health.model import parse_owner
from jimu.platform.specs import AppSpec
from jimu.platform.store.tables import audit_log, users

__all__ = ["app_stats", "cbu_usage"]


def _count_values(conn: Connection, table: sa.Table, names: list[str]) -> tuple[int, dict[str, int]]:
    """(rows, column -> non-null count) in one scan of ``table``."""
    cols = [sa.func.count(table.c[n]).label(f"c{i}") for i, n in enumerate(names)]
    row = conn.execute(sa.select(sa.func.count().label("n"), *cols).select_from(table)).one()
    return int(row[0]), {n: int(row[i + 1]) for i, n in enumerate(names)}


def app_stats(jimu: Any, app: str, spec: AppSpec) -> dict[str, Any]:
    """The ``ScanContext.stats`` of ``app`` (its published tables; entities of a draft
    that have no table yet are left out)."""
    rows: dict[str, int] = {}
    writes: dict[str, int] = {}
    try:
        rt = jimu.apps.get(app)
    except Exception:  # noqa: BLE001 - never published: no tables to count
        rt = None
    with jimu.db.read() as c:
        if rt is not None:
            for ent in spec.entities:
                if ent.archived or rt.spec.entity(ent.name) is None:
                    continue
                table = rt.tables(ent.name)
                names = [f.name for f in ent.active_fields if f.name in table.c]
                rows[ent.name], counts = _count_values(c, table, names)
                writes.update({f"{ent.name}.{n}": v for n, v in counts.items()})
        people = c.execute(sa.select(users.c.username, users.c.roles).where(users.c.active.is_(True))).all()
        keys = _api_keys(c, app)
    held = Counter(r for p in people for r in set(p.roles or []))
    return {"rows": rows, "field_writes": writes, "api_keys": keys,
            "role_holders": {role.name: held.get(role.name, 0) for role in spec.roles},
            "active_users": sorted(p.username for p in people)}


def _api_keys(conn: Connection, app: str) -> list[dict[str, Any]]:
    from jimu.platform.permissions.tables import api_keys

    return [{"name": r.name, "roles": [r.role]} for r in conn.execute(
        sa.select(api_keys.c.name, api_keys.c.role).where(api_keys.c.app == app, api_keys.c.active.is_(True))
        .order_by(api_keys.c.id))]


def _unit_entities(spec: AppSpec) -> dict[str, set[str]]:
    """CBU name -> the entities it owns in ``spec`` (from ``owners``)."""
    out: dict[str, set[str]] = {}
    for element, owner in spec.owners.items():
        name, _ = parse_owner(owner)
        kind, _, rest = element.partition(":")
        ents = out.setdefault(name, set())
        if kind == "entity":
            ents.add(rest)
    return out


def _per_entity(conn: Connection, stmt: sa.Select[Any]) -> Counter[tuple[str, str]]:
    return Counter({(str(r[0]), str(r[1])): int(r[2]) for r in conn.execute(stmt) if r[1] is not None})


def cbu_usage(jimu: Any) -> dict[str, CbuUsage]:
    """CBU name -> usage across every app of the installation."""
    from jimu.runtime.events.tables import event_consumers, events
    from jimu.runtime.health import published_spec
    from jimu.runtime.workflow.tables import jobs

    specs: dict[str, AppSpec] = {}
    for info in jimu.store.list_apps():
        spec = published_spec(jimu, info.name)
        if spec is not None:
            specs[info.name] = spec
    with jimu.db.read() as c:
        runs = _per_entity(c, sa.select(audit_log.c.app, audit_log.c.entity, sa.func.count())
                           .group_by(audit_log.c.app, audit_log.c.entity))
        failed = _per_entity(c, sa.select(events.c.app, events.c.entity, sa.func.count())
                             .select_from(events.join(event_consumers, event_consumers.c.event_id == events.c.id))
                             .where(event_consumers.c.status.in_(("failed", "dead")))
                             .group_by(events.c.app, events.c.entity))
        failed.update(_per_entity(c, sa.select(jobs.c.app, jobs.c.entity, sa.func.count())
                                  .where(jobs.c.status == "failed").group_by(jobs.c.app, jobs.c.entity)))
    using: Counter[str] = Counter()
    events_of: Counter[str] = Counter()
    errors_of: Counter[str] = Counter()
    for app, spec in specs.items():
        for unit, ents in _unit_entities(spec).items():
            using[unit] += 1
            events_of[unit] += sum(runs[(app, e)] for e in ents)
            errors_of[unit] += sum(failed[(app, e)] for e in ents)
    return {unit: CbuUsage(events=events_of[unit], errors=errors_of[unit], apps_using=n, apps_total=len(specs))
            for unit, n in using.items()}


def merge_facts(ctx_stats: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """The runtime facts under what the caller already supplied (the caller wins)."""
    return {**facts, **ctx_stats}

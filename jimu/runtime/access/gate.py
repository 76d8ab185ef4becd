"""The record gate: list, create and update on behalf of a caller, with every check the
HTTP API applies, in one place.

The data routes (:mod:`jimu.runtime.api.routes_data`) and the script sandbox's ``api``
(:mod:`jimu.runtime.sandbox.api`) both go through these functions, so a script can never
do what the same user could not do over HTTP: filters only on fields the caller may read
unmasked (a filter on a hidden or masked field would reveal its value), sorting likewise,
writable fields only, the workflow state's locks, and the row filter both before and
after a write. Rights, row filters and field rules themselves live in
:class:`~jimu.runtime.access.policy.AccessPolicy` (child rows included); this module
sequences them around the record service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.errors import ExpressionError, FieldError, PermissionDenied, ValidationError
from jimu.platform.expressions import compile_expression
from jimu.runtime.access.encoder import list_encoder
from jimu.runtime.access.policy import AccessPolicy
from jimu.runtime.access.sorting import list_sort
from jimu.runtime.records.query import ListResult, list_columns
from jimu.runtime.records.query import list_records as query_records

__all__ = ["check_filter", "check_sort", "create", "list_page", "still_allowed", "update"]


def check_filter(policy: AccessPolicy, entity: str, source: str) -> None:
    """422 with the error position for a bad filter; hidden or masked fields are unknown
    to the filter (filtering on them would reveal their values)."""
    try:
        compiled = compile_expression(source, policy.rt.spec, entity, purpose="view_filter")
    except ExpressionError as exc:
        raise ExpressionError(exc.plain_message, code=exc.code, position=exc.position, hint=exc.hint,
                              source=source, field="filter") from None
    for path in compiled.paths | compiled.dependencies:
        current = entity
        for step in path.split("."):
            ent = policy.rt.spec.entity(current)
            f = ent.field(step) if ent is not None else None
            if f is None:
                break
            if policy.field_rule(current, step).access not in ("read", "write") or not policy.can(current, "read"):
                raise ValidationError(f"unknown field '{step}' in filter", code="filter.field",
                                      errors=[FieldError("filter", "field.unknown",
                                                         f"'{step}' is not a field you can filter on")])
            current = f.target or current


def check_sort(policy: AccessPolicy, entity: str, sort: str | None) -> str:
    """The sort a list of ``entity`` uses for the caller (:func:`list_sort`): 422
    ``sort.invalid`` for a sort on a field the caller may not read unmasked (the order and
    the cursor would leak it); an entity's default sort on such a field falls back to -id."""
    return list_sort(policy, entity, sort)


def list_page(policy: AccessPolicy, conn: Connection, entity: str, *, filter: str | None = None,
              sort: str | None = None, limit: int = 50, cursor: str | None = None,
              encoded: bool = False, fields: Sequence[str] | None = None) -> ListResult:
    """One page of ``entity`` as the caller may list it (stored values: render them with
    the policy): read right, row filter, and the filter and sort checks above. With
    ``encoded`` the page holds the caller's JSON objects already (``render_many``'s answer,
    narrowed to ``fields``) made by the compiled list encoder straight from the rows."""
    policy.require(entity, "read")
    if filter:
        check_filter(policy, entity, filter)
    sort = check_sort(policy, entity, sort)
    ent = policy.rt.entity(entity)
    encode = (list_encoder(policy, entity, *list_columns(policy.rt, ent), fields, dialect=conn.dialect)
              if encoded else None)
    return query_records(conn, policy.rt, ent, where=policy.row_clause(entity), filter=filter,
                         sort=sort, limit=limit, cursor=cursor, actor=policy.actor, encode=encode, env=policy.env)


def still_allowed(policy: AccessPolicy, conn: Any, entity: str, record: Mapping[str, Any], right: str) -> None:
    """Refuse (403) a write whose result falls outside the rows the caller may ``right``:
    decided on the stored record when the row filter reads only its own fields, by a query
    in the write transaction otherwise."""
    verdict = policy.admits(entity, record, right)
    if verdict is None:
        clause = policy.row_clause(entity, right)
        table = policy.rt.tables(entity)
        verdict = clause is None or conn.execute(
            sa.select(table.c.id).where(table.c.id == record["id"], clause)).first() is not None
    if not verdict:
        raise PermissionDenied(f"the {entity} would fall outside the records you may {right}",
                               code="forbidden.row")


def create(policy: AccessPolicy, conn: Connection, entity: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Create a record as the caller inside ``conn``'s write transaction; returns it as
    stored (render it with the policy)."""
    policy.check_write(entity, data, creating=True)
    rec = policy.jimu.records.create(policy.app, entity, data, actor=policy.actor, conn=conn)
    still_allowed(policy, conn, entity, rec, "create")
    return rec


def update(policy: AccessPolicy, entity: str, record_id: Any, data: Mapping[str, Any], *,
           expected_version: int | None = None, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Update a record as the caller in a write transaction of its own; returns it as
    stored. ``current`` is the record the caller loaded for update (loaded here when not
    given); the state lock is judged on it and the write insists on its version unless
    ``expected_version`` (the client's If-Match) says otherwise, so the lock cannot be
    judged on a state that changed in between."""
    if current is None:
        current = policy.load(entity, record_id, "update")
    policy.check_write(entity, data)
    policy.check_state_write(entity, current, data)
    version = expected_version if expected_version is not None else current.get("version")
    jimu = policy.jimu
    with jimu.db.write() as c:
        rec = jimu.records.update(policy.app, entity, record_id, data, actor=policy.actor, expected_version=version,
                                  conn=c)
        still_allowed(policy, c, entity, rec, "update")
    return rec

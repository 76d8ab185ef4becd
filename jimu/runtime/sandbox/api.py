"""The parent side of a script's ``api``: get/list/create/update as the triggering user.

Every call goes through the record gate (:mod:`jimu.runtime.access.gate`) with that
user's :class:`AccessPolicy`, the same sequence of checks as the HTTP API: entity rights,
row filters, filters and sorts only on fields the user may read unmasked, writable fields
only, the workflow state's locks (and child rows only through their parent); reads are
rendered (hidden fields removed, masks applied). The script never sees or does more than
the user could over HTTP.

Each write commits in a short transaction of its own, like one HTTP call: no
transaction stays open while the script runs (a slow script never holds the database's
write lock), and a later ``get``/``list`` of the same script sees its earlier writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jimu.core.errors import FieldError, ValidationError
from jimu.runtime.access import AccessPolicy, gate

__all__ = ["record_api", "MAX_LIST"]

MAX_LIST = 200


def _entity(args: list[Any], i: int = 0) -> str:
    if len(args) <= i or not isinstance(args[i], str):
        raise ValidationError("the first argument is an entity name", errors=[FieldError("entity", "type", "text")])
    return args[i]


def _data(args: list[Any], i: int) -> dict[str, Any]:
    if len(args) <= i or not isinstance(args[i], Mapping):
        raise ValidationError("record data is a dict of field values", errors=[FieldError("data", "type", "dict")])
    return dict(args[i])


def _limit(value: Any) -> int:
    if value is None:
        return 50
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"limit is a whole number from 1 to {MAX_LIST}",
                              errors=[FieldError("limit", "limit.invalid", f"1..{MAX_LIST}")])
    return min(value, MAX_LIST)


def record_api(policy: AccessPolicy) -> Any:
    """A handler ``(method, args) -> value`` for :meth:`SandboxPool.run`; call it with no
    write transaction open (each write opens its own)."""
    jimu = policy.jimu

    def handler(method: str, args: list[Any]) -> Any:
        if method == "get":
            entity = _entity(args)
            return policy.render(entity, policy.load(entity, args[1] if len(args) > 1 else None))
        if method == "list":
            entity = _entity(args)
            flt = args[1] if len(args) > 1 else None
            if flt is not None and not isinstance(flt, str):
                raise ValidationError("filter is an expression (text)", errors=[FieldError("filter", "type", "text")])
            with jimu.db.read() as c:
                res = gate.list_page(policy, c, entity, filter=flt or None,
                                     limit=_limit(args[2] if len(args) > 2 else None))
            return policy.render_many(entity, res.data)
        if method == "create":
            entity = _entity(args)
            data = _data(args, 1)
            with jimu.db.write() as c:
                rec = gate.create(policy, c, entity, data)
            return policy.render(entity, rec)
        if method == "update":
            entity = _entity(args)
            data = _data(args, 2)
            return policy.render(entity, gate.update(policy, entity, args[1] if len(args) > 1 else None, data))
        raise ValidationError(f"unknown api method {method!r}")

    return handler

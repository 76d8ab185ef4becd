"""The parent side of a script's ``api``: get/list/create/update as the triggering user.

Every call goes through that user's :class:`AccessPolicy` (entity rights, row filters,
field rights on write, rendering on read), exactly as the HTTP API would; the script
never sees more than the user could.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import ValidationError
from jimu.runtime.access import AccessPolicy

__all__ = ["record_api"]


def record_api(policy: AccessPolicy, conn: Connection | None = None) -> Any:
    """A handler ``(method, args) -> value`` for :meth:`SandboxPool.run`; writes join
    ``conn``'s transaction when given."""
    jimu = policy.jimu

    def handler(method: str, args: list[Any]) -> Any:
        if method == "get":
            entity, rid = str(args[0]), args[1]
            return policy.render(entity, policy.load(entity, rid))
        if method == "list":
            entity, flt, limit = str(args[0]), args[1], int(args[2] or 50)
            policy.require(entity, "read")
            res = jimu.records.list(policy.app, entity, where=policy.row_clause(entity), filter=flt,
                                    limit=max(1, min(limit, 200)), actor=policy.actor)
            return [policy.render(entity, r) for r in res.data]
        if method == "create":
            entity, data = str(args[0]), dict(args[1])
            policy.check_write(entity, data, creating=True)
            return policy.render(entity, jimu.records.create(policy.app, entity, data, actor=policy.actor, conn=conn))
        if method == "update":
            entity, rid, data = str(args[0]), args[1], dict(args[2])
            policy.load(entity, rid, "update")
            policy.check_write(entity, data)
            return policy.render(entity, jimu.records.update(policy.app, entity, rid, data, actor=policy.actor,
                                                             conn=conn))
        raise ValidationError(f"unknown api method {method!r}")

    return handler

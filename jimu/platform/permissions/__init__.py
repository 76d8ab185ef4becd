"""The permissions model (DESIGN section 8): pure functions over role specs.

Which rights a set of roles grants on an entity (union), the row filters that restrict
them (OR-ed), and the access to each field (the most permissive role wins). Enforcement
lives in ``jimu.runtime.access``; this package only answers questions.
"""

from jimu.platform.permissions.model import (
    ADMIN_ROLE,
    RIGHTS,
    EntityGrant,
    FieldRule,
    effective_roles,
    entity_grant,
    implicit_admin_role,
    is_admin,
    merge_field_access,
)
from jimu.platform.permissions.tables import api_keys, ensure_tables, secrets, sessions

__all__ = [
    "ADMIN_ROLE",
    "RIGHTS",
    "EntityGrant",
    "FieldRule",
    "api_keys",
    "effective_roles",
    "ensure_tables",
    "entity_grant",
    "implicit_admin_role",
    "is_admin",
    "merge_field_access",
    "secrets",
    "sessions",
]

"""Users: username, argon2 password hash, roles (app roles matched by name), manager
(for approval chains and escalation), active flag. Deactivating a user bumps its token
epoch so every token issued before stops working at once."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from jimu.core.clock import now
from jimu.core.errors import Conflict, FieldError, NotFound, ValidationError
from jimu.core.ids import is_identifier
from jimu.platform.actor import Actor
from jimu.platform.db import Database
from jimu.platform.store.tables import users

__all__ = ["User", "UserService", "hash_password", "verify_password", "PASSWORD_MIN", "check_password_policy"]

PASSWORD_MIN = 8
"""The shortest password a person may choose through the API or the CLI (NIST SP 800-63B's
floor). Seeding is exempt on purpose: the demo users' password is their name (``sales``,
DESIGN 15) and ``jimu init`` without ``--admin-password`` creates ``admin``/``admin`` with
a warning; both call :meth:`UserService.create` directly, which checks only the shape."""

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass
class User:
    id: int
    username: str
    roles: list[str]
    manager: str | None = None
    active: bool = True
    display_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    token_epoch: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "roles": list(self.roles), "manager": self.manager,
                "active": self.active, "display_name": self.display_name, "attributes": dict(self.attributes)}

    def actor(self, source: str | None = None) -> Actor:
        return Actor(self.username, tuple(self.roles), dict(self.attributes), source, self.manager, self.id)


def _user(row: Any) -> User:
    return User(row["id"], row["username"], list(row["roles"] or []), row["manager"], bool(row["active"]),
                row["display_name"], dict(row["attributes"] or {}), int(row["token_epoch"] or 0))


def _check_username(username: Any) -> str:
    if not isinstance(username, str) or not (1 <= len(username) <= 150) or not all(
            ch.isalnum() or ch in "._-@" for ch in username):
        raise ValidationError("invalid username", errors=[FieldError(
            "username", "username.invalid", "1-150 letters, digits or . _ - @")])
    return username


def _check_roles(roles: Any) -> list[str]:
    if not isinstance(roles, list) or not all(isinstance(r, str) and is_identifier(r) for r in roles):
        raise ValidationError("invalid roles", errors=[FieldError("roles", "roles.invalid",
                                                                  "a list of role names (lower-case identifiers)")])
    return list(dict.fromkeys(roles))


def check_password_policy(password: Any) -> str:
    """``password`` when it may be chosen by a person: 422 ``password.too_short`` (the same
    answer for every short password, in Chinese and English) under :data:`PASSWORD_MIN`."""
    checked = _check_password(password)
    if len(checked) < PASSWORD_MIN:
        raise ValidationError(f"password too short / 密码太短：至少 {PASSWORD_MIN} 个字符", code="password.too_short",
                              errors=[FieldError("password", "password.too_short",
                                                 f"at least {PASSWORD_MIN} characters / 至少 {PASSWORD_MIN} 个字符")])
    return checked


def _check_password(password: Any) -> str:
    if not isinstance(password, str) or len(password) < 2 or len(password) > 1024:
        raise ValidationError("invalid password", errors=[FieldError("password", "password.invalid",
                                                                     "2 to 1024 characters")])
    return password


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, username: str, password: str, roles: Iterable[str] = (), *, manager: str | None = None,
               active: bool = True, display_name: str | None = None,
               attributes: dict[str, Any] | None = None) -> User:
        """Add a user (409 if the username is taken)."""
        username = _check_username(username)
        pw = _check_password(password)
        role_list = _check_roles(list(roles))
        with self.db.write() as c:
            if c.execute(sa.select(users.c.id).where(users.c.username == username)).first():
                raise Conflict(f"user '{username}' already exists", code="user.exists",
                               errors=[FieldError("username", "unique", "already taken")])
            if manager is not None and c.execute(sa.select(users.c.id).where(users.c.username == manager)).first() is None:
                raise ValidationError(f"manager '{manager}' does not exist",
                                      errors=[FieldError("manager", "user.missing", "no such user")])
            uid = c.execute(users.insert().values(
                username=username, password_hash=hash_password(pw), roles=role_list, manager=manager,
                active=active, display_name=display_name, attributes=attributes or {}, token_epoch=0,
                failed_logins=0, created_at=now()).returning(users.c.id)).scalar_one()
        return self.get(int(uid))

    def get(self, user_id: int) -> User:
        with self.db.read() as c:
            row = c.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
        if row is None:
            raise NotFound(f"no user {user_id}", code="user.not_found")
        return _user(row)

    def by_name(self, username: str) -> User | None:
        with self.db.read() as c:
            row = c.execute(sa.select(users).where(users.c.username == username)).mappings().first()
        return _user(row) if row else None

    def list(self, after_id: int = 0, limit: int = 100) -> builtins.list[User]:
        with self.db.read() as c:
            rows = c.execute(sa.select(users).where(users.c.id > after_id).order_by(users.c.id).limit(limit)).mappings()
            return [_user(r) for r in rows]

    def holders(self, role: str) -> builtins.list[User]:
        """Active users holding ``role``."""
        return [u for u in self.list(limit=100000) if u.active and role in u.roles]

    def update(self, user_id: int, changes: dict[str, Any]) -> User:
        """Change password, roles, manager, active, display_name, attributes."""
        allowed = {"password", "roles", "manager", "active", "display_name", "attributes"}
        unknown = sorted(set(changes) - allowed - {"id", "username"})
        if unknown:
            raise ValidationError("unknown user fields", errors=[FieldError(k, "field.unknown", "not a user field")
                                                                   for k in unknown])
        values: dict[str, Any] = {}
        if "password" in changes:
            values["password_hash"] = hash_password(_check_password(changes["password"]))
        if "roles" in changes:
            values["roles"] = _check_roles(changes["roles"])
        if "manager" in changes:
            values["manager"] = changes["manager"]
        if "active" in changes:
            if not isinstance(changes["active"], bool):
                raise ValidationError("active must be true or false",
                                      errors=[FieldError("active", "type", "expected a boolean")])
            values["active"] = changes["active"]
        for key in ("display_name", "attributes"):
            if key in changes:
                values[key] = changes[key]
        with self.db.write() as c:
            current = c.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
            if current is None:
                raise NotFound(f"no user {user_id}", code="user.not_found")
            if values.get("manager") is not None and c.execute(
                    sa.select(users.c.id).where(users.c.username == values["manager"])).first() is None:
                raise ValidationError("unknown manager", errors=[FieldError("manager", "user.missing", "no such user")])
            if values.get("active") is False or "password_hash" in values:
                values["token_epoch"] = int(current["token_epoch"] or 0) + 1
            if values:
                c.execute(users.update().where(users.c.id == user_id).values(values))
        return self.get(user_id)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches and the user is active, else None."""
        user_row = None
        with self.db.read() as c:
            user_row = c.execute(sa.select(users).where(users.c.username == username)).mappings().first()
        if user_row is None or not user_row["active"]:
            verify_password(_DUMMY, password)  # same cost either way: no username oracle
            return None
        if not verify_password(user_row["password_hash"], password):
            return None
        return _user(user_row)

    def ensure(self, username: str, password: str, roles: Iterable[str], manager: str | None = None) -> User:
        """Create the user unless it exists (used by ``jimu init`` and the demo)."""
        existing = self.by_name(username)
        return existing if existing else self.create(username, password, roles, manager=manager)


_DUMMY = hash_password("not-a-real-password")

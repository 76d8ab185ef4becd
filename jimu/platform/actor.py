"""Who is acting: a user with roles (or the system), and where the request came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Actor", "SYSTEM"]


@dataclass(frozen=True)
class Actor:
    username: str | None
    roles: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    manager: str | None = None
    user_id: int | None = None
    system: bool = False

    def has_role(self, role: str) -> bool:
        return role in self.roles


SYSTEM = Actor(username="system", roles=("admin",), system=True)

"""Optional modules: registries of dotted names where a name may not exist (yet)."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["import_optional"]


def import_optional(name: str) -> ModuleType | None:
    """Import ``name``; None when that module (or a package on its path) does not exist.
    An ImportError raised *inside* an existing module still propagates: a broken module
    must not pass for an absent one."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise

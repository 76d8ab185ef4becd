"""Registers Jimu's own platform-level plugins with the plugin manager."""

from __future__ import annotations

import importlib

import pluggy

from jimu.core.modules import import_optional

__all__ = ["BUILTIN_MODULES", "register_all"]

# Modules of the platform layer that implement hooks. Higher layers register their own
# plugins when they are imported (see jimu.runtime.plugins).
BUILTIN_MODULES: tuple[str, ...] = ("jimu.platform.specs.validate",)

OPTIONAL_MODULES: tuple[str, ...] = (
    "jimu.platform.expressions.plugin",
    "jimu.platform.health.plugin",
    "jimu.platform.ledger.plugin",
)


def register_all(pm: pluggy.PluginManager) -> None:
    for name in BUILTIN_MODULES:
        pm.register(importlib.import_module(name), name=name)
    for name in OPTIONAL_MODULES:
        module = import_optional(name)
        if module is not None:
            pm.register(module, name=name)

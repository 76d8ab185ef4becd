"""The market's hook implementations: the template installer the runtime API calls for
``POST /api/apps {template}`` (the runtime reaches the market only through this hook)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jimu.platform.hooks import hookimpl

__all__ = ["jimu_template_installers"]


@hookimpl
def jimu_template_installers() -> list[Callable[..., Any]]:
    from jimu.templates_market.installer import install

    return [install]

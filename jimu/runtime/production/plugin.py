"""The production plugin: the routing listener, through the ordinary hook."""

from __future__ import annotations

from typing import Any

from jimu.platform.hooks import hookimpl

__all__ = ["jimu_record_listeners"]


@hookimpl
def jimu_record_listeners() -> list[Any]:
    from jimu.runtime.production.routing import LISTENER

    return [LISTENER]

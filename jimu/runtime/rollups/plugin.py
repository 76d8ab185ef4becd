"""Registers the rollup listener through the ordinary ``jimu_record_listeners`` hook."""

from __future__ import annotations

from typing import Any

from jimu.platform.hooks import hookimpl
from jimu.runtime.rollups.listener import LISTENER

__all__ = ["jimu_record_listeners"]


@hookimpl
def jimu_record_listeners() -> list[Any]:
    return [LISTENER]

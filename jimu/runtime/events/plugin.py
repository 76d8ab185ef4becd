"""The outbox's record listener, registered through the ordinary ``jimu_record_listeners``
hook when :mod:`jimu.runtime.events` is imported (the bootstrap imports its tables module,
so every Jimu context built by ``Jimu.open`` has it)."""

from __future__ import annotations

from typing import Any

from jimu.platform.hooks import hookimpl
from jimu.runtime.events.outbox import LISTENER

__all__ = ["jimu_record_listeners"]


@hookimpl
def jimu_record_listeners() -> list[Any]:
    return [LISTENER]

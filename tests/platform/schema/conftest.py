"""What the schema tests share: an app published from a spec on a fresh Jimu."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jimu.runtime.context import Jimu


@contextmanager
def published(db_url: str, app: str, spec: dict[str, Any]) -> Iterator[Jimu]:
    """A Jimu on ``db_url`` with ``app`` created and ``spec`` published (closed after)."""
    jimu = Jimu.open(db_url)
    try:
        jimu.store.create_app(app)
        jimu.store.save_draft(app, spec, author="admin")
        assert jimu.store.publish(app, author="admin").published
        yield jimu
    finally:
        jimu.close()

"""The demo of a template with its 120 days of history, on a database of its own, for the
module-scoped fixtures of the history tests (built once, then only read)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.core import clock as clock_mod
from jimu.platform.db import make_engine
from tests.conftest import PG_URL, pg_schema_url

#: The moment every history test's demo is generated at (the clock stands still there).
NOW = datetime(2026, 3, 18, 15, 30, tzinfo=UTC)


@contextmanager
def lived_demo(backend: str, template: str, tmp_path_factory: pytest.TempPathFactory,
               then: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """``jimu demo TEMPLATE`` with history at :data:`NOW` on ``backend`` ("sqlite" or
    "pg": a schema of its own, dropped afterwards); ``then`` runs on the Jimu before it is
    handed out."""
    from jimu.cli.basics import prepare_demo
    from jimu.runtime.context import Jimu

    schema = None
    if backend == "pg":
        schema = "lived_" + uuid.uuid4().hex[:10]
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = pg_schema_url(schema)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('lived') / 'lived.db'}"
    previous = clock_mod.set_clock(clock_mod.ManualClock(frozen=NOW))
    jimu = Jimu.open(url)
    try:
        prepare_demo(jimu, template, history=True)
        if then is not None:
            then(jimu)
        yield jimu
    finally:
        jimu.close()
        clock_mod.set_clock(previous)
        if schema:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def day_of(value: Any) -> date | None:
    """A stored date (or the date part of a stored timestamp text) as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])

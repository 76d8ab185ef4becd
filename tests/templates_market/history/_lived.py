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


class FefoReplay:
    """The free units of each (item, warehouse, batch) while a test replays an app's stock
    movements in posting order, and the batches a status change took out of use, to judge
    which batches first-expiry-first-out could take at a moment."""

    def __init__(self) -> None:
        self.avail: dict[tuple[int, int, int], int] = {}
        self.quarantined: set[int] = set()

    def count(self, m: Any) -> None:
        """Add movement ``m`` (not a take under test) to the free units of its batch."""
        b = (m.dims or {}).get("batch")
        if b is None:
            return
        k = (int(m.dims["item"]), int(m.dims["warehouse"]), int(b))
        self.avail[k] = self.avail.get(k, 0) + m.d_on_hand - m.d_reserved
        if m.kind == "quarantine":  # today's status: quarantined by the nightly job at the end
            self.quarantined.add(int(b))

    def eligible(self, item: int, warehouse: int, day: date, expiry: dict[int, date | None],
                 status: dict[int, str]) -> list[tuple[int, int]]:
        """(batch, free units) that FEFO could take at ``warehouse`` on ``day``, in its order:
        with stock, in use then (not quarantined since, not rejected), not expired that day."""
        from jimu.platform.ledger.batches import fefo_order

        return sorted(((b, q) for (it, w, b), q in self.avail.items() if it == item and w == warehouse and q > 0
                       and b not in self.quarantined and status[b] != "rejected"
                       and (expiry[b] is None or expiry[b] >= day)),
                      key=lambda bq: fefo_order(bq[0], expiry[bq[0]]))

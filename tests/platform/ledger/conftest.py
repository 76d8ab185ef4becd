"""Fixtures of the ledger tests: a database with the system tables and a stock ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jimu.core import clock as clock_mod


@pytest.fixture
def ldb(system_db):
    """The backend database with Jimu's system tables (ledger tables included)."""
    return system_db


@pytest.fixture
def frozen_clock():
    """A clock standing still at 2026-03-01 09:00 UTC; advance it explicitly."""
    clock = clock_mod.ManualClock(frozen=datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    previous = clock_mod.set_clock(clock)
    yield clock
    clock_mod.set_clock(previous)

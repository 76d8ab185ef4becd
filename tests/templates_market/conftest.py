"""Fixtures for the market tests: a Jimu per backend, with the test-only CBUs on the path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURE_CBUS = Path(__file__).parent / "fixtures" / "cbus"


@pytest.fixture
def jimu(db_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A bootstrapped Jimu (a copy of one bootstrapped once per worker: tests.dbcache)."""
    from tests.dbcache import open_for

    yield from open_for(request, db_url, {}, cbu_paths=[str(FIXTURE_CBUS)])

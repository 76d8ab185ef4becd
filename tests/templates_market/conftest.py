"""Fixtures for the market tests: a Jimu per backend, with the test-only CBUs on the path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURE_CBUS = Path(__file__).parent / "fixtures" / "cbus"


@pytest.fixture
def jimu(db_url: str) -> Iterator[Any]:
    from jimu.runtime.context import Jimu

    j = Jimu.open(db_url, cbu_paths=[str(FIXTURE_CBUS)])
    yield j
    j.close()

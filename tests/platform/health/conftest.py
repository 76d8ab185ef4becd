"""Makes ``health_fixtures`` (this folder's shared fixtures module) importable from the
test modules under either pytest import mode."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

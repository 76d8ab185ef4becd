"""Comparing evaluator and SQL results across back ends."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any


def same(py: Any, sq: Any, *, sqlite: bool) -> bool:
    """Evaluator value == SQL value, allowing SQLite's floating-point decimals (15
    significant digits) and PostgreSQL's longer division scale."""
    if py is None or sq is None:
        return py is None and sq is None
    if isinstance(py, bool) or isinstance(sq, bool):
        return bool(py) == bool(sq) and isinstance(sq, bool | int)
    if isinstance(py, int | Decimal) and isinstance(sq, int | float | Decimal):
        a = Decimal(py)
        b = Decimal(repr(sq)) if isinstance(sq, float) else Decimal(sq)
        tol = max(abs(a), abs(b)) * Decimal("1e-13" if sqlite else "1e-18") + Decimal("1e-12")
        return abs(a - b) <= tol
    if isinstance(py, datetime) and isinstance(sq, datetime):
        return py == sq
    return bool(py == sq)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from jimu.core import clock
from jimu.core.errors import (
    Conflict,
    ExpressionError,
    FieldError,
    JimuError,
    NotFound,
    PermissionDenied,
    PreconditionRequired,
    StockConflict,
    Unauthenticated,
    ValidationError,
    VersionConflict,
)
from jimu.core.ids import is_identifier, new_uid
from jimu.core.money import DecimalInputError, decimal_str, quantize, to_decimal


@pytest.mark.parametrize(
    "cls,status",
    [(ValidationError, 422), (NotFound, 404), (Conflict, 409), (VersionConflict, 409), (StockConflict, 409),
     (PermissionDenied, 403), (Unauthenticated, 401), (PreconditionRequired, 428)],
)
def test_errors_map_to_status_and_problem(cls: type[JimuError], status: int) -> None:
    err = cls("bad thing", errors=[FieldError("qty", "type", "expected a number")])
    body = err.problem()
    assert body["status"] == status == err.status
    assert body["detail"] == "bad thing"
    assert body["errors"] == [{"field": "qty", "code": "type", "message": "expected a number"}]
    assert set(body) >= {"type", "title", "status", "detail", "errors"}


def test_expression_error_caret() -> None:
    err = ExpressionError("unexpected ')'", position=4, source="a + )", hint="remove it")
    assert err.caret().splitlines() == ["a + )", "    ^"]
    assert err.problem()["position"] == 4 and "remove it" in str(err)


def test_to_decimal_is_exact_and_strict() -> None:
    assert to_decimal("12.50") == Decimal("12.50")
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal("1,234.5") == Decimal("1234.5")
    for bad in ("abc", True, "NaN", "inf", None, [1]):
        with pytest.raises(DecimalInputError):
            to_decimal(bad)


def test_quantize_half_up() -> None:
    assert quantize(Decimal("2.345"), 2) == Decimal("2.35")
    assert quantize(Decimal("-2.345"), 2) == Decimal("-2.35")
    assert decimal_str(Decimal("1E+3")) == "1000"
    assert decimal_str(None) is None


def test_manual_clock_moves(manual_clock: clock.ManualClock) -> None:
    start = clock.now()
    manual_clock.advance(timedelta(hours=48))
    assert clock.now() - start >= timedelta(hours=48)
    frozen = clock.ManualClock(frozen=datetime(2026, 1, 1, tzinfo=UTC))
    assert frozen.now() == datetime(2026, 1, 1, tzinfo=UTC)
    frozen.advance(timedelta(days=1))
    assert frozen.now().day == 2


def test_ids() -> None:
    assert is_identifier("cost_price") and not is_identifier("Cost") and not is_identifier("1a")
    assert new_uid() != new_uid()

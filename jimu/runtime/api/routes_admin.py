"""Admin routes: the test clock (only with ``JIMU_TEST_CLOCK=1``)."""

from __future__ import annotations

import os
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from jimu.core import clock
from jimu.core.errors import FieldError, NotFound, ValidationError
from jimu.platform.values import parse_duration
from jimu.runtime.api.auth import jimu_of, require_admin
from jimu.runtime.api.util import json_response, read_json
from jimu.runtime.due import run_due

__all__ = ["routes", "test_clock_enabled"]


def test_clock_enabled() -> bool:
    """Whether the server runs with the manual test clock (``JIMU_TEST_CLOCK=1``)."""
    return os.environ.get("JIMU_TEST_CLOCK") == "1"


async def advance_clock(request: Request) -> Response:
    """POST /api/admin/clock {"advance": "PT48H"} (admin): move time, run what falls due."""
    if not test_clock_enabled():
        raise NotFound("no such route", code="route.not_found")
    require_admin(request)
    body = await read_json(request, allowed=("advance",))
    raw = body.get("advance")
    try:
        if not isinstance(raw, str):
            raise ValueError("expected an ISO 8601 duration such as PT48H")
        seconds = parse_duration(raw)
    except ValueError as exc:
        raise ValidationError(str(exc), errors=[FieldError("advance", "duration.invalid", str(exc))]) from None
    current = clock.get_clock()
    if not isinstance(current, clock.ManualClock):
        current = clock.ManualClock()
        clock.set_clock(current)
    at = current.advance(timedelta(seconds=seconds))
    ran = run_due(jimu_of(request), at)
    return json_response({"now": at.isoformat(), "ran": ran})


def routes() -> list[BaseRoute]:
    """The admin routes."""
    return [Route("/api/admin/clock", advance_clock, methods=["POST"])]

"""An event the stream cannot render for a caller is skipped, and said so in the log
(issue 17's rule: no swallowed exceptions)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from jimu.runtime.events import sse


def test_an_event_that_fails_to_render_is_skipped_and_logged(monkeypatch: Any, caplog: Any) -> None:
    """Mutation tried: ``render_frame`` without its ``log.warning`` (the bare ``return
    None`` it had): the event disappears from the stream with no trace; this test fails on
    the missing record."""
    def broken(_policy: Any, _row: Any) -> Any:
        raise KeyError("lines")

    monkeypatch.setattr(sse, "render_event", broken)
    policy: Any = SimpleNamespace(app="shop", actor=SimpleNamespace(username="sales"))
    with caplog.at_level(logging.WARNING, logger="jimu.runtime.events.sse"):
        assert sse.render_frame(policy, {"id": 7, "kind": "record.updated"}, frozenset({"record.updated"})) is None
    [rec] = [r for r in caplog.records if r.name == "jimu.runtime.events.sse"]
    assert "event 7 of app shop" in rec.getMessage() and rec.exc_info is not None

"""Errors that used to be swallowed by a bare ``except Exception`` (issue 17): each is
now either a specific, explained exception or logged and raised."""

from __future__ import annotations

import logging
import resource
from typing import Any

import pytest

from jimu.core.errors import NotFound
from jimu.platform.actor import SYSTEM
from jimu.platform.specs import AppSpec


class _Service:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise self.exc


class _Rt:
    name = "shop"


def test_a_dangling_link_reads_null_but_a_broken_lookup_raises() -> None:
    """``records/computed.py``: only a missing record (NotFound) reads as NULL. Mutation:
    put back ``except Exception: return None`` and the database error is hidden as NULL."""
    from jimu.runtime.records.computed import expression_env

    env = expression_env(_Service(NotFound("gone")), None, _Rt(), SYSTEM).get()  # type: ignore[arg-type]
    assert env.lookup is not None and env.lookup("item", 1) is None
    env = expression_env(_Service(RuntimeError("db down")), None, _Rt(), SYSTEM).get()  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="db down"):
        env.lookup("item", 1)


def test_workflow_check_does_not_hide_a_scanner_crash(monkeypatch: Any, caplog: Any) -> None:
    """``designer/logic.py``: the scanner's findings are advisory, its crash is not.
    Mutation: put back ``except Exception: pass`` and the check answers as if all were well."""
    import jimu.platform.health as health
    from jimu.designer.logic import workflow_check

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("rule bug")

    monkeypatch.setattr(health, "run_scan", crash)
    spec = AppSpec.model_validate({"name": "crm", "entities": [
        {"name": "visit", "fields": [{"name": "amount", "type": "money"}]}]})
    wf = {"name": "visit", "entity": "visit", "states": [{"name": "draft", "initial": True},
                                                         {"name": "done", "final": True}],
          "transitions": [{"name": "finish", "from": ["draft"], "to": "done"}]}
    with caplog.at_level(logging.ERROR, logger="jimu.designer"), pytest.raises(RuntimeError, match="rule bug"):
        workflow_check(spec, wf)
    assert "health scan of workflow visit failed" in caplog.text


def test_a_broken_expression_plugin_is_raised_and_logged(monkeypatch: Any, caplog: Any) -> None:
    """``expressions/functions.py``: a plugin whose hook raises is named in the log and
    raised, not silently dropped (its functions would vanish from every expression).
    Mutation: put back ``except Exception: extra = []`` and ``registry()`` returns the
    built-ins as if nothing happened."""
    import jimu.platform.hooks as hooks
    from jimu.platform.expressions.functions import registry

    def broken(name: str) -> list[Any]:
        raise ImportError("plugin module missing")

    monkeypatch.setattr(hooks, "collect", broken)
    with caplog.at_level(logging.ERROR, logger="jimu.expressions"), pytest.raises(ImportError):
        registry()
    assert "expression-function plugin failed" in caplog.text


def test_a_refused_resource_limit_is_reported_not_ignored() -> None:
    """``sandbox/worker.py``: a limit the kernel refuses comes back as text (the worker
    reports it in its ready message; the parent logs it). Mutation: put back
    ``except (ValueError, OSError): pass`` and the refusal is invisible (None)."""
    from jimu.runtime.sandbox.worker import _limit

    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    try:
        assert _limit(resource.RLIMIT_CORE, 10, 5) is not None  # soft above hard: refused
        assert _limit(resource.RLIMIT_CORE, soft, hard) is None
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


def test_sandbox_workers_report_their_limits() -> None:
    """The ready message carries the limits the worker could not apply (none here)."""
    from jimu.runtime.sandbox import SandboxPool

    pool = SandboxPool(size=1)
    try:
        [worker] = list(pool._all)
        assert worker.ready and worker.unenforced == {}
        assert pool.run("result = 2 + 2").result == 4
    finally:
        pool.close()

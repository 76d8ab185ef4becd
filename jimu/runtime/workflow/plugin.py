"""The workflow engine's plugins: its spec validator and its record listener.

Registered through the ordinary hooks (``jimu_spec_validators``, ``jimu_record_listeners``)
when :mod:`jimu.runtime.workflow` is imported; the platform never imports the runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jimu.core import clock
from jimu.platform.hooks import hookimpl

__all__ = ["WorkflowListener", "LISTENER", "ensure_listener", "jimu_spec_validators", "jimu_record_listeners"]


class WorkflowListener:
    """Inside every record write: ``on: create`` ledger postings, timers scheduled when a
    record enters a state and cancelled when it leaves (or is deleted)."""

    def after_write(self, ev: Any) -> None:
        cancel_jobs, run_create_postings, on_state_change = _engine()
        wf = ev.app.workflow_for(ev.entity.name)
        if ev.action == "create":
            run_create_postings(ev.conn, ev.app, ev.entity, ev.after, ev.actor)
            if wf is not None and wf.timers:
                on_state_change(ev.conn, ev.app.name, wf, ev.after, None, ev.after.get(wf.state_field),
                                clock.now(), created=True)
        elif ev.action == "delete":
            cancel_jobs(ev.conn, app=ev.app.name, entity=ev.entity.name, record=ev.record_id)
        elif wf is not None and wf.timers and ev.before is not None and ev.after is not None:
            old, new = ev.before.get(wf.state_field), ev.after.get(wf.state_field)
            if old != new:
                on_state_change(ev.conn, ev.app.name, wf, ev.after, old, new, clock.now())


_ENGINE: tuple[Any, ...] = ()


def _engine() -> tuple[Any, ...]:
    """(cancel_jobs, run_create_postings, on_state_change), imported on the first write (the
    runtime modules import this plugin module) and kept: every record write calls the
    listener, and an import statement is a lookup each time."""
    global _ENGINE
    if not _ENGINE:
        from jimu.runtime.scheduler.jobs import cancel_jobs
        from jimu.runtime.workflow.postings import run_create_postings
        from jimu.runtime.workflow.timers import on_state_change

        _ENGINE = (cancel_jobs, run_create_postings, on_state_change)
    return _ENGINE


LISTENER = WorkflowListener()


def ensure_listener(records: Any) -> None:
    """Add the listener to a RecordService built before this plugin was registered."""
    if not any(isinstance(x, WorkflowListener) for x in records.listeners):
        records.listeners.append(LISTENER)


@hookimpl
def jimu_spec_validators() -> list[Callable[..., Any]]:
    from jimu.runtime.workflow.validate import workflow_findings

    return [workflow_findings]


@hookimpl
def jimu_record_listeners() -> list[Any]:
    return [LISTENER]

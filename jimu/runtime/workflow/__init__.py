"""The workflow engine: transitions, approvals, inbox, timers and document postings
(DESIGN sections 6 and 7, contract section 15).

Importing this package registers the engine's plugins (spec validator, record listener)
through :func:`jimu.platform.hooks.register`.
"""

from jimu.platform import hooks as _hooks
from jimu.runtime.workflow import plugin as _plugin
from jimu.runtime.workflow.approvals import add_delegation
from jimu.runtime.workflow.engine import WorkflowEngine, vote_kind
from jimu.runtime.workflow.inbox import list_inbox, mark_read
from jimu.runtime.workflow.validate import workflow_findings

_hooks.register(_plugin, name="jimu.runtime.workflow.plugin")

__all__ = ["WorkflowEngine", "add_delegation", "list_inbox", "mark_read", "vote_kind", "workflow_findings"]

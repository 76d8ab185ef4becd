"""Sandboxed user scripts: RestrictedPython in pre-started worker processes with CPU,
memory and wall-clock limits, no database credentials, record access only through a
narrow pipe API checked in the parent by the triggering user's AccessPolicy."""

from jimu.runtime.sandbox.guards import ALLOWED_IMPORTS, ScriptError, compile_script
from jimu.runtime.sandbox.pool import SandboxPool, ScriptResult, get_pool, shutdown_pool

__all__ = ["ALLOWED_IMPORTS", "SandboxPool", "ScriptError", "ScriptResult", "compile_script", "get_pool",
           "shutdown_pool"]

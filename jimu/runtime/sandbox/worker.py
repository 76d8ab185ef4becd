"""The sandbox worker process: runs RestrictedPython scripts under resource limits.

Started as ``python -I -m jimu.runtime.sandbox.worker FD MEMORY_MB`` (a fresh interpreter:
nothing of the parent's memory, no database engine, an empty environment, scrubbed again
at start). Limits:
``RLIMIT_AS`` (address space = baseline + the memory budget), ``RLIMIT_CPU`` re-armed
before each run (the kernel sends SIGXCPU, which ends the process: the parent reports
the breach and replaces the worker), ``RLIMIT_NPROC`` 0 and ``RLIMIT_NOFILE`` small so a
script cannot fork or open files even if it found a way to call the OS. The only channel
out is the pipe: the script's ``api`` object sends get/list/create/update requests that
the parent checks with the triggering user's AccessPolicy.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
import time
from typing import Any

from jimu.runtime.sandbox import wire

__all__ = ["worker_main", "ScriptApi"]


class ScriptApi:
    """What a script sees as ``api``: record access as the triggering user."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _call(self, method: str, *args: Any) -> Any:
        self._conn.send_bytes(wire.dumps({"op": "call", "method": method, "args": list(args)}))
        reply = wire.loads(self._conn.recv_bytes(wire.MAX_MESSAGE))
        if reply.get("op") == "reply_error":
            from jimu.runtime.sandbox.guards import ScriptError

            raise ScriptError("api", str(reply.get("message")))
        return reply.get("value")

    def get(self, entity: str, record_id: Any) -> Any:
        """One record the user may read."""
        return self._call("get", entity, record_id)

    def list(self, entity: str, filter: str | None = None, limit: int = 50) -> Any:
        """Records the user may read (``filter`` is an expression)."""
        return self._call("list", entity, filter, limit)

    def create(self, entity: str, data: dict[str, Any]) -> Any:
        """Create a record as the user."""
        return self._call("create", entity, data)

    def update(self, entity: str, record_id: Any, data: dict[str, Any]) -> Any:
        """Update a record as the user."""
        return self._call("update", entity, record_id, data)


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 512 * 1024 * 1024


def _limit(kind: int, soft: int, hard: int | None = None) -> str | None:
    """Apply one resource limit; the error text when the kernel refused it (the worker
    has no logging of its own: the parent logs what it reports in its ready message)."""
    try:
        resource.setrlimit(kind, (soft, soft if hard is None else hard))
    except (ValueError, OSError) as exc:  # e.g. gVisor or a hard limit already lower
        return f"{type(exc).__name__}: {exc}"
    return None


class _Watchdog:
    """CPU budget enforced from inside as well: some kernels and sandboxes (gVisor) do
    not enforce RLIMIT_CPU. A daemon thread compares process CPU time with the budget of
    the current run and ends the process with SIGXCPU (the GIL switches every few ms, so
    it runs even during a tight Python loop; a long C call is caught by the parent's
    wall clock)."""

    def __init__(self) -> None:
        self.limit: float | None = None
        threading.Thread(target=self._run, name="cpu-watchdog", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(0.02)
            limit = self.limit
            if limit is not None and time.process_time() > limit:
                os.kill(os.getpid(), signal.SIGXCPU)
                time.sleep(0.5)
                os.kill(os.getpid(), signal.SIGKILL)


def worker_main(conn: Any, memory_mb: int) -> None:
    """The worker loop (entry point of the spawned process)."""
    keep = {"PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED"}
    for key in list(os.environ):
        if key not in keep:
            del os.environ[key]
    import datetime  # noqa: F401 - warm the allow-listed modules before the limits
    import decimal  # noqa: F401
    import math  # noqa: F401
    import re  # noqa: F401

    from jimu.runtime.sandbox.guards import ScriptError, compile_script, guarded_globals

    watchdog = _Watchdog()  # before RLIMIT_NPROC: a thread counts as a process on Linux
    refused = {name: err for name, err in (
        ("RLIMIT_NPROC", _limit(resource.RLIMIT_NPROC, 0)),
        ("RLIMIT_NOFILE", _limit(resource.RLIMIT_NOFILE, 16)),
        ("RLIMIT_CORE", _limit(resource.RLIMIT_CORE, 0)),
        ("RLIMIT_AS", _limit(resource.RLIMIT_AS, _vm_size() + memory_mb * 1024 * 1024))) if err}
    api = ScriptApi(conn)
    conn.send_bytes(wire.dumps({"op": "ready", "unenforced": refused}))
    while True:
        try:
            msg = wire.loads(conn.recv_bytes(wire.MAX_MESSAGE))
        except (EOFError, OSError):
            return
        if msg.get("op") != "run":
            continue
        used = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(used.ru_utime + used.ru_stime + float(msg.get("cpu", 1)) + 0.999)
        _limit(resource.RLIMIT_CPU, soft, soft + 1)  # refused or not, the watchdog enforces the budget
        watchdog.limit = time.process_time() + float(msg.get("cpu", 1))
        reply: dict[str, Any]
        try:
            code = compile_script(str(msg["source"]))
            g = guarded_globals({**dict(msg.get("inputs") or {}), "api": api})
            exec(code, g)  # noqa: S102 - RestrictedPython byte code with guarded globals
            printed = g["_print"]() if "_print" in g else ""
            reply = {"op": "done", "result": g.get("result"), "printed": printed}
        except ScriptError as exc:
            reply = {"op": "error", "code": exc.code, "message": exc.message}
        except MemoryError:
            reply = {"op": "error", "code": "memory", "message": "the script exceeded its memory limit", "exit": True}
        except RecursionError:
            reply = {"op": "error", "code": "runtime", "message": "RecursionError: maximum recursion depth exceeded"}
        except Exception as exc:  # noqa: BLE001 - the script's own error, reported to the parent
            reply = {"op": "error", "code": "runtime", "message": f"{type(exc).__name__}: {exc}"[:2000]}
        watchdog.limit = None
        try:
            data = wire.dumps(reply)
        except (TypeError, ValueError) as exc:
            data = wire.dumps({"op": "error", "code": "runtime", "message": f"result cannot be returned: {exc}"})
        conn.send_bytes(data)
        if reply.get("exit"):
            sys.exit(3)


if __name__ == "__main__":
    from multiprocessing.connection import Connection

    worker_main(Connection(int(sys.argv[1])), int(sys.argv[2]))

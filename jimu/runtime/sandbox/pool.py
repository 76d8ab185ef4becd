"""A pool of pre-started sandbox workers and the parent side of the pipe protocol.

``SandboxPool.run(source, inputs, handler)`` borrows an idle worker, sends the script,
answers the script's ``api`` calls with ``handler(method, args)`` (the caller enforces
permissions there, see :mod:`jimu.runtime.sandbox.api`), and returns a
:class:`ScriptResult`. A worker that breaches a limit (wall clock: the parent kills it;
CPU: SIGXCPU; memory: MemoryError) or dies is replaced by a fresh one, and the caller
gets a :class:`ScriptError` with a clear code; the server process is never affected.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from jimu.runtime.sandbox import wire
from jimu.runtime.sandbox.guards import ScriptError
from jimu.runtime.sandbox.limits import MAX_CPU, MAX_WALL

__all__ = ["SandboxPool", "ScriptResult", "Handler", "get_pool", "shutdown_pool"]

log = logging.getLogger("jimu.sandbox")
Handler = Callable[[str, list[Any]], Any]


@dataclass
class ScriptResult:
    """What a script left in ``result``, what it printed and how long it took."""

    result: Any
    printed: str
    ms: float


class _Worker:
    """One worker: a fresh ``python -I -m jimu.runtime.sandbox.worker`` with an empty
    environment (no credentials, nothing of the parent's memory, no re-import of the
    parent's ``__main__`` as multiprocessing's spawn would do), talking over a socket pair
    framed by ``multiprocessing.connection``."""

    def __init__(self, memory_mb: int) -> None:
        ours, theirs = socket.socketpair()
        env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "jimu.runtime.sandbox.worker", str(theirs.fileno()), str(memory_mb)],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL, close_fds=True)
        theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False
        self.unenforced: dict[str, str] = {}  # limits the worker reported it could not apply

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the worker has started and applied its limits."""
        if self.ready:
            return
        if not self.conn.poll(timeout):
            raise ScriptError("crashed", "the sandbox worker did not start")
        try:
            msg = wire.loads(self.conn.recv_bytes(wire.MAX_MESSAGE))
        except (EOFError, OSError, ValueError):
            raise ScriptError("crashed", "the sandbox worker did not start") from None
        if msg.get("op") != "ready":
            raise ScriptError("crashed", "the sandbox worker sent an unknown message")
        self.unenforced = dict(msg.get("unenforced") or {})
        if self.unenforced:
            log.warning("sandbox worker %s runs without limits the kernel refused: %s", self.proc.pid,
                        "; ".join(f"{k} ({v})" for k, v in sorted(self.unenforced.items())))
        self.ready = True

    def is_alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.is_alive():
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.conn.close()


class SandboxPool:
    """``size`` pre-started workers with per-run CPU (seconds), wall-clock (seconds) and
    memory (MiB) limits."""

    def __init__(self, size: int = 2, *, cpu: float = 1.0, wall: float = 5.0, memory_mb: int = 256) -> None:
        self.size = size
        self.cpu = cpu
        self.wall = wall
        self.memory_mb = memory_mb
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self.replaced = 0
        started = [self._spawn() for _ in range(size)]
        for w in started:
            w.wait_ready()
            self._idle.put(w)

    def _spawn(self) -> _Worker:
        w = _Worker(self.memory_mb)
        with self._lock:
            self._all.add(w)
        return w

    def _replace(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            self._all.discard(w)
            self.replaced += 1
        self._idle.put(self._spawn())

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.kill()

    def run(self, source: str, inputs: dict[str, Any] | None = None, handler: Handler | None = None, *,
            cpu: float | None = None, wall: float | None = None) -> ScriptResult:
        """Run ``source`` in a worker; raises ScriptError (compile, forbidden, runtime, api,
        timeout, cpu, memory, crashed). ``cpu`` and ``wall`` never exceed the hard maxima
        of :mod:`jimu.runtime.sandbox.limits`, whatever the caller asks."""
        try:
            w = self._idle.get(timeout=30)
        except queue.Empty:
            raise ScriptError("busy", "no sandbox worker is free; try again") from None
        try:
            w.wait_ready()
        except ScriptError:
            self._replace(w)
            raise
        started = time.perf_counter()
        wall_s = min(float(wall or self.wall), MAX_WALL)
        cpu_s = min(float(cpu or self.cpu), MAX_CPU)
        deadline = started + wall_s
        healthy = True
        try:
            w.conn.send_bytes(wire.dumps({"op": "run", "source": source, "inputs": inputs or {},
                                          "cpu": cpu_s}))
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or not w.conn.poll(remaining):
                    healthy = False
                    raise ScriptError("timeout", f"the script ran longer than {wall_s:g} s and was stopped")
                try:
                    msg = wire.loads(w.conn.recv_bytes(wire.MAX_MESSAGE))
                except (EOFError, OSError, ValueError):
                    healthy = False
                    raise self._death(w) from None
                op = msg.get("op")
                if op == "call":
                    self._answer(w, handler, msg)
                elif op == "done":
                    return ScriptResult(msg.get("result"), str(msg.get("printed") or ""),
                                        (time.perf_counter() - started) * 1000)
                elif op == "error":
                    if msg.get("exit"):
                        healthy = False
                    raise ScriptError(str(msg.get("code") or "runtime"), str(msg.get("message")))
                else:
                    healthy = False
                    raise ScriptError("crashed", "the sandbox worker sent an unknown message")
        finally:
            if healthy and w.is_alive():
                self._idle.put(w)
            else:
                self._replace(w)

    def _answer(self, w: _Worker, handler: Handler | None, msg: dict[str, Any]) -> None:
        try:
            if handler is None:
                raise ScriptError("api", "this script has no record access")
            value = handler(str(msg.get("method")), list(msg.get("args") or []))
            w.conn.send_bytes(wire.dumps({"op": "reply", "value": value}))
        except Exception as exc:  # noqa: BLE001 - the error goes back to the script
            text = getattr(exc, "message", None) or str(exc)
            w.conn.send_bytes(wire.dumps({"op": "reply_error", "message": f"{type(exc).__name__}: {text}"[:1000]}))

    def _death(self, w: _Worker) -> ScriptError:
        try:
            code = w.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        if code == -signal.SIGXCPU or code == -signal.SIGKILL:
            return ScriptError("cpu", "the script used more CPU time than allowed and was stopped")
        if code == 3:
            return ScriptError("memory", "the script exceeded its memory limit")
        return ScriptError("crashed", f"the sandbox worker ended unexpectedly (exit {code})")


_pool: SandboxPool | None = None
_pool_lock = threading.Lock()


def get_pool(**kw: Any) -> SandboxPool:
    """The process-wide pool (started on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = SandboxPool(**kw)
        return _pool


def shutdown_pool() -> None:
    """Stop the process-wide pool."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool = None

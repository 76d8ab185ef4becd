"""Idle server CPU (issue 24: < 0.5 % of a core over 60 s).

Starts each server as its own process on a loopback port, waits for ``/api/health`` and a
settling period, then reads the process tree's CPU time (``utime + stime`` from
``/proc/<pid>/stat``, children included) before and after ``--seconds`` with no request.
Compared, in the same run, to a bare uvicorn + Starlette app (one route, no database): the
cost of the interpreter and the event loop alone.

Servers: ``jimu demo`` (standard template, SQLite); ``jimu serve`` on PostgreSQL
(``JIMU_TEST_PG_URL``, a fresh schema, the same template installed) with one worker and
with ``--workers 2``; and ``jimu demo`` again with one open SSE stream (the live hub's
threads running). Prints one JSON line per server:
``{"figure", "value" (fraction of one core), "unit", "baseline", "baseline_value", "ratio",
"cpu_seconds", "seconds"}``.

``python benchmarks/bench_idle.py [--seconds 60] [--only sqlite,pg,sse,workers]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import drop_pg_schema, emit, fresh_pg_schema  # noqa: E402

from jimu.runtime.server import free_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
BARE_APP = textwrap.dedent("""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def health(request):
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/api/health", health)])
""")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid``'s process tree so far."""
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / TICK


@contextlib.contextmanager
def server(args: list[str], folder: Path, env: dict[str, str], timeout: float = 300.0) -> Iterator[tuple[int, str]]:
    """Run ``args`` (``{port}`` substituted) in ``folder``; yields (pid, base URL) once
    ``/api/health`` answers; stops the process tree afterwards."""
    port = free_port()
    log = open(folder / "server.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([a.format(port=port) for a in args], cwd=folder, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args[:4]} exited: {(folder / 'server.log').read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            if time.time() > deadline:
                raise RuntimeError(f"{args[:4]} did not start")
            time.sleep(0.3)
        yield proc.pid, base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def idle_fraction(pid: int, seconds: float, settle: float) -> tuple[float, float]:
    """(fraction of one core, CPU seconds) used by ``pid``'s tree over ``seconds`` of
    quiet, after ``settle`` seconds (start-up work: first checkpoints, periodic jobs)."""
    time.sleep(settle)
    t0, c0 = time.monotonic(), cpu_seconds(pid)
    time.sleep(seconds)
    t1, c1 = time.monotonic(), cpu_seconds(pid)
    return (c1 - c0) / (t1 - t0), c1 - c0


@contextlib.contextmanager
def sse_stream(base: str, app: str) -> Iterator[None]:
    """One open SSE stream (admin) of ``app`` while inside."""
    stop = threading.Event()
    ready = threading.Event()

    def follow() -> None:
        with httpx.Client(base_url=base, timeout=None) as c:
            r = c.post("/api/auth/token", json={"username": "admin", "password": "admin"})
            r.raise_for_status()
            token = r.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            with c.stream("GET", f"/api/apps/{app}/events", headers=headers) as resp:
                resp.raise_for_status()
                ready.set()
                for _ in resp.iter_raw():
                    if stop.is_set():
                        break

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    if not ready.wait(30):
        raise RuntimeError("SSE stream did not open")
    try:
        yield
    finally:
        stop.set()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="idle window per server")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds after start-up before measuring")
    ap.add_argument("--only", default="sqlite,sse,pg,workers", help="which Jimu servers to measure")
    args = ap.parse_args()
    only = set(args.only.split(","))
    py = sys.executable
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    folder = Path(tempfile.mkdtemp(prefix="jimu-bench-idle-"))
    try:
        (folder / "bare.py").write_text(BARE_APP)
        with server([py, "-m", "uvicorn", "bare:app", "--port", "{port}", "--log-level", "warning"], folder, env) as (pid, _):
            base_frac, base_cpu = idle_fraction(pid, args.seconds, args.settle)
        emit("idle CPU, bare uvicorn + Starlette", base_frac, "fraction of a core", cpu_seconds=round(base_cpu, 3),
             seconds=args.seconds)

        def report(figure: str, frac: float, cpu: float) -> None:
            emit(figure, frac, "fraction of a core", "bare uvicorn + Starlette", base_frac,
                 cpu_seconds=round(cpu, 3), seconds=args.seconds, target="< 0.005")

        demo = [py, "-m", "jimu", "demo", "--port", "{port}"]
        if "sqlite" in only or "sse" in only:
            with server(demo, folder, env) as (pid, base):
                if "sqlite" in only:
                    report("idle CPU, jimu demo (SQLite)", *idle_fraction(pid, args.seconds, args.settle))
                if "sse" in only:
                    with sse_stream(base, "standard"):
                        report("idle CPU, jimu demo (SQLite), one open SSE stream",
                               *idle_fraction(pid, args.seconds, 1.0))
        made = fresh_pg_schema() if ("pg" in only or "workers" in only) else None
        if made is not None:
            url, schema = made
            try:
                pg_env = {**env, "JIMU_DATABASE_URL": url}
                subprocess.run([py, "-m", "jimu", "demo", "--no-serve"], cwd=folder, env=pg_env, check=True,
                               stdout=subprocess.DEVNULL)
                if "pg" in only:
                    with server([py, "-m", "jimu", "serve", "--port", "{port}"], folder, pg_env) as (pid, base):
                        report("idle CPU, jimu serve (PostgreSQL)", *idle_fraction(pid, args.seconds, args.settle))
                        with sse_stream(base, "standard"):
                            report("idle CPU, jimu serve (PostgreSQL), one open SSE stream",
                                   *idle_fraction(pid, args.seconds, 1.0))
                if "workers" in only:
                    with server([py, "-m", "uvicorn", "bare:app", "--workers", "2", "--port", "{port}",
                                 "--log-level", "warning"], folder, env) as (pid, _):
                        bare2, bare2_cpu = idle_fraction(pid, args.seconds, args.settle)
                    emit("idle CPU, bare uvicorn + Starlette --workers 2 (whole process tree)", bare2,
                         "fraction of a core", cpu_seconds=round(bare2_cpu, 3), seconds=args.seconds)
                    with server([py, "-m", "jimu", "serve", "--workers", "2", "--port", "{port}"], folder,
                                pg_env) as (pid, _):
                        frac, cpu = idle_fraction(pid, args.seconds, args.settle)
                    emit("idle CPU, jimu serve --workers 2 (PostgreSQL, whole process tree)", frac,
                         "fraction of a core", "bare uvicorn + Starlette --workers 2", bare2,
                         cpu_seconds=round(cpu, 3), seconds=args.seconds, target="< 0.005 per worker")
            finally:
                drop_pg_schema(schema)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

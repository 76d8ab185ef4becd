"""CPU time per request of the API's list-50 and create, in process, against the peers'
hand-written Starlette + SQLAlchemy Core baseline measured the same way in the same process.

On a shared machine wall-clock throughput measures the neighbours; the CPU the process
spends per request (``time.process_time``: every thread, so Jimu's event dispatcher and
scheduler woken by the commits are counted) moves much less. Both apps are driven by the same
minimal ASGI caller (no socket, no HTTP parser: what uvicorn adds is the same on both
sides and is left out) on the event loop the server runs on (uvloop), one request at a time, the two sides alternating request by
request so a change of the machine's load weighs on both alike:

  python benchmarks/bench_api_cpu.py [--pg] [--n 2000] [--profile list|create] [--no-background]

The caller is the non-admin ``clerk`` of ``bench_api.py`` (row filter ``owner == $user``,
a masked ``cost``). ``--pg`` serves Jimu on a fresh schema of ``JIMU_TEST_PG_URL`` (the
baseline stays on SQLite, its fixed yardstick; PostgreSQL's own CPU is in another process
and not counted). ``--profile OP`` prints a cProfile (this thread's CPU) of Jimu's OP
requests to stderr.
Prints one JSON line per op: ``{"figure", "value" (Jimu µs CPU per request),
"baseline_value" (the baseline's), "ratio" (Jimu / baseline: lower is better),
"per_core_ratio" (baseline / Jimu: the throughput per core ratio this implies), ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import json
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_schema, emit, fresh_pg_schema  # noqa: E402
from bench_api import DATA, ITEM, LIST, PEERS, ROLE  # noqa: E402

APP = "bench"


def _new_loop() -> asyncio.AbstractEventLoop:
    """The event loop ``jimu serve`` and the baseline run on (uvicorn picks uvloop when it
    is installed, as it is with Jimu), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


class Caller:
    """Calls an ASGI app directly: one request, the status and the body back."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = _new_loop()

    def __call__(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self._call(method, path, body, token))

    async def _call(self, method: str, path: str, body: Any, token: str | None) -> tuple[int, bytes]:
        raw = b"" if body is None else json.dumps(body).encode()
        route, _, query = path.partition("?")
        headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                   (b"content-length", str(len(raw)).encode())]
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": route, "raw_path": route.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000), "state": {}}
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)

    def must(self, method: str, path: str, body: Any = None, token: str | None = None,
             ok: tuple[int, ...] = (200, 201)) -> Any:
        status, out = self(method, path, body, token)
        if status not in ok:
            raise RuntimeError(f"{method} {path} -> {status} {out[:400]!r}")
        return json.loads(out or b"{}")


def baseline_app(folder: Path) -> Any:
    os.environ["PEER_DB"] = str(folder / "baseline.db")
    spec = importlib.util.spec_from_file_location("peers_baseline_app", PEERS / "baseline" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def prepare_jimu(call: Caller) -> str:
    """The same app, role and user as ``bench_api.prepare``; the clerk's token."""
    admin = call.must("POST", "/api/auth/token", {"username": "admin", "password": "admin"})["access_token"]
    call.must("POST", "/api/apps", {"name": APP, "label": {"zh": "压测", "en": "Bench"}}, admin, ok=(200, 201, 409))
    call.must("PUT", f"/api/apps/{APP}/meta/entities/item", ITEM, admin)
    call.must("PUT", f"/api/apps/{APP}/meta/roles/clerk", ROLE, admin)
    call.must("POST", f"/api/apps/{APP}/publish", {}, admin)
    call.must("POST", "/api/users", {"username": "clerk", "password": "clerk-pass", "roles": ["clerk"]}, admin)
    token: str = call.must("POST", "/api/auth/token", {"username": "clerk", "password": "clerk-pass"})["access_token"]
    call.must("POST", DATA, {"sku": "admin-own", "name": "hidden", "qty": "1", "price": "9.99"}, admin)
    mine = call.must("POST", DATA, {"sku": "clerk-own", "name": "seen", "qty": "1", "price": "9.60"}, token)
    assert mine["cost"] == "1235" and mine["owner"] == "clerk", mine
    return token


class Side:
    """One app under measurement: its caller, paths, token and a running sku counter."""

    def __init__(self, name: str, call: Caller, list_path: str, create_path: str, token: str | None) -> None:
        self.name, self.call, self.list_path, self.create_path, self.token = name, call, list_path, create_path, token
        self.n = 0

    def create(self, _: int) -> None:
        self.n += 1
        body = {"sku": f"{self.name}-{self.n}", "name": f"item {self.n}", "qty": "3.5", "price": "12.25"}
        status, out = self.call("POST", self.create_path, body, self.token)
        assert status == 201, out[:300]

    def list(self, _: int) -> None:
        status, out = self.call("GET", self.list_path, None, self.token)
        assert status == 200, out[:300]


SETTLE = 0.2  # seconds after the last event is dispatched: that pass's end is counted


def background_cpu() -> float:
    """CPU seconds used so far by this process's threads other than the calling one
    (Jimu's dispatcher, scheduler, checkpointer; the baseline starts none)."""
    me = threading.get_ident()
    total = 0.0
    for t in threading.enumerate():
        if t.ident is None or t.ident == me:
            continue
        try:
            total += time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        except (OSError, ProcessLookupError):  # the thread ended meanwhile
            pass
    return total


def measure(sides: list[Side], n: int, profile: str | None,
            drain: Callable[[], None] | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    """Per side and op: (CPU µs per request, of which the request's own thread). The sides
    alternate request by request, so the machine's load weighs on both alike; the CPU of
    the other threads (measured from their own clocks) goes to the last side, Jimu, counted
    until ``drain()`` returns (the dispatcher has handled every event) plus ``SETTLE``."""
    for side in sides:  # warm-up (and at least 50 rows to list)
        for i in range(100):
            side.create(i)
        for _ in range(50):
            side.list(0)
    out: dict[str, dict[str, tuple[float, float]]] = {s.name: {} for s in sides}
    for op in ("create", "list-50"):
        fns = [s.create if op == "create" else s.list for s in sides]
        spent = [0.0] * len(sides)
        prof = cProfile.Profile(time.thread_time) if profile and op.startswith(profile) else None
        clock = time.thread_time
        bg = background_cpu()
        for i in range(n):
            for k, fn in enumerate(fns):
                if prof is not None and k == len(fns) - 1:
                    prof.enable()
                t = clock()
                fn(i)
                spent[k] += clock() - t
                if prof is not None and k == len(fns) - 1:
                    prof.disable()
        if op == "create":
            if drain is not None:
                drain()
            time.sleep(SETTLE)
        bg = background_cpu() - bg
        for k, side in enumerate(sides):
            extra = bg if k == len(sides) - 1 else 0.0
            out[side.name][op] = ((spent[k] + extra) / n * 1e6, spent[k] / n * 1e6)
        if prof is not None:
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
            pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    return out


def drain_events(jimu: Any, seconds: float = 30.0) -> None:
    """Wait until the dispatcher has marked every event dispatched (it batches a stream of
    commits for up to ``BATCH_MAX``: its last pass must be counted)."""
    import sqlalchemy as sa

    from jimu.runtime.events.tables import events

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with jimu.db.read() as c:
            if not c.execute(sa.select(sa.func.count()).select_from(events)
                             .where(events.c.dispatched_at.is_(None))).scalar_one():
                return
        time.sleep(0.05)
    raise RuntimeError("the dispatcher did not catch up")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", action="store_true")
    ap.add_argument("--n", type=int, default=2000, help="requests per op and side")
    ap.add_argument("--profile", choices=["list", "create"], help="cProfile Jimu's last block of OP")
    ap.add_argument("--no-background", action="store_true", help="no dispatcher / scheduler threads")
    a = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="jimu-bench-api-cpu-"))
    base = Side("baseline", Caller(baseline_app(folder)), "/items?limit=50", "/items", None)

    from jimu.runtime.api import create_app
    from jimu.runtime.context import Jimu

    schema = None
    if a.pg:
        made = fresh_pg_schema()
        if made is None:
            sys.exit("--pg needs JIMU_TEST_PG_URL")
        url, schema = made
    else:
        url = f"sqlite:///{folder / 'jimu.db'}"
    stops: list[Callable[[], None]] = []
    try:
        jimu = Jimu.open(url)
        jimu.users.create("admin", "admin", ["admin"])
        if not a.no_background:
            from jimu.runtime.events.dispatcher import start_dispatcher
            from jimu.runtime.scheduler.loop import start_scheduler

            stops += [start_dispatcher(jimu), start_scheduler(jimu)]
        call = Caller(create_app(jimu))
        mine = Side("jimu", call, LIST, DATA, prepare_jimu(call))
        got = measure([base, mine], a.n, a.profile, None if a.no_background else lambda: drain_events(jimu))
        rows = call.must("GET", LIST, None, mine.token)["data"]
        assert len(rows) == 50 and all(r["owner"] == "clerk" and r["cost"] == "1235" for r in rows), rows[:2]
        for stop in stops:
            stop()
        jimu.close()
    finally:
        if schema:
            drop_pg_schema(schema)
    backend = "postgresql" if a.pg else "sqlite"
    for op in ("list-50", "create"):
        (j, j_thread), (b, b_thread) = got["jimu"][op], got["baseline"][op]
        emit(f"api {op} CPU µs per request, in process (clerk: row filter + mask)", j, "µs",
             "peers baseline (Starlette + Core, SQLite), same process", b, backend=backend,
             per_core_ratio=round(b / j, 3), request_thread_us=round(j_thread, 1),
             baseline_request_thread_us=round(b_thread, 1), n=a.n, background=not a.no_background,
             load=round(os.getloadavg()[0], 1))


if __name__ == "__main__":
    main()

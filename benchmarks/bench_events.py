"""Events benchmarks (JSON lines: figure, value, unit, baseline, baseline_value, ratio).

1. write-to-SSE latency, 200 concurrent subscribers on uvicorn (loopback, SQLite):
   p50/p99 from the commit of a record update to the frame arriving at each subscriber.
   The server (uvicorn + the writes) runs in a child process and the 200 subscribers (the
   load generator) in this one, so the client's parsing does not share the server's GIL;
   both stamp times with CLOCK_MONOTONIC, which is system-wide. The default subscribers
   are plain asyncio sockets that stamp a frame when its bytes are read (``--client
   httpx`` uses one httpx stream each, as the first version of this script did: its
   per-line parsing of 200 streams in one process adds up to tens of milliseconds to the
   last subscribers' stamps, so it measures the load generator as much as the server).
2. webhook dispatch rate to a local receiver (deliveries per second).
3. sandbox call overhead with a warm pool vs a plain in-process function call (p50/p99).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from jimu.core import clock  # noqa: E402
from jimu.platform.actor import Actor  # noqa: E402
from jimu.runtime.api.app import create_app  # noqa: E402
from jimu.runtime.api.auth import issue_token  # noqa: E402
from jimu.runtime.context import Jimu  # noqa: E402
from jimu.runtime.events.dispatcher import run_once  # noqa: E402
from jimu.runtime.events.tables import webhooks  # noqa: E402
from tests.runtime.events.helpers import Receiver, serve  # noqa: E402

SUBSCRIBERS = 200
WRITES = 20


def out(figure: str, value: float, unit: str, baseline: str = "", baseline_value: float | None = None) -> None:
    ratio = round(value / baseline_value, 3) if baseline_value else None
    print(json.dumps({"figure": figure, "value": round(value, 3), "unit": unit, "baseline": baseline,
                      "baseline_value": None if baseline_value is None else round(baseline_value, 3),
                      "ratio": ratio}), flush=True)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def setup(tmp: str) -> tuple[Jimu, int]:
    sys.path.insert(0, str(ROOT / "tests" / "runtime" / "api"))
    import importlib.util

    spec = importlib.util.spec_from_file_location("apiconf", ROOT / "tests" / "runtime" / "api" / "conftest.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    jimu = Jimu.open(f"sqlite:///{tmp}/bench.db")
    ids = mod.build_shop(jimu)
    return jimu, ids["items"]["A-1"]


class _Server:
    """The child process serving the app; ``write(i)`` updates the item there and answers
    the committed version and its commit time (time.monotonic)."""

    def __init__(self, db: str, item: int) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", db, str(item)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.proc.stdout is not None
        ready = json.loads(self.proc.stdout.readline())
        self.base, self.token = ready["base"], ready["token"]
        self.cpu_per_write = 0.0

    def write(self, i: int) -> tuple[int, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{i}\n")
        self.proc.stdin.flush()
        done = json.loads(self.proc.stdout.readline())
        return int(done["version"]), float(done["at"])

    def cpu(self) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("cpu\n")
        self.proc.stdin.flush()
        return float(json.loads(self.proc.stdout.readline())["cpu"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def serve_child(db: str, item: int) -> None:
    """``--serve``: uvicorn on a free port in a thread; one record update per stdin line."""
    jimu = Jimu.open(f"sqlite:///{db}")
    app = create_app(jimu)
    user = jimu.users.by_name("admin")
    assert user is not None
    lock = threading.Lock()
    with serve(app) as base:
        print(json.dumps({"base": base, "token": issue_token(jimu, user)}), flush=True)
        for line in sys.stdin:
            if line.strip() == "cpu":  # CPU seconds this process used so far (all threads)
                print(json.dumps({"cpu": time.process_time()}), flush=True)
                continue
            with lock:
                rec = jimu.records.update("shop", "item", item, {"name": f"bench {line.strip()}"},
                                          actor=Actor("admin", ("admin",)))
                at = time.monotonic()
            print(json.dumps({"version": rec["version"], "at": at}), flush=True)
    jimu.close()


async def _raw_sub(base: str, path: str, arrivals: list[tuple[int, float]], ready: list[int]) -> None:
    """One subscriber on a bare socket: HTTP/1.1 GET, chunked body decoded by hand, each
    ``data:`` line stamped with the time its bytes were read."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n", 1)[0], head
    assert b"transfer-encoding: chunked" in head.lower(), head
    ready[0] += 1
    raw, body, need, got = b"", b"", 0, 0
    try:
        while got < WRITES:
            data = await reader.read(65536)
            t = time.monotonic()
            if not data:
                return
            raw += data
            while raw:
                if need == 0:
                    i = raw.find(b"\r\n")
                    if i < 0:
                        break
                    line, raw = raw[:i], raw[i + 2:]
                    if line:  # an empty line ends the previous chunk's data
                        need = int(line.split(b";")[0], 16)
                        if need == 0:
                            return
                    continue
                take, raw = raw[:need], raw[need:]
                need -= len(take)
                body += take
            *frames, body = body.split(b"\n\n")
            for f in frames:
                for line in f.split(b"\n"):
                    if line.startswith(b"data: "):
                        arrivals.append((json.loads(line[6:])["version"], t))
                        got += 1
    finally:
        writer.close()


async def _httpx_sub(client: httpx.AsyncClient, url: str, arrivals: list[tuple[int, float]],
                     ready: list[int]) -> None:
    """One subscriber on an httpx stream, stamping each ``data:`` line once parsed."""
    async with client.stream("GET", url) as r:
        got = 0
        ready[0] += 1
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                t = time.monotonic()
                arrivals.append((json.loads(line[6:])["version"], t))
                got += 1
                if got >= WRITES:
                    return


async def sse_latency(server: _Server, client_kind: str = "raw") -> list[float]:
    """Connect the subscribers, then make WRITES updates 250 ms apart; the latencies (ms)."""
    commits: dict[int, float] = {}
    arrivals: list[tuple[int, float]] = []
    ready = [0]
    path = f"/api/apps/shop/events?access_token={server.token}"
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=SUBSCRIBERS + 10)) as client:
        if client_kind == "raw":
            subs = [_raw_sub(server.base, path, arrivals, ready) for _ in range(SUBSCRIBERS)]
        else:
            subs = [_httpx_sub(client, server.base + path, arrivals, ready) for _ in range(SUBSCRIBERS)]
        tasks = [asyncio.create_task(sub) for sub in subs]
        while ready[0] < SUBSCRIBERS:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        cpu0 = await asyncio.to_thread(server.cpu)
        for i in range(WRITES):
            version, at = await asyncio.to_thread(server.write, i)
            commits[version] = at
            await asyncio.sleep(0.25)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        server.cpu_per_write = (await asyncio.to_thread(server.cpu) - cpu0) / WRITES
    return [(t - commits[v]) * 1000 for v, t in arrivals if v in commits]


def bench_sse(db: str, item: int, client_kind: str = "raw") -> None:
    server = _Server(db, item)
    try:
        lat = asyncio.run(sse_latency(server, client_kind))
    finally:
        server.close()
    assert len(lat) == SUBSCRIBERS * WRITES, f"{len(lat)} frames arrived, expected {SUBSCRIBERS * WRITES}"
    suffix = "" if client_kind == "raw" else f"_{client_kind}_client"
    out(f"sse_write_to_frame_p50_200_subscribers{suffix}", pct(lat, 50), "ms")
    out(f"sse_write_to_frame_p99_200_subscribers{suffix}", pct(lat, 99), "ms", "target", 100.0)
    # CPU the server spent per write and its fan-out to 200 streams: steadier than the
    # latencies on a loaded machine (waiting for a core does not count).
    out(f"sse_server_cpu_per_write_200_subscribers{suffix}", server.cpu_per_write * 1000, "ms")


def bench_webhooks(jimu: Jimu) -> None:
    rx = Receiver()
    with jimu.db.write() as c:
        c.execute(webhooks.insert().values(app="shop", name="bench", direction="out", url=rx.url, format="json",
                                           role="admin", kinds=["record.created"], backoff=1.0, max_attempts=3,
                                           timeout=5.0, active=True, created_at=clock.now()))
    run_once(jimu)
    n = 300
    for i in range(n):
        jimu.records.create("shop", "supplier", {"name": f"S{i}"})
    t = time.perf_counter()
    while len(rx.calls) < n:
        run_once(jimu)
    dt = time.perf_counter() - t
    rx.close()
    out("webhook_dispatch_rate", n / dt, "deliveries/s")


def bench_sandbox() -> None:
    from jimu.runtime.sandbox import SandboxPool

    pool = SandboxPool(2)
    src = "result = x * 2"
    for _ in range(20):
        pool.run(src, {"x": 1})
    xs = []
    for i in range(300):
        t = time.perf_counter()
        pool.run(src, {"x": i})
        xs.append((time.perf_counter() - t) * 1000)
    pool.close()

    def plain(x: int) -> int:
        return x * 2

    ys = []
    for i in range(300):
        t = time.perf_counter()
        plain(i)
        ys.append((time.perf_counter() - t) * 1000)
    out("sandbox_call_p50_warm_pool", pct(xs, 50), "ms", "in-process call p50", pct(ys, 50))
    out("sandbox_call_p99_warm_pool", pct(xs, 99), "ms", "target", 20.0)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve_child(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", choices=["sse", "webhooks", "sandbox"], help="run one figure")
    parser.add_argument("--client", choices=["raw", "httpx", "both"], default="raw",
                        help="SSE subscribers: bare sockets (default), httpx streams, or both in turn")
    parser.add_argument("--runs", type=int, default=1, help="repeat the SSE figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jimu, item = setup(tmp)
        if args.only in (None, "sse"):
            for _ in range(args.runs):
                for kind in (["raw", "httpx"] if args.client == "both" else [args.client]):
                    bench_sse(f"{tmp}/bench.db", item, kind)
        if args.only in (None, "webhooks"):
            bench_webhooks(jimu)
        jimu.close()
    if args.only in (None, "sandbox"):
        bench_sandbox()


if __name__ == "__main__":
    main()

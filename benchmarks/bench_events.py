"""Events benchmarks (JSON lines: figure, value, unit, baseline, baseline_value, ratio).

1. write-to-SSE latency, 200 concurrent subscribers on uvicorn (loopback, SQLite):
   p50/p99 from the commit of a record update to the frame arriving at each subscriber.
2. webhook dispatch rate to a local receiver (deliveries per second).
3. sandbox call overhead with a warm pool vs a plain in-process function call (p50/p99).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "runtime" / "events")]

from helpers import Receiver, serve  # noqa: E402

from jimu.core import clock  # noqa: E402
from jimu.platform.actor import Actor  # noqa: E402
from jimu.runtime.api.app import create_app  # noqa: E402
from jimu.runtime.api.auth import issue_token  # noqa: E402
from jimu.runtime.context import Jimu  # noqa: E402
from jimu.runtime.events.dispatcher import run_once  # noqa: E402
from jimu.runtime.events.tables import webhooks  # noqa: E402

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


async def sse_latency(base: str, token: str, jimu: Jimu, item: int) -> list[float]:
    commits: dict[int, float] = {}
    lat: list[float] = []
    ready = 0
    lock = asyncio.Lock()

    async def sub(client: httpx.AsyncClient) -> None:
        nonlocal ready
        async with client.stream("GET", f"{base}/api/apps/shop/events?access_token={token}") as r:
            got = 0
            async with lock:
                ready += 1
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    t = time.perf_counter()
                    version = json.loads(line[6:])["version"]
                    if version in commits:
                        lat.append((t - commits[version]) * 1000)
                    got += 1
                    if got >= WRITES:
                        return

    limits = httpx.Limits(max_connections=SUBSCRIBERS + 10)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        tasks = [asyncio.create_task(sub(client)) for _ in range(SUBSCRIBERS)]
        while ready < SUBSCRIBERS:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        for i in range(WRITES):
            def write(i: int = i) -> None:
                rec = jimu.records.update("shop", "item", item, {"name": f"bench {i}"}, actor=Actor("admin", ("admin",)))
                commits[rec["version"]] = time.perf_counter()
            await asyncio.to_thread(write)
            await asyncio.sleep(0.25)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return lat


def bench_sse(jimu: Jimu, item: int) -> None:
    app = create_app(jimu)
    user = jimu.users.by_name("admin")
    assert user is not None
    token = issue_token(jimu, user)
    with serve(app) as base:
        lat = asyncio.run(sse_latency(base, token, jimu, item))
    out("sse_write_to_frame_p50_200_subscribers", pct(lat, 50), "ms")
    out("sse_write_to_frame_p99_200_subscribers", pct(lat, 99), "ms", "target", 100.0)


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
    with tempfile.TemporaryDirectory() as tmp:
        jimu, item = setup(tmp)
        bench_sse(jimu, item)
        bench_webhooks(jimu)
        jimu.close()
    bench_sandbox()


if __name__ == "__main__":
    main()

"""HTTP API: GET list (50 rows) and POST create through Jimu (uvicorn, permissions on, a
non-admin role with a row filter and a masked field) vs a hand-written Starlette +
SQLAlchemy Core endpoint on the same table, in the same run. Each server runs in its own
process on a free loopback port; the load comes from a third process (httpx, one
keep-alive connection, sequential requests).

Usage: python benchmarks/bench_api.py [--gets 600] [--posts 300]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit, percentile, sqlite_url  # noqa: E402

TABLE = "app_bench__item"
SPEC_ITEM = {"name": "item", "fields": [
    {"name": "sku", "type": "text", "required": True},
    {"name": "name", "type": "text"},
    {"name": "cost_price", "type": "money"},
    {"name": "qty", "type": "integer"},
    {"name": "owner", "type": "text", "default": "$user", "indexed": True},
]}
ROLE = {"name": "clerk", "entities": {"item": {"read": True, "create": True, "row_filter": "owner == $user",
                                               "fields": {"cost_price": {"mask": "ROUND_TO(cost_price, 1000)"}}}}}


def setup(url: str, rows: int = 200) -> None:
    """Create the app, the clerk user and ``rows`` items owned by the clerk."""
    from jimu.platform.actor import Actor
    from jimu.runtime.context import Jimu

    jimu = Jimu.open(url)
    jimu.store.create_app("bench")
    jimu.store.put_element("bench", "entity", "item", SPEC_ITEM)
    jimu.store.put_element("bench", "role", "clerk", ROLE)
    jimu.store.publish("bench")
    jimu.users.create("clerk", "clerk-pass", ["clerk"])
    jimu.records.bulk_insert("bench", "item", [{"sku": f"S-{i}", "name": f"item {i}", "cost_price": f"{i}.50",
                                                "qty": i, "owner": "clerk"} for i in range(rows)],
                             actor=Actor("clerk", ("clerk",)))
    jimu.close()


def serve_jimu(url: str, port: int) -> None:
    import uvicorn

    from jimu.runtime.api.app import create_app
    from jimu.runtime.context import Jimu

    uvicorn.run(create_app(Jimu.open(url)), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def baseline_app(url: str) -> Any:
    """The hand-written comparison: Starlette + SQLAlchemy Core, no Jimu."""
    from datetime import UTC, datetime
    from decimal import Decimal

    import sqlalchemy as sa
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    engine = sa.create_engine(url)
    table = sa.Table(TABLE, sa.MetaData(), autoload_with=engine)

    def row_json(row: Any) -> dict[str, Any]:
        out = {}
        for k, v in row.items():
            out[k] = str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, datetime) else v
        return out

    async def list_items(request: Request) -> JSONResponse:
        limit = int(request.query_params.get("limit", 50))
        with engine.connect() as c:
            rows = c.execute(sa.select(table).where(table.c.owner == "clerk").order_by(table.c.id.desc())
                             .limit(limit)).mappings().all()
        return JSONResponse({"data": [row_json(r) for r in rows], "next_cursor": None})

    async def create_item(request: Request) -> JSONResponse:
        body = await request.json()
        at = datetime.now(UTC)
        with engine.begin() as c:
            rid = c.execute(table.insert().values(sku=body["sku"], name=body.get("name"), qty=body.get("qty"),
                                                  owner="clerk", version=1, created_at=at, updated_at=at,
                                                  created_by="clerk", updated_by="clerk")
                            .returning(table.c.id)).scalar_one()
            row = c.execute(sa.select(table).where(table.c.id == rid)).mappings().first()
        return JSONResponse(row_json(row), status_code=201)

    return Starlette(routes=[Route("/items", list_items, methods=["GET"]),
                             Route("/items", create_item, methods=["POST"])])


def serve_baseline(url: str, port: int) -> None:
    import uvicorn

    uvicorn.run(baseline_app(url), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def load(base: str, list_path: str, create_path: str, gets: int, posts: int, token: str | None) -> None:
    """The load generator (its own process): prints {"get": [...], "post": [...]} latencies."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    out: dict[str, list[float]] = {"get": [], "post": []}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(30):  # warm-up
            assert client.get(list_path, params={"limit": 50}).status_code == 200
        t_all = time.perf_counter()
        for _ in range(gets):
            t = time.perf_counter()
            r = client.get(list_path, params={"limit": 50})
            out["get"].append(time.perf_counter() - t)
            assert r.status_code == 200 and len(r.json()["data"]) == 50
        out["get_total"] = [time.perf_counter() - t_all]
        tag = os.urandom(4).hex()
        t_all = time.perf_counter()
        for i in range(posts):
            t = time.perf_counter()
            r = client.post(create_path, json={"sku": f"L-{tag}-{i}", "name": "loaded", "qty": i})
            out["post"].append(time.perf_counter() - t)
            assert r.status_code == 201, r.text
        out["post_total"] = [time.perf_counter() - t_all]
    print(json.dumps(out))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def _run(kind: str, url: str, gets: int, posts: int) -> dict[str, list[float]]:
    port = _free_port()
    me = [sys.executable, __file__]
    server = subprocess.Popen(me + ["--serve", kind, "--url", url, "--port", str(port)])
    try:
        _wait(port)
        base = f"http://127.0.0.1:{port}"
        token = None
        paths = ("/items", "/items")
        if kind == "jimu":
            import httpx

            token = httpx.post(base + "/api/auth/token", json={"username": "clerk", "password": "clerk-pass"}).json()[
                "access_token"]
            paths = ("/api/apps/bench/data/item", "/api/apps/bench/data/item")
        args = me + ["--load", base, "--list-path", paths[0], "--create-path", paths[1], "--gets", str(gets),
                     "--posts", str(posts)] + (["--token", token] if token else [])
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
        return result
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gets", type=int, default=600)
    ap.add_argument("--posts", type=int, default=300)
    ap.add_argument("--serve")
    ap.add_argument("--url")
    ap.add_argument("--port", type=int)
    ap.add_argument("--load")
    ap.add_argument("--list-path")
    ap.add_argument("--create-path")
    ap.add_argument("--token")
    a = ap.parse_args()
    if a.serve:
        (serve_jimu if a.serve == "jimu" else serve_baseline)(a.url, a.port)
        return
    if a.load:
        load(a.load, a.list_path, a.create_path, a.gets, a.posts, a.token)
        return
    url = sqlite_url()
    setup(url)
    base = _run("baseline", url, a.gets, a.posts)
    jimu = _run("jimu", url, a.gets, a.posts)
    for op, label in (("get", "GET list (50 rows)"), ("post", "POST create")):
        n = len(jimu[op])
        emit(f"api {label} requests/s", n / jimu[f"{op}_total"][0], "req/s", "starlette+core",
             len(base[op]) / base[f"{op}_total"][0], backend="sqlite")
        emit(f"api {label} p99", percentile(jimu[op], 99) * 1000, "ms", "starlette+core",
             percentile(base[op], 99) * 1000, backend="sqlite")


if __name__ == "__main__":
    main()

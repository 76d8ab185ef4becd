"""HTTP API: GET list (50 rows) and POST create through Jimu (uvicorn, permissions on, a
non-admin role with a row filter and a masked field) vs a hand-written Starlette +
SQLAlchemy Core endpoint on the same table, in the same run. Each server runs in its own
process on a free loopback port; the load comes from a third process (httpx, one
keep-alive connection per server, sequential requests). The load alternates between the
two servers in rounds (ABBA...), so a machine whose load changes during the run (CI next
door) slows both sides alike and the ratio stays meaningful.

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


ROUNDS = 10


def load(targets: list[dict[str, Any]], gets: int, posts: int) -> None:
    """The load generator (its own process): prints, per target, {"get": [...], "post": [...],
    "get_total": [s], "post_total": [s]} latencies, the targets taking turns in rounds."""
    import httpx

    clients = [httpx.Client(base_url=t["base"], timeout=30,
                            headers={"Authorization": f"Bearer {t['token']}"} if t.get("token") else {})
               for t in targets]
    out: list[dict[str, list[float]]] = [{"get": [], "post": [], "get_total": [0.0], "post_total": [0.0]}
                                         for _ in targets]
    tag = os.urandom(4).hex()
    try:
        for t, client in zip(targets, clients, strict=True):
            for _ in range(30):  # warm-up
                assert client.get(t["list"], params={"limit": 50}).status_code == 200
        for op, n in (("get", gets), ("post", posts)):
            per_round = max(1, n // ROUNDS)
            for rnd in range(ROUNDS):
                order = list(range(len(targets)))
                if rnd % 2:
                    order.reverse()
                for k in order:
                    t, client, res = targets[k], clients[k], out[k]
                    t_all = time.perf_counter()
                    for i in range(per_round):
                        t0 = time.perf_counter()
                        if op == "get":
                            r = client.get(t["list"], params={"limit": 50})
                            res["get"].append(time.perf_counter() - t0)
                            assert r.status_code == 200 and len(r.json()["data"]) == 50
                        else:
                            r = client.post(t["create"], json={"sku": f"L-{tag}-{k}-{rnd}-{i}", "name": "loaded",
                                                               "qty": i})
                            res["post"].append(time.perf_counter() - t0)
                            assert r.status_code == 201, r.text
                    res[f"{op}_total"][0] += time.perf_counter() - t_all
    finally:
        for client in clients:
            client.close()
    print(json.dumps(out))


def _wait(port: int) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def _start(kind: str, url: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    from jimu.runtime.server import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--url", url, "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    return server, {"kind": kind, "base": base, "port": port, "list": "/items", "create": "/items"}


def _run(url: str, gets: int, posts: int) -> dict[str, dict[str, list[float]]]:
    servers = [_start("baseline", url), _start("jimu", url)]
    try:
        targets = []
        for _server, target in servers:
            _wait(target["port"])
            if target["kind"] == "jimu":
                import httpx

                target["token"] = httpx.post(target["base"] + "/api/auth/token",
                                             json={"username": "clerk", "password": "clerk-pass"}).json()["access_token"]
                target["list"] = target["create"] = "/api/apps/bench/data/item"
            targets.append(target)
        args = [sys.executable, __file__, "--load", json.dumps(targets), "--gets", str(gets), "--posts", str(posts)]
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        results: list[dict[str, list[float]]] = json.loads(done.stdout.strip().splitlines()[-1])
        return {t["kind"]: r for t, r in zip(targets, results, strict=True)}
    finally:
        for server, _target in servers:
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
    a = ap.parse_args()
    if a.serve:
        (serve_jimu if a.serve == "jimu" else serve_baseline)(a.url, a.port)
        return
    if a.load:
        load(json.loads(a.load), a.gets, a.posts)
        return
    url = sqlite_url()
    setup(url)
    both = _run(url, a.gets, a.posts)
    base, jimu = both["baseline"], both["jimu"]
    for op, label in (("get", "GET list (50 rows)"), ("post", "POST create")):
        n = len(jimu[op])
        emit(f"api {label} requests/s", n / jimu[f"{op}_total"][0], "req/s", "starlette+core",
             len(base[op]) / base[f"{op}_total"][0], backend="sqlite")
        emit(f"api {label} p99", percentile(jimu[op], 99) * 1000, "ms", "starlette+core",
             percentile(base[op], 99) * 1000, backend="sqlite")


if __name__ == "__main__":
    main()

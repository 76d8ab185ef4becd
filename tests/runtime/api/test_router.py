"""The memo router (jimu.runtime.api.router) hands every request to the route
Starlette's own router would, the first time and when it answers from its memo."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from jimu.runtime.api import router as memo


def _named(name: str) -> Any:
    async def endpoint(request: Any) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {sorted(request.path_params.items())}")
    return endpoint


async def _mutating(request: Any) -> PlainTextResponse:
    request.path_params["x"] += "!"  # an endpoint that changes its parameters
    return PlainTextResponse(request.path_params["x"])


ROUTES = [
    Route("/mut/{x}", _mutating, methods=["GET"]),
    Route("/api/apps/{app}/data/{entity}", _named("list"), methods=["GET"]),
    Route("/api/apps/{app}/data/{entity}", _named("create"), methods=["POST"]),
    Route("/api/apps/{app}/data/{entity}/{id}", _named("get"), methods=["GET"]),
    Route("/api/apps/{app}/data/stocktake_line/{id}/trace", _named("trace"), methods=["GET"]),
    Route("/api/apps/{app}/data/stocktake_line/{id}", _named("shadowed"), methods=["GET"]),
    Route("/app/{app}/{entity}/{id:int}", _named("screen"), methods=["GET"]),
    Route("/app/{app}/{entity}/new", _named("new"), methods=["GET"]),
    Mount("/static", app=PlainTextResponse("static")),
]
PATHS = [("GET", "/api/apps/shop/data/item"), ("POST", "/api/apps/shop/data/item"),
         ("DELETE", "/api/apps/shop/data/item"), ("GET", "/api/apps/shop/data/item/7"),
         ("GET", "/api/apps/shop/data/stocktake_line/3"), ("GET", "/api/apps/shop/data/stocktake_line/3/trace"),
         ("GET", "/app/shop/item/12"), ("GET", "/app/shop/item/new"), ("GET", "/app/shop/item/x"),
         ("GET", "/static/a.css"), ("GET", "/nowhere"), ("HEAD", "/api/apps/shop/data/item"),
         ("GET", "/api/apps/shop/data/item/"), ("GET", "/mut/a")]


def _call(app: Any, method: str, path: str) -> tuple[int, bytes, str | None]:
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            out["location"] = dict(message["headers"]).get(b"location")
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    return out["status"], out["body"], out["location"]


def test_every_path_reaches_the_route_starlette_chooses_also_from_the_memo():
    """Each path three times through the memo router (first scan, then the memo) against
    Starlette's router once: the same status, body (endpoint and path parameters) and
    redirect. Mutations: remember the last full match instead of the first (the
    stocktake_line GET reaches ``shadowed``); memoise a PARTIAL match (DELETE on the
    list path answers 200 instead of 405); hand the memo's path_params to the request
    without a copy (``/mut/a`` answers ``a!!`` the second time)."""
    plain = Starlette(routes=ROUTES)
    fast = Starlette(routes=ROUTES)
    fast.router = memo.MemoRouter(ROUTES)
    for method, path in PATHS:
        want = _call(plain, method, path)
        for _ in range(3):
            assert _call(fast, method, path) == want, (method, path)
    assert _call(fast, "GET", "/api/apps/shop/data/stocktake_line/3")[1].startswith(b"get ")
    assert _call(fast, "DELETE", "/api/apps/shop/data/item")[0] == 405


def test_the_memo_is_bounded(monkeypatch):
    """Past ``MEMO_MAX`` paths the memo starts over instead of growing with every record id.
    Mutation: drop the clear and the memo holds all 50 paths."""
    monkeypatch.setattr(memo, "MEMO_MAX", 10)
    fast = Starlette(routes=ROUTES)
    router = memo.MemoRouter(ROUTES)
    fast.router = router
    for i in range(50):
        assert _call(fast, "GET", f"/api/apps/shop/data/item/{i}")[0] == 200
    assert len(router._memo) <= 10


def test_the_jimu_app_routes_through_the_memo(api):
    """The application's own router is the memo router, and a repeated list answers as
    the first one (here from the memo)."""
    assert isinstance(api.client.app.router, memo.MemoRouter)
    first = api.get("sales", "/api/apps/shop/data/item")
    again = api.get("sales", "/api/apps/shop/data/item")
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert api.get("sales", "/api/apps/shop/data/nothing").status_code == 404

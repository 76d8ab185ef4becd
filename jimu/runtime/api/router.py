"""Starlette's router, with the route a request path resolves to remembered.

Starlette finds a request's route by trying each route's regular expression in order:
the record API's routes come after some thirty others, so every list or create paid for
thirty failed matches before its own. :class:`MemoRouter` remembers, per (method, root
path, path), the first route that fully matched and its path parameters, and hands the
next request for the same path straight to it. It decides exactly as Starlette would:
the first full match in route order wins (a memo holds only that), and everything else
(a mount, a partial match answered 405, a 404, a redirect to the slashed path, the
lifespan) goes through Starlette's own :meth:`Router.app` unremembered. Routes are fixed
once the app is built; the memo is bounded (a path with a record id is one entry)."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

__all__ = ["MemoRouter", "MEMO_MAX"]

MEMO_MAX = 4096  # remembered paths before the memo starts over

_Hit = tuple[BaseRoute, Any, dict[str, Any]]


class MemoRouter(Router):
    """:class:`starlette.routing.Router` with the (method, path) -> route memo."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memo: dict[tuple[str, str, str], _Hit | None] = {}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "path_params" not in scope:
            key = (scope["method"], scope.get("root_path", ""), scope["path"])
            hit = self._memo.get(key)
            if hit is None and key not in self._memo:
                hit = self._first_route(scope)
                if len(self._memo) >= MEMO_MAX:
                    self._memo.clear()
                self._memo[key] = hit
            if hit is not None:
                route, endpoint, params = hit
                scope.setdefault("router", self)
                scope["route"] = route
                scope["endpoint"] = endpoint
                scope["path_params"] = dict(params)
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)

    def _first_route(self, scope: Scope) -> _Hit | None:
        """The route Starlette would hand ``scope`` to when that is a plain :class:`Route`
        matching in full (its endpoint and path parameters); None otherwise."""
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                if isinstance(route, Route) and set(child) == {"endpoint", "path_params"}:
                    return route, child["endpoint"], dict(child["path_params"])
                return None
        return None

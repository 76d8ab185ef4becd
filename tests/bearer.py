"""A TestClient wrapper that logs demo users in once (password = user name) and sends their
bearer token: the API tests and scenarios share it instead of each carrying a copy."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient


class BearerClient:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def h(self, user: str) -> dict[str, str]:
        """The Authorization header of ``user`` (a token fetched on first use, then cached)."""
        if user not in self.tokens:
            r = self.client.post("/api/auth/token", json={"username": user, "password": user})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, url: str, **params: Any) -> Any:
        return self.client.get(url, params=params, headers=self.h(user))

    def post(self, user: str, url: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=body, headers={**self.h(user), **kw.pop("headers", {})}, **kw)

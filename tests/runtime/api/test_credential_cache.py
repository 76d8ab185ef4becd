"""The credential cache (jimu/runtime/api/credcache.py): a remembered token or API key
skips the credential query, and every change that matters still applies on the very next
request, made through this app, through a second Jimu serving the same database (another
worker), or by plain SQL. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from starlette.testclient import TestClient

from jimu.platform.actor import Actor
from jimu.runtime.api.app import create_app
from jimu.runtime.api.auth import create_api_key, revoke_api_key
from jimu.runtime.context import Jimu

from .conftest import Api

ITEMS = "/api/apps/shop/data/item"


@pytest.fixture
def other(api: Api) -> Iterator[TestClient]:
    """A second Jimu (another worker) on the same database, with its own app and caches."""
    jimu = Jimu.open(api.jimu.db.url)
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        yield client
    jimu.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _credential_reads(api: Api, call: Any) -> tuple[Any, int]:
    """(call's answer, how many statements it sent that read jimu_user or jimu_api_key)."""
    seen: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *_a: Any) -> None:
        if "jimu_user" in statement or "jimu_api_key" in statement:
            seen.append(statement)

    event.listen(api.jimu.db.engine, "before_cursor_execute", capture)
    try:
        out = call()
    finally:
        event.remove(api.jimu.db.engine, "before_cursor_execute", capture)
    return out, len(seen)


def test_a_remembered_token_skips_the_credential_query(api: Api) -> None:
    """The second list with the same token reads no user row; a list then answers the
    same rows. Mutation caught: ``remembered`` always answering None (the cache unused)."""
    token = api.token("sales")
    first, reads = _credential_reads(api, lambda: api.client.get(ITEMS, headers=_bearer(token)))
    assert first.status_code == 200 and reads == 1
    second, reads = _credential_reads(api, lambda: api.client.get(ITEMS, headers=_bearer(token)))
    assert second.status_code == 200 and reads == 0
    assert second.json() == first.json()


@pytest.mark.parametrize("how", ["here", "other worker", "sql"])
def test_deactivation_applies_on_the_next_request(api: Api, other: TestClient, how: str) -> None:
    """A deactivated user's remembered token is refused at once, whoever deactivated it.
    Mutations caught: no UPDATE trigger on jimu_user (the cached row keeps answering 200),
    ``remembered`` ignoring the generation it was read with."""
    token = api.token("sales")
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 200
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 200  # served from the cache
    uid = api.jimu.users.by_name("sales").id
    if how == "here":
        assert api.patch("admin", f"/api/users/{uid}", json={"active": False}).status_code == 200
    elif how == "other worker":
        admin = other.post("/api/auth/token", json={"username": "admin", "password": "admin"}).json()["access_token"]
        assert other.patch(f"/api/users/{uid}", json={"active": False}, headers=_bearer(admin)).status_code == 200
    else:
        # a hand-written change: no token epoch bump, only the flag
        with api.jimu.db.write() as c:
            c.execute(sa.text("UPDATE jimu_user SET active = :f WHERE id = :id"), {"f": False, "id": uid})
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 401


def test_a_role_change_applies_on_the_next_request(api: Api, other: TestClient) -> None:
    """sales sees its own rows with the masked cost; moved by another worker to the
    warehouse role, the very next list shows every row with the cost hidden, and with no
    role at all the next one is refused as the role-less user is. Mutation caught: no UPDATE trigger on jimu_user."""
    token = api.token("sales")
    rows = api.client.get(ITEMS, headers=_bearer(token)).json()["data"]
    assert {r["owner"] for r in rows} == {"sales"} and all("cost_price" in r for r in rows)
    uid = api.jimu.users.by_name("sales").id
    admin = other.post("/api/auth/token", json={"username": "admin", "password": "admin"}).json()["access_token"]
    assert other.patch(f"/api/users/{uid}", json={"roles": ["warehouse"]}, headers=_bearer(admin)).status_code == 200
    rows = api.client.get(ITEMS, headers=_bearer(token)).json()["data"]
    assert {r["owner"] for r in rows} == {"sales", "sales2"} and all("cost_price" not in r for r in rows)
    assert other.patch(f"/api/users/{uid}", json={"roles": []}, headers=_bearer(admin)).status_code == 200
    nobody = api.get("nobody", ITEMS).status_code  # what a user without roles gets
    assert nobody in (403, 404)
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == nobody


def test_a_password_change_ends_remembered_tokens(api: Api) -> None:
    """Mutation caught: no UPDATE trigger on jimu_user."""
    token = api.token("sales")
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 200
    api.jimu.users.update(api.jimu.users.by_name("sales").id, {"password": "a-new-secret-1"})
    assert api.client.get(ITEMS, headers=_bearer(token)).status_code == 401


def test_a_revoked_api_key_stops_on_the_next_request(api: Api, other: TestClient) -> None:
    """A remembered API key (its second request reads no key row) is refused right after
    another worker revokes it, and a deleted key row too. Mutations caught: no UPDATE
    trigger on jimu_api_key; no DELETE trigger on jimu_api_key."""
    admin = Actor("admin", ("admin",))
    key = create_api_key(api.jimu, "shop", "sales", "sync", admin)
    headers = {"X-API-Key": key["key"]}
    assert api.client.get(ITEMS, headers=headers).status_code == 200
    second, reads = _credential_reads(api, lambda: api.client.get(ITEMS, headers=headers))
    assert second.status_code == 200 and reads == 0
    token = other.post("/api/auth/token", json={"username": "admin", "password": "admin"}).json()["access_token"]
    assert other.delete(f"/api/apps/shop/api-keys/{key['id']}", headers=_bearer(token)).status_code == 200
    assert api.client.get(ITEMS, headers=headers).status_code == 401

    again = create_api_key(api.jimu, "shop", "sales", "sync2", admin)
    assert api.client.get(ITEMS, headers={"X-API-Key": again["key"]}).status_code == 200
    with api.jimu.db.write() as c:
        c.execute(sa.text("DELETE FROM jimu_api_key WHERE id = :id"), {"id": again["id"]})
    assert api.client.get(ITEMS, headers={"X-API-Key": again["key"]}).status_code == 401
    revoke_api_key(api.jimu, "shop", key["id"], admin)  # revoking twice is harmless


def test_a_deleted_session_ends_its_remembered_cookie(api: Api) -> None:
    """A screens session (cookie) remembered by the cache stops when its row goes (a
    logout elsewhere). Mutation caught: no DELETE trigger on jimu_session."""
    from datetime import timedelta

    from jimu.core.clock import now
    from jimu.platform.permissions import sessions
    from jimu.runtime.api.auth import SESSION_COOKIE, _session_key, ensure_session_table, issue_token

    user = api.jimu.users.by_name("sales")
    sid = "a-session-id-of-the-test-0123456789"
    ensure_session_table(api.jimu)
    with api.jimu.db.write() as c:
        c.execute(sessions.insert().values(id=_session_key(sid), user_id=user.id, created_at=now(),
                                           expires_at=now() + timedelta(hours=1)))
    api.client.cookies.set(SESSION_COOKIE, issue_token(api.jimu, user, kind="s", sid=sid))
    assert api.client.get(ITEMS).status_code == 200
    second, reads = _credential_reads(api, lambda: api.client.get(ITEMS))
    assert second.status_code == 200 and reads == 0
    with api.jimu.db.write() as c:
        c.execute(sessions.delete().where(sessions.c.id == _session_key(sid)))
    assert api.client.get(ITEMS).status_code == 401


def test_a_screen_login_keeps_the_cache_unless_it_sweeps_expired_sessions(api: Api) -> None:
    """A login that finds no expired session leaves the auth generation alone (every
    worker's remembered credentials stay); one that sweeps an expired session bumps it and
    the row is gone. Mutation caught: the unconditional ``DELETE ... WHERE expires_at <=
    now`` (on PostgreSQL its statement trigger bumps the generation at every login: this
    fails there; SQLite row triggers never fired for an empty DELETE)."""
    from datetime import timedelta

    from jimu.core.clock import now
    from jimu.platform.permissions import sessions
    from jimu.platform.permissions.generation import auth_generation
    from jimu.runtime.api.auth import ensure_session_table
    from jimu.testing import form_login

    def generation() -> int:
        with api.jimu.db.read() as c:
            return int(c.execute(sa.select(auth_generation.c.value)).scalar_one())

    ensure_session_table(api.jimu)
    form_login(api.client, "sales")
    before = generation()
    form_login(api.client, "admin")
    assert generation() == before
    with api.jimu.db.write() as c:
        c.execute(sessions.insert().values(id="expired-session-of-the-test", user_id=api.jimu.users.by_name("sales").id,
                                           created_at=now() - timedelta(days=2), expires_at=now() - timedelta(days=1)))
    form_login(api.client, "sales")
    assert generation() > before
    with api.jimu.db.read() as c:
        assert c.execute(sa.select(sessions.c.id).where(sessions.c.id == "expired-session-of-the-test")).first() is None

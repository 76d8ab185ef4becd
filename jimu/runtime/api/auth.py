"""Authentication for the HTTP API and the screens.

* Bearer tokens: ``base64url(payload).base64url(HMAC-SHA256)`` signed with ``JIMU_SECRET``
  or a per-database secret kept in ``jimu_secret``; the payload carries the user id, the
  user's ``token_epoch`` (deactivating a user or changing the password bumps it, so older
  tokens stop at once) and the expiry.
* API keys for integrations: ``jimu_<id>_<secret>``, scoped to one app and one role,
  sent as ``Authorization: Bearer`` or ``X-API-Key``; only a SHA-256 of the key is stored.
* A session cookie for the screens: the same signed token naming a server-side session
  row (``jimu_session``), so logging out ends it at once. Unsafe methods on
  cookie-authenticated requests need ``X-CSRF-Token`` (or a ``csrf_token`` form field
  checked by the screen) equal to the session's CSRF token, an HMAC of the session id: a
  token an attacker sets as a cookie never passes. Pages carry the token (``data-csrf``,
  the designer's ``jimu-csrf`` data block); the HttpOnly ``jimu_csrf`` cookie only tells
  non-browser clients the token, and its value is never trusted.
* ``?access_token=`` is a credential only on the SSE stream (EventSource cannot send
  headers); anywhere else it is ignored.
* Lockout: 5 failed passwords lock the user for 30 s, doubling per further failure (at most
  an hour); a locked login answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets as pysecrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from jimu.core.clock import now
from jimu.core.errors import NotFound, PermissionDenied, TooManyRequests, Unauthenticated, ValidationError
from jimu.core.ids import MAX_ROW_ID, parse_id
from jimu.platform.actor import Actor
from jimu.platform.audit import record_audit
from jimu.platform.auth.users import _DUMMY as _DUMMY_HASH
from jimu.platform.auth.users import User, verify_password
from jimu.platform.auth.users import _user as _user_of_row
from jimu.platform.permissions import api_keys, ensure_tables, is_admin, secrets, sessions
from jimu.platform.permissions.generation import auth_generation
from jimu.platform.store.tables import apps, users
from jimu.runtime.api import credcache
from jimu.runtime.context import Jimu

__all__ = [
    "SESSION_COOKIE", "CSRF_COOKIE", "CSRF_HEADER", "issue_token", "read_token", "login", "login_session",
    "logout_session", "current_actor", "optional_actor", "require_admin", "create_api_key", "jimu_of",
    "LOCK_AFTER", "published_version_seen", "request_user", "has_credentials", "list_api_keys",
    "revoke_api_key", "credential_of", "token_expiry", "csrf_token", "SSE_PATH", "LOGIN_COOKIE",
    "login_form_token", "login_form_ok", "set_login_nonce",
]

SESSION_COOKIE = "jimu_session"
CSRF_COOKIE = "jimu_csrf"
CSRF_HEADER = "x-csrf-token"
LOGIN_COOKIE = "jimu_login"  # the pre-session nonce behind the login forms' CSRF token
LOCK_AFTER = 5
LOCK_BASE_SECONDS = 30
LOCK_MAX_SECONDS = 3600
DEFAULT_TTL = 8 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The one path where ``?access_token=`` is a credential (EventSource sends no headers).
SSE_PATH = re.compile(r"^/api/apps/[^/]+/events$")


def jimu_of(conn: HTTPConnection) -> Jimu:
    """The Jimu context serving this request."""
    jimu: Jimu = conn.app.state.jimu
    return jimu


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _secret(jimu: Jimu) -> bytes:
    cached = jimu.settings.get("_secret")
    if isinstance(cached, bytes):
        return cached
    env = os.environ.get("JIMU_SECRET")
    if env:
        value = env.encode()
    else:
        ensure_tables(jimu.db)
        with jimu.db.write() as c:
            row = c.execute(sa.select(secrets.c.value).where(secrets.c.name == "token")).first()
            if row is None:
                text = pysecrets.token_urlsafe(48)
                c.execute(secrets.insert().values(name="token", value=text, created_at=now()))
            else:
                text = row[0]
        value = text.encode()
    jimu.settings["_secret"] = value
    return value


def _ttl(jimu: Jimu) -> int:
    return int(jimu.settings.get("token_ttl", DEFAULT_TTL))


def issue_token(jimu: Jimu, user: User, *, kind: str = "a", ttl: int | None = None, sid: str | None = None) -> str:
    """A signed token for ``user`` (``kind`` "a" API bearer, "s" session cookie naming the
    server-side session ``sid``)."""
    exp = int(now().timestamp()) + (ttl or _ttl(jimu))
    claims: dict[str, Any] = {"u": user.id, "e": user.token_epoch, "x": exp, "k": kind}
    if sid is not None:
        claims["s"] = sid
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(_secret(jimu), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(sig)}"


def token_expiry(token: str) -> float | None:
    """The expiry (POSIX timestamp) a signed token carries, read without checking its
    signature (for a caller that already authenticated with it); None when unreadable."""
    try:
        return float(json.loads(_unb64(token.split(".", 1)[0]))["x"])
    except (ValueError, KeyError, TypeError):
        return None


def _claims(jimu: Jimu, token: str, kind: str) -> tuple[int, int, str | None]:
    """(user id, token epoch, session id) of a well-signed, unexpired token of ``kind``
    (401 otherwise; a session token without a session id is refused).

    A token whose signature checked out once is remembered (per Jimu, at most 10,000),
    so the next request with it skips the HMAC and the JSON decoding; its kind, session id
    and expiry are still checked every time, and the caller still reads the user row
    (active, epoch) and the session on every request."""
    seen: dict[str, tuple[int, int, int, Any, Any]] = jimu.settings.setdefault("_token_claims", {})
    claims = seen.get(token)
    if claims is None:
        claims = _verify(jimu, token)
        if len(seen) >= 10_000:
            seen.clear()
        seen[token] = claims
    uid, epoch, exp, k, sid = claims
    if k != kind or exp < now().timestamp() or (kind == "s" and not isinstance(sid, str)):
        raise Unauthenticated("invalid or expired token", code="token.invalid")
    return uid, epoch, sid if isinstance(sid, str) else None


def _verify(jimu: Jimu, token: str) -> tuple[int, int, int, Any, Any]:
    """(user id, epoch, expiry, kind, session id) of a token signed with this database's
    secret (401 when the signature or the payload is wrong)."""
    bad = Unauthenticated("invalid or expired token", code="token.invalid")
    try:
        payload, sig = token.split(".", 1)
        expected = hmac.new(_secret(jimu), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(sig)):
            raise bad
        data = json.loads(_unb64(payload))
        return int(data["u"]), int(data["e"]), int(data["x"]), data["k"], data.get("s")
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, json.JSONDecodeError):
        raise bad from None


def _version_column(app: str | None) -> list[Any]:
    """The app's published version as an extra column of a credential query."""
    if app is None:
        return []
    return [sa.select(apps.c.published_version).where(apps.c.name == app).scalar_subquery()
            .label("_jimu_app_version")]


def _generation_column() -> Any:
    return (sa.select(auth_generation.c.value).where(auth_generation.c.id == 1).scalar_subquery()
            .label(credcache.GEN))


def _user_statement(app: bool, session: bool, generation: bool = False) -> Any:
    """The token credential query: the user row, with an app its published version, with
    a session that session's expiry, with ``generation`` the auth generation, as extra
    columns, so one round trip checks the caller, its session, tells which spec version
    serves it and what the row may be remembered under (:mod:`credcache`)."""
    columns: list[Any] = [users]
    if generation:
        columns.append(_generation_column())
    if app:
        columns.append(sa.select(apps.c.published_version).where(apps.c.name == sa.bindparam("_jimu_app"))
                       .scalar_subquery().label("_jimu_app_version"))
    if session:
        columns.append(sa.select(sessions.c.expires_at).where(sessions.c.id == sa.bindparam("_jimu_sid"))
                       .scalar_subquery().label("_jimu_session_expires"))
    return sa.select(*columns).where(users.c.id == sa.bindparam("_jimu_uid"))


_STATEMENTS = {(a, s, g): _user_statement(a, s, g) for a in (False, True) for s in (False, True)
               for g in (False, True)}


def _session_key(sid: str) -> str:
    """The stored key of a session id (its SHA-256: the table never holds a live id)."""
    return hashlib.sha256(sid.encode()).hexdigest()


def _note_version(conn: HTTPConnection | None, app: str | None, row: Any) -> None:
    if conn is not None and app is not None:
        value = row["_jimu_app_version"]
        conn.state.app_version = (app, None if value is None else int(value))


def _credential_row(jimu: Jimu, db: Connection | None, credential: str, app: str | None, stmt: Any,
                    full: Any, params: dict[str, Any], optimistic: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """(the credential's row as a mapping, the app's published version read now) on
    ``db`` (or a read transaction of its own). The row comes from the credential cache
    when the auth generation read now is the one it was read with; else ``full`` (the
    credential query with the generation column) runs and is remembered. Without the
    generation in the database, ``stmt`` runs every time. ``optimistic``: the state of a
    request that redoes itself on :class:`credcache.Stale`; the remembered row and the
    served version are then taken at once where :func:`credcache.assume` can check them
    with the next statement."""
    if db is None:
        with jimu.db.read() as c:
            return _credential_row(jimu, c, credential, app, stmt, full, params)
    if not credcache.ready(jimu, db):
        row = db.execute(stmt, params).mappings().first()
        return row, None if row is None else row.get("_jimu_app_version")
    if optimistic is not None and db.dialect.driver == "psycopg":
        assumed = credcache.assume(jimu, db, credential, app, optimistic)
        if assumed is not None:
            return assumed
    generation, version = credcache.check(db, app)
    hit = credcache.remembered(jimu, credential, generation)
    if hit is not None:
        return hit, version
    row = db.execute(full, params).mappings().first()
    if row is None:
        return None, None
    kept = dict(row)
    credcache.remember(jimu, credential, kept.pop(credcache.GEN), kept)
    return kept, kept.get("_jimu_app_version")


def published_version_seen(conn: HTTPConnection, app: str) -> int | None:
    """The published version of ``app`` read together with the caller's credentials in
    this request (None when it was not read, or the app is unknown)."""
    seen = _state(conn, "app_version")
    if seen is None or seen[0] != app:
        return None
    return seen[1]  # type: ignore[no-any-return]


def request_user(conn: HTTPConnection, user_id: int | None) -> User | None:
    """The user row read for this request's token (None for API keys or another user):
    saves a second read of the same row in one request."""
    user: User | None = _state(conn, "user")
    return user if user is not None and user_id is not None and user.id == user_id else None


def read_token(jimu: Jimu, token: str, *, kind: str = "a", db: Connection | None = None,
               app: str | None = None, conn: HTTPConnection | None = None) -> User:
    """The active user a token was issued to (401 when forged, expired, of another kind,
    or issued before the user was deactivated or changed password). The user row is read
    on every call (on ``db`` when given), so a deactivation applies at once; with ``app``
    the same query also reads that app's published version (see
    :func:`published_version_seen`)."""
    uid, epoch, sid = _claims(jimu, token, kind)
    shape = (app is not None, sid is not None)
    params: dict[str, Any] = {"_jimu_uid": uid}
    if app is not None:
        params["_jimu_app"] = app
    if sid is not None:
        params["_jimu_sid"] = _session_key(sid)
    row, version = _credential_row(jimu, db, "t:" + token, app, _STATEMENTS[(*shape, False)],
                                   _STATEMENTS[(*shape, True)], params,
                                   optimistic=_optimistic(conn))
    if row is None or not row["active"] or int(row["token_epoch"] or 0) != epoch:
        raise Unauthenticated("invalid or expired token", code="token.invalid")
    if sid is not None:
        expires = row["_jimu_session_expires"]
        if expires is None or expires <= now():
            raise Unauthenticated("the session has ended; log in again", code="session.ended")
        if conn is not None:
            conn.state.session_id = sid
    _note_version(conn, app, {"_jimu_app_version": version})
    user = _user_of_row(row)
    if conn is not None:
        conn.state.user = user
    return user


def login(jimu: Jimu, username: Any, password: Any) -> User:
    """Check a username and password with lockout: 401 on a mismatch, 429 (Retry-After)
    while the user is locked."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise ValidationError("username and password are required")
    with jimu.db.read() as c:
        row = c.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    at = now()
    if row is not None and row["locked_until"] is not None and row["locked_until"] > at:
        wait = max(1, int((row["locked_until"] - at).total_seconds() + 0.999))
        raise TooManyRequests(f"too many failed logins; try again in {wait} s", code="auth.locked",
                              extra={"retry_after": wait})
    if row is None or not row["active"]:
        verify_password(_DUMMY_HASH, password)
        raise Unauthenticated("wrong username or password", code="auth.failed")
    if not verify_password(row["password_hash"], password):
        failures = int(row["failed_logins"] or 0) + 1
        locked = None
        if failures >= LOCK_AFTER:
            seconds = min(LOCK_MAX_SECONDS, LOCK_BASE_SECONDS * 2 ** (failures - LOCK_AFTER))
            locked = at + timedelta(seconds=seconds)
        with jimu.db.write() as c:
            c.execute(users.update().where(users.c.id == row["id"]).values(failed_logins=failures,
                                                                           locked_until=locked))
        raise Unauthenticated("wrong username or password", code="auth.failed")
    if row["failed_logins"] or row["locked_until"] is not None:
        with jimu.db.write() as c:
            c.execute(users.update().where(users.c.id == row["id"]).values(failed_logins=0, locked_until=None))
    return jimu.users.get(int(row["id"]))


def _csrf_for(jimu: Jimu, sid: str) -> str:
    """The CSRF token of session ``sid``: an HMAC only the server can compute."""
    return _b64(hmac.new(_secret(jimu), b"csrf:" + sid.encode(), hashlib.sha256).digest())


def csrf_token(conn: HTTPConnection) -> str:
    """The CSRF token of the session this request authenticated with ("" for none)."""
    sid = _state(conn, "session_id")
    return _csrf_for(jimu_of(conn), sid) if isinstance(sid, str) else ""


def login_form_token(request: HTTPConnection) -> tuple[str, str | None]:
    """The CSRF token for a login form, and the pre-session nonce to set as the HttpOnly
    ``jimu_login`` cookie when the browser has none yet (else None). There is no session
    before the login, so the token is an HMAC of this per-browser nonce: a login form
    posted from another site cannot carry it (login CSRF)."""
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    fresh = None
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", nonce):
        nonce = fresh = pysecrets.token_urlsafe(24)
    return _login_token(jimu_of(request), nonce), fresh


def _login_token(jimu: Jimu, nonce: str) -> str:
    return _b64(hmac.new(_secret(jimu), b"login:" + nonce.encode(), hashlib.sha256).digest())


def login_form_ok(request: HTTPConnection, sent: object) -> bool:
    """Whether a posted login form carries the token of this browser's login nonce."""
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    if not nonce or not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent.encode(), _login_token(jimu_of(request), nonce).encode())


def set_login_nonce(response: Response, nonce: str | None, secure: bool) -> None:
    """Set the pre-session nonce cookie (see :func:`login_form_token`) when one was made."""
    if nonce is not None:
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict", secure=secure)


def login_session(request: Request, user: User, response: Response) -> str:
    """Start a screens session for ``user``: a server-side session row, the HttpOnly
    session cookie naming it, and the HttpOnly ``jimu_csrf`` cookie carrying its CSRF
    token (for non-browser clients; pages embed it); returns the CSRF token. Expired
    sessions are swept here."""
    jimu = jimu_of(request)
    ensure_session_table(jimu)
    sid = pysecrets.token_urlsafe(32)
    at = now()
    ttl = _ttl(jimu)
    with jimu.db.write() as c:
        # only a sweep that finds expired rows deletes: on PostgreSQL any DELETE on the table
        # bumps the auth generation (every worker's credential cache refills)
        if c.execute(sa.select(sessions.c.id).where(sessions.c.expires_at <= at).limit(1)).first() is not None:
            c.execute(sessions.delete().where(sessions.c.expires_at <= at))
        c.execute(sessions.insert().values(id=_session_key(sid), user_id=user.id, created_at=at,
                                           expires_at=at + timedelta(seconds=ttl)))
    token = issue_token(jimu, user, kind="s", sid=sid)
    csrf = _csrf_for(jimu, sid)
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, token, max_age=ttl, httponly=True, samesite="lax", secure=secure)
    response.set_cookie(CSRF_COOKIE, csrf, max_age=ttl, httponly=True, samesite="strict", secure=secure)
    response.delete_cookie(LOGIN_COOKIE)
    return csrf


def ensure_session_table(jimu: Jimu) -> None:
    """The session table exists (databases created before it was added get it here)."""
    if not jimu.settings.get("_perm_tables"):
        ensure_tables(jimu.db)
        jimu.settings["_perm_tables"] = True


def logout_session(request: HTTPConnection, response: Response) -> None:
    """End the screens session: deletes its server-side row (the cookie stops working at
    once, also a copy of it elsewhere) and clears both cookies."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        jimu = jimu_of(request)
        try:
            _, _, sid = _claims(jimu, token, "s")
        except Unauthenticated:
            sid = None
        if sid is not None:
            ensure_session_table(jimu)
            with jimu.db.write() as c:
                c.execute(sessions.delete().where(sessions.c.id == _session_key(sid)))
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)


def _api_key_actor(jimu: Jimu, key: str, source: str, *, db: Connection | None = None, app: str | None = None,
                   conn: HTTPConnection | None = None) -> Actor:
    bad = Unauthenticated("invalid API key", code="api_key.invalid")
    parts = key.split("_", 2)
    key_id = parse_id(parts[1], high=MAX_ROW_ID) if len(parts) == 3 else None
    if key_id is None:
        raise bad
    ensure_session_table(jimu)
    stmt = sa.select(api_keys, *_version_column(app)).where(api_keys.c.id == key_id)
    row, version = _credential_row(jimu, db, "k:" + key, app, stmt, stmt.add_columns(_generation_column()), {})
    if row is None or not row["active"]:
        raise bad
    digest = hashlib.sha256(key.encode()).hexdigest()
    if not hmac.compare_digest(row["key_hash"], digest):
        raise bad
    _note_version(conn, app, {"_jimu_app_version": version})
    return Actor(f"apikey:{row['name']}", (row["role"],), {"api_key_app": row["app"]}, source)


def create_api_key(jimu: Jimu, app: str, role: str, name: str, actor: Actor) -> dict[str, Any]:
    """Issue an API key for ``app`` acting with ``role``; the key is shown only here."""
    ensure_tables(jimu.db)
    with jimu.db.write() as c:
        kid = c.execute(api_keys.insert().values(app=app, role=role, name=name, key_hash="-", active=True,
                                                 created_by=actor.username, created_at=now())
                        .returning(api_keys.c.id)).scalar_one()
        key = f"jimu_{kid}_{pysecrets.token_urlsafe(32)}"
        c.execute(api_keys.update().where(api_keys.c.id == kid).values(key_hash=hashlib.sha256(key.encode()).hexdigest()))
    return {"id": kid, "app": app, "role": role, "name": name, "key": key}


def _key_json(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "app": row["app"], "role": row["role"], "name": row["name"], "active": row["active"],
            "created_by": row["created_by"], "created_at": row["created_at"].isoformat()}


def list_api_keys(jimu: Jimu, app: str) -> list[dict[str, Any]]:
    """The app's API keys, newest first, without their secrets (revoked ones included)."""
    ensure_tables(jimu.db)
    with jimu.db.read() as c:
        rows = c.execute(sa.select(api_keys).where(api_keys.c.app == app).order_by(api_keys.c.id.desc())).mappings()
        return [_key_json(r) for r in rows]


def revoke_api_key(jimu: Jimu, app: str, key_id: int, actor: Actor) -> dict[str, Any]:
    """Deactivate one of the app's API keys (404 for another app's key): the very next
    request with it answers 401. Audited; revoking twice is harmless."""
    ensure_tables(jimu.db)
    with jimu.db.write() as c:
        row = c.execute(sa.select(api_keys).where(api_keys.c.id == key_id, api_keys.c.app == app)).mappings().first()
        if row is None:
            raise NotFound(f"app '{app}' has no API key {key_id}", code="api_key.not_found")
        if row["active"]:
            c.execute(api_keys.update().where(api_keys.c.id == key_id).values(active=False))
            record_audit(c, app=app, user=actor.username, action="api_key.revoke", entity=None, record=key_id,
                         changes=[{"field": "active", "old": True, "new": False}],
                         summary=(f"{actor.username} 停用了 API 密钥 {row['name']}（角色 {row['role']}）",
                                  f"{actor.username} revoked API key {row['name']} (role {row['role']})"),
                         source=actor.source)
        return _key_json({**row, "active": False})


OPTIMISTIC = "optimistic_auth"  # request state: the route redoes itself on credcache.Stale


def _optimistic(conn: HTTPConnection | None) -> dict[str, Any] | None:
    """The request's state dict when it runs :func:`optimistically`, else None."""
    if conn is None:
        return None
    state: dict[str, Any] | None = conn.scope.get("state")
    return state if state is not None and state.get(OPTIMISTIC) else None


async def optimistically(request: Any, handler: Any) -> Any:
    """``await handler(request)`` with its token credentials assumed from the credential
    cache and checked with the request's first statement (:func:`credcache.assume`); on
    :class:`credcache.Stale` it runs again with the check read first (the first run
    answered nothing: its transaction rolled back). The handler must call
    :func:`credcache.settle` with the request's state before leaving its connection on
    any path."""
    state = request.scope.setdefault("state", {})
    state[OPTIMISTIC] = True
    try:
        return await handler(request)
    except credcache.Stale:
        pass
    finally:
        state.pop(OPTIMISTIC, None)
    for key in ("actor", "user", "app_version", "session_id", credcache.ASSUMPTION):
        state.pop(key, None)
    return await handler(request)


def _state(conn: HTTPConnection, name: str) -> Any:
    """``conn.state.<name>``, None when unset, read from the request's state dict itself
    (a miss through Starlette's ``State`` raises and catches an AttributeError: ~2.5 µs,
    several times a request)."""
    state = conn.scope.get("state")
    return None if state is None else state.get(name)


def _source(conn: HTTPConnection) -> str:
    return f"api:{conn.client.host}" if conn.client else "api"


def optional_actor(conn: HTTPConnection, *, db: Connection | None = None, app: str | None = None) -> Actor | None:
    """The caller, or None when the request carries no credentials (401 when it carries
    bad ones). ``db`` runs the credential query on that connection (saving a checkout);
    ``app`` also reads that app's published version in the same query."""
    cached = _state(conn, "actor")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    jimu = jimu_of(conn)
    found = credential_of(conn)
    actor: Actor | None = None
    kw: dict[str, Any] = {"db": db, "app": app, "conn": conn}
    if found is None:
        pass
    elif found[0] == "bearer":
        scheme, _, value = found[1].partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("use 'Authorization: Bearer <token>'", code="token.invalid")
        value = value.strip()
        actor = (_api_key_actor(jimu, value, _source(conn), **kw) if value.startswith("jimu_")
                 else read_token(jimu, value, **kw).actor(_source(conn)))
    elif found[0] == "key":
        actor = _api_key_actor(jimu, found[1], _source(conn), **kw)
    elif found[0] == "cookie":
        actor = read_token(jimu, found[1], kind="s", **kw).actor("screen")
        method = conn.scope.get("method", "GET")
        if method not in SAFE_METHODS:
            sent = conn.headers.get(CSRF_HEADER) or _state(conn, "csrf_form_token") or ""
            expected = csrf_token(conn)
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                raise PermissionDenied("missing or wrong CSRF token", code="csrf.failed")
    else:
        actor = read_token(jimu, found[1], **kw).actor(_source(conn))
    conn.state.actor = actor
    return actor


def credential_of(conn: HTTPConnection) -> tuple[str, str] | None:
    """Which credential the request carries, in order of precedence: ("bearer", the
    Authorization header), ("key", X-API-Key), ("cookie", the session token) or ("query",
    ?access_token= on a GET of the SSE stream only, for EventSource); None without any."""
    auth = conn.headers.get("authorization")
    if auth is not None:
        return "bearer", auth
    if conn.headers.get("x-api-key"):
        return "key", conn.headers["x-api-key"]
    if conn.cookies.get(SESSION_COOKIE):
        return "cookie", conn.cookies[SESSION_COOKIE]
    if (conn.query_params.get("access_token") and conn.scope.get("method", "GET") == "GET"
            and SSE_PATH.match(conn.scope.get("path", ""))):
        return "query", conn.query_params["access_token"]
    return None


def has_credentials(conn: HTTPConnection) -> bool:
    """Whether the request carries credentials (valid or not): without any, the answer is
    401 with no database read."""
    return credential_of(conn) is not None


def current_actor(conn: HTTPConnection, *, db: Connection | None = None, app: str | None = None) -> Actor:
    """The authenticated caller (401 without valid credentials). Works for the API and the
    screens alike: bearer token, API key, or session cookie with its CSRF check. ``db`` and
    ``app`` as for :func:`optional_actor`."""
    actor = optional_actor(conn, db=db, app=app)
    if actor is None:
        raise Unauthenticated("authentication required", code="unauthenticated")
    return actor


def require_admin(conn: HTTPConnection) -> Actor:
    """The caller when it holds the admin role as a user (API keys never administer the
    platform); 403 otherwise."""
    actor = current_actor(conn)
    if not is_admin(actor.roles) or (actor.attrs and actor.attrs.get("api_key_app")):
        raise PermissionDenied("this needs the admin role", code="forbidden.admin")
    return actor



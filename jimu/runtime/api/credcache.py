"""Remembered credentials, checked on every request against the auth generation.

Every request still reads the database once before trusting a credential: a statement of
two scalar subqueries, the auth generation (:mod:`jimu.platform.permissions.generation`,
bumped by triggers in the same transaction as any UPDATE or DELETE of a user, an API key
or a session) and, for a path under an app, that app's published version. When the
generation is the one read together with the remembered user row (or API key row, or
session expiry), nothing that row says can have changed, so the row is used as read then;
otherwise the full credential query runs and its answer (with the generation read in that
same statement) replaces the entry. A deactivation, a role change, a password change, a
revoked key or a logout therefore applies on the very next request, from any worker,
process or SQL session on the same database.

The check statement runs on the request's connection through the driver's cursor
(no SQLAlchemy statement execution: it is the same constant text every time). The
entries are kept per Jimu, at most ``MAX_ENTRIES`` (cleared when full).

Invalidation is tested in ``tests/runtime/api/test_credential_cache.py`` on both databases;
mutations seen failing there: no trigger on ``jimu_user`` (deactivation, role and password
changes kept answering 200), none on ``jimu_api_key`` or ``jimu_session``, and
:func:`remembered` ignoring the generation an entry was read with.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from jimu.platform.permissions.generation import generation_installed
from jimu.platform.pgbegin import begin_with, literal
from jimu.platform.pgdirect import NOT_DIRECT, defer_check
from jimu.platform.pgdirect import settle as settle_check
from jimu.platform.pgtail import direct
from jimu.runtime.context import Jimu

__all__ = ["MAX_ENTRIES", "remembered", "remember", "check", "ready", "GEN", "Stale", "Assumption", "ASSUMPTION",
           "assume", "settle"]

MAX_ENTRIES = 10_000
GEN = "_jimu_auth_gen"  # the generation's column in the full credential queries
_CACHE = "_credential_cache"
_READY = "_auth_generation_ready"
_SQL = {
    # (paramstyle, with an app) -> the check statement
    ("qmark", False): "SELECT (SELECT value FROM jimu_auth_generation WHERE id = 1)",
    ("qmark", True): "SELECT (SELECT value FROM jimu_auth_generation WHERE id = 1), "
                     "(SELECT published_version FROM jimu_app WHERE name = ?)",
    ("pyformat", False): "SELECT (SELECT value FROM jimu_auth_generation WHERE id = 1)",
    ("pyformat", True): "SELECT (SELECT value FROM jimu_auth_generation WHERE id = 1), "
                        "(SELECT published_version FROM jimu_app WHERE name = %s)",
}


# The PostgreSQL statements with a named parameter (jimu.platform.pgdirect), by "with an app".
_NAMED = {False: _SQL[("pyformat", False)], True: _SQL[("pyformat", True)].replace("%s", "%(app)s")}


def ready(jimu: Jimu, conn: Connection) -> bool:
    """Whether this database has the auth generation (its counter and triggers); asked
    once per Jimu. Without it nothing is remembered and every request reads its
    credentials in full (a database opened without upgrading)."""
    value = jimu.settings.get(_READY)
    if value is None:
        value = jimu.settings[_READY] = generation_installed(conn) and _paramstyle(conn) is not None
    return bool(value)


def _paramstyle(conn: Connection) -> str | None:
    style = conn.dialect.paramstyle
    if style in ("qmark", "pyformat", "format"):
        return "pyformat" if style == "format" else style
    return None


def check(conn: Connection, app: str | None) -> tuple[int | None, int | None]:
    """(the auth generation, ``app``'s published version or None) read now on ``conn``.
    On PostgreSQL, as the transaction's first statement, it goes with its ``BEGIN``
    (:mod:`jimu.platform.pgbegin`): one round trip for both; on a read connection
    (autocommit) straight through libpq (:mod:`jimu.platform.pgdirect`)."""
    if conn.dialect.name == "postgresql":
        sql = _SQL[("pyformat", app is not None)]
        rows = begin_with(conn, sql if app is None else sql.replace("%s", literal(conn, app)))
        if rows is not None:
            first = rows[0] if rows else None
            return _ints(first, app)
    style = _paramstyle(conn)
    # A read of the read pool: straight through libpq, after what waits on the connection.
    got = direct(conn, _NAMED[app is not None], {"app": app}, True)
    if got is not NOT_DIRECT:
        return _ints(got[1], app)
    raw = conn.connection.dbapi_connection
    assert raw is not None and style is not None
    cur = raw.cursor()
    try:
        if app is None:
            cur.execute(_SQL[(style, False)])
        else:
            cur.execute(_SQL[(style, True)], (app,))
        row = cur.fetchone()
    finally:
        cur.close()
    return _ints(row, app)


class Stale(Exception):
    """An optimistic request's check found the credential or the app's published version
    changed since what it assumed (:func:`assume`): redo the request with the check read
    first. Raised by the check's verdict, never answered to a client."""


class Assumption:
    """What :func:`assume` took as true for a request; ``held`` once its check said so."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = False


ASSUMPTION = "credential_assumption"  # request state: the request's Assumption, if it made one


def assume(jimu: Jimu, conn: Connection, credential: str, app: str | None,
           state: dict[str, Any]) -> tuple[Any, int | None] | None:
    """(the remembered row of ``credential``, ``app``'s published version as this process
    serves it) taken as still true without waiting for the check: on PostgreSQL the check
    then goes with the transaction's next statement, in the same round trip
    (:func:`jimu.platform.pgdirect.defer_check`), and raises :class:`Stale` there, before
    anything read after it is answered, when the auth generation or the published version
    differs. The assumption is kept in the request's ``state`` for :func:`settle`. None
    when nothing can be assumed (nothing remembered, the app not loaded) or this does not
    apply: the caller reads the check first."""
    hit = _entries(jimu).get(credential)
    if hit is None:
        return None
    version = None
    if app is not None:
        version = jimu.apps.loaded_version(app)
        if version is None:
            return None
    generation = hit[0]
    assumption = Assumption()

    def verify(row: Any) -> None:
        if _ints(row, app) != (generation, version):
            raise Stale()  # no credential in it: exceptions get logged
        assumption.held = True

    if not defer_check(conn, _NAMED[app is not None], {"app": app}, verify):
        return None
    state[ASSUMPTION] = assumption
    return hit[1], version


def settle(conn: Connection, state: dict[str, Any]) -> None:
    """Before an answer built on an assumption leaves (a refusal included): verify now a
    check still waiting on ``conn``, and insist that the request's assumption (in its
    ``state``) was verified and held, whichever connection read it: :class:`Stale` when
    it did not hold, the check's own error when it could not be read."""
    settle_check(conn.connection)
    assumption = state.get(ASSUMPTION)
    if assumption is not None and not assumption.held:
        raise Stale()


def _ints(row: Any, app: str | None) -> tuple[int | None, int | None]:
    if row is None:
        return None, None
    return (None if row[0] is None else int(row[0])), (None if app is None or row[1] is None else int(row[1]))


def _entries(jimu: Jimu) -> dict[str, tuple[int, Any]]:
    cache: dict[str, tuple[int, Any]] = jimu.settings.setdefault(_CACHE, {})
    return cache


def remembered(jimu: Jimu, credential: str, generation: int | None) -> Any:
    """What was remembered for ``credential`` at ``generation`` (None: nothing, or it was
    read at another generation and may be stale)."""
    if generation is None:
        return None
    hit = _entries(jimu).get(credential)
    if hit is None or hit[0] != generation:
        return None
    return hit[1]


def remember(jimu: Jimu, credential: str, generation: Any, value: Any) -> None:
    """Keep ``value`` (a row as read with ``generation`` in the same statement)."""
    if generation is None:
        return
    cache = _entries(jimu)
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    cache[credential] = (int(generation), value)

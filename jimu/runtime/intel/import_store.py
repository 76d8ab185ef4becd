"""Where import previews are kept between ``POST .../import/preview`` and ``POST .../import``:
a system table, so the import may reach any worker of ``jimu serve --workers N`` (or any
process on the same database), not only the one that read the file.

One row per preview: a random id, the app and the user it is bound to (another user, or
the same user in another app, never reads it), an expiry (``TTL_SECONDS`` after upload)
and the inferred columns and the rows as zlib-compressed JSON. Cells keep their Python
types through the JSON (dates, datetimes, times, durations and decimals are tagged), so
the import reads exactly what the preview read. Cleanup happens on every save: expired
previews of every user are deleted, and a user keeps at most ``MAX_PER_USER`` previews per
app (the oldest go first). The table is created with the other system tables (this module
is in ``SYSTEM_TABLE_MODULES``) and, for a database opened before this module was
imported, on first use."""

from __future__ import annotations

import json
import threading
import weakref
import zlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core import clock
from jimu.platform.db import Database, TZDateTime, system_metadata

__all__ = ["import_previews", "save_preview", "load_preview", "sweep_previews", "encode", "decode",
           "TTL_SECONDS", "MAX_PER_USER"]

TTL_SECONDS = 1800
MAX_PER_USER = 16

import_previews = sa.Table(
    "jimu_import_preview",
    system_metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("app", sa.String(63), nullable=False),
    sa.Column("username", sa.String(150), nullable=False),
    sa.Column("created_at", TZDateTime, nullable=False),
    sa.Column("expires_at", TZDateTime, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_jimu_import_preview_owner", "app", "username", "created_at"),
    sa.Index("ix_jimu_import_preview_expiry", "expires_at"),
)

_ready: weakref.WeakSet[object] = weakref.WeakSet()
_lock = threading.Lock()


def _ensure(conn: Connection) -> None:
    """Create the table if missing (once per engine)."""
    if conn.engine in _ready:
        return
    with _lock:
        import_previews.create(bind=conn, checkfirst=True)
        _ready.add(conn.engine)


def _tagged(v: Any) -> Any:
    if isinstance(v, datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, date):
        return {"$d": v.isoformat()}
    if isinstance(v, time):
        return {"$t": v.isoformat()}
    if isinstance(v, timedelta):
        return {"$td": v.total_seconds()}
    if isinstance(v, Decimal):
        return {"$n": format(v, "f")}
    raise TypeError(f"an import cell of type {type(v).__name__}")


_UNTAG: dict[str, Callable[[Any], Any]] = {"$dt": datetime.fromisoformat, "$d": date.fromisoformat, "$t": time.fromisoformat,
          "$td": lambda s: timedelta(seconds=s), "$n": Decimal}


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        ((key, value),) = obj.items()
        back = _UNTAG.get(key)
        if back is not None:
            return back(value)
    return obj


def encode(payload: Any) -> bytes:
    """``payload`` (cells of the types :mod:`import_read` returns) as compressed JSON."""
    text = json.dumps(payload, default=_tagged, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode("utf-8"), 1)


def decode(data: bytes) -> Any:
    """What :func:`encode` was given, with the same cell types."""
    return json.loads(zlib.decompress(data).decode("utf-8"), object_hook=_untag)


def sweep_previews(conn: Connection, now: datetime | None = None) -> int:
    """Delete the expired previews; returns how many."""
    _ensure(conn)
    t = import_previews
    return conn.execute(sa.delete(t).where(t.c.expires_at <= (now or clock.now()))).rowcount or 0


def save_preview(db: Database, preview_id: str, app: str, username: str, payload: Any, rows: int) -> None:
    """Keep ``payload`` as preview ``preview_id`` of (``app``, ``username``), sweeping the
    expired previews and the user's oldest beyond ``MAX_PER_USER`` in the same transaction."""
    data = encode(payload)
    now = clock.now()
    t = import_previews
    with db.write() as conn:
        _ensure(conn)
        sweep_previews(conn, now)
        conn.execute(sa.insert(t).values(id=preview_id, app=app, username=username, created_at=now,
                                         expires_at=now + timedelta(seconds=TTL_SECONDS), rows=rows, data=data))
        keep = (sa.select(t.c.id).where(t.c.app == app, t.c.username == username)
                .order_by(t.c.created_at.desc(), t.c.id.desc()).limit(MAX_PER_USER))
        conn.execute(sa.delete(t).where(t.c.app == app, t.c.username == username,
                                        t.c.id.not_in(keep.scalar_subquery())))


def load_preview(db: Database, preview_id: str, app: str, username: str) -> Any | None:
    """The payload of the caller's unexpired preview, or None (unknown, expired, or
    someone else's: the same answer, so an id reveals nothing)."""
    t = import_previews
    with db.read() as conn:
        if conn.engine not in _ready:
            has = sa.inspect(conn).has_table(t.name)
            if not has:
                return None
            _ready.add(conn.engine)
        data = conn.execute(sa.select(t.c.data).where(t.c.id == preview_id, t.c.app == app,
                                                      t.c.username == username,
                                                      t.c.expires_at > clock.now())).scalar()
    return decode(data) if data is not None else None

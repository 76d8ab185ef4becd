"""Fresh planner statistics: for tables a bulk write has just changed wholesale, and kept
fresh where autovacuum is off (:func:`start_keeper`).

Why: PostgreSQL plans from statistics that autovacuum refreshes at its own pace (a
minute or more after the write; never where autovacuum is off). An MRP run writes
400,000 planned orders in one transaction, and a net change right after it reads and
deletes a few thousand of them by ``(run, item)``. Planned on the old statistics (none,
or a table holding another run), PostgreSQL expected a few hundred rows for the run and
walked the whole run through its single-column index: 0.4 s a query instead of 10 ms.
``ANALYZE`` samples a fixed number of rows (30,000 at the default statistics target),
so it costs about the same for any large table (0.1-0.25 s for the run's 400k lines).

Inside the caller's transaction: PostgreSQL's ANALYZE counts the rows the transaction
itself inserted, and its lock (SHARE UPDATE EXCLUSIVE) blocks no reader or writer, only
another ANALYZE or VACUUM of the same table until the commit. SQLite plans without
statistics (its planner prefers the longest matching index), so nothing is done there.

**Where autovacuum is off** (as on this project's machines) no statistics ever come by
themselves: a table created empty and filled over the API keeps the planner's guess of a
few rows, and a list of 50 newest rows of one owner then reads all of that owner's rows
and sorts them (a bitmap scan, 4 ms at 11,000 rows and growing with the table) where the
index ``(owner, created_at, id)`` answers in a fraction of a millisecond.
:func:`start_keeper` (a background loop of ``jimu serve``) does what autovacuum's analyze
would: every :data:`KEEP_EVERY` seconds it looks at the tables of the connection's schema
and analyzes those changed by more than PostgreSQL's own threshold since their last
analyze (:data:`THRESHOLD` rows plus :data:`SCALE` of the table's size). It does nothing
where autovacuum is on, and skips a table another session holds a conflicting lock on (a
schema change, another worker's ANALYZE): ``SKIP_LOCKED``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["refresh_statistics", "analyze_stale", "start_keeper", "KEEP_EVERY", "THRESHOLD", "SCALE"]

log = logging.getLogger("jimu.table_stats")
#: Seconds between two looks at the tables' changes (:func:`start_keeper`).
KEEP_EVERY = 10.0
#: PostgreSQL's ``autovacuum_analyze_threshold`` and ``autovacuum_analyze_scale_factor``
#: defaults: a table is analyzed once more rows than THRESHOLD + SCALE x its size changed.
THRESHOLD = 50
SCALE = 0.1
#: The tables of the connection's schema changed past the threshold since their last
#: analyze, most changed first (``reltuples`` is -1 for a table never analyzed).
_STALE = sa.text(
    "SELECT quote_ident(s.relname) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
    "WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze > :threshold + :scale * greatest(c.reltuples, 0) "
    "ORDER BY s.n_mod_since_analyze DESC LIMIT 20")


def refresh_statistics(conn: Connection, tables: Iterable[sa.Table]) -> list[str]:
    """``ANALYZE`` ``tables`` on PostgreSQL (one statement) within ``conn``'s transaction;
    returns the names analyzed (none on other databases)."""
    if conn.dialect.name != "postgresql":
        return []
    prep = conn.dialect.identifier_preparer
    names = [prep.format_table(t) for t in tables]
    if names:
        conn.exec_driver_sql("ANALYZE " + ", ".join(names))
    return names


def analyze_stale(engine: Engine) -> list[str]:
    """``ANALYZE`` the tables of ``engine``'s schema changed past the threshold since their
    last analyze (see the module doc); returns their names (quoted as in SQL). One worker
    at a time per schema (a transaction-scoped advisory lock; another worker's pass skips);
    a table locked by someone else is skipped. Nothing on other databases."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:
        if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(hashtext('jimu.table_stats:' || current_schema()))")).scalar():
            return []
        names = list(conn.execute(_STALE, {"threshold": THRESHOLD, "scale": SCALE}).scalars())
        if names:
            conn.exec_driver_sql("ANALYZE (SKIP_LOCKED) " + ", ".join(names))
    return names


def _autovacuum_off(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT current_setting('autovacuum') = 'off'")).scalar())


def start_keeper(jimu: Any, *, every: float = KEEP_EVERY) -> Callable[[], None]:
    """On PostgreSQL: a daemon thread that checks once that autovacuum is off (else it
    ends: autovacuum's analyze does the work), then runs :func:`analyze_stale` at once and
    every ``every`` seconds; returns ``stop()`` (idempotent, joins the thread). A failure
    (the database away) is logged and the next pass tries again. A no-op ``stop`` on other
    databases."""
    engine: Engine = jimu.db.engine
    if engine.dialect.name != "postgresql":
        return lambda: None
    stopping = threading.Event()

    def loop() -> None:
        checked = False
        while not stopping.is_set():
            try:
                if not checked:
                    if not _autovacuum_off(engine):
                        return
                    checked = True
                analyze_stale(engine)
            except Exception:  # noqa: BLE001 - the next pass retries; never stop the loop
                log.exception("refreshing table statistics failed")
            stopping.wait(every)

    thread = threading.Thread(target=loop, name="jimu-table-stats", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join(timeout=30)

    return stop

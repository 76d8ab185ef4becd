"""Planner statistics kept fresh where autovacuum is off (``jimu.platform.table_stats``):
a table changed past PostgreSQL's own analyze threshold is analyzed (and a list of one
owner's newest rows then walks its index instead of sorting all the owner's rows), one
below it is not, another worker's pass in progress is left alone, another schema's tables
are not touched, and the server's keeper does it by itself. Nothing on SQLite.

Each test names the mutation it was seen failing on."""

from __future__ import annotations

import threading
import time
import types
import uuid

import sqlalchemy as sa

from jimu.platform.db import Database
from jimu.platform.table_stats import analyze_stale, start_keeper

LIST = "SELECT * FROM t_stats WHERE owner = 'a' ORDER BY created_at DESC, id DESC LIMIT 50"


def _make(db: Database, name: str = "t_stats") -> None:
    """A table like a generated one: a text field declared long (the planner, without
    statistics, guesses rows of ~2 kB from it, so few rows a page) and the row filter's
    index ``(owner, created_at, id)``."""
    with db.engine.begin() as c:
        c.exec_driver_sql(f"CREATE TABLE {name} (id SERIAL PRIMARY KEY, owner TEXT NOT NULL, "
                          "created_at TIMESTAMPTZ NOT NULL DEFAULT now(), note VARCHAR(4000))")
        c.exec_driver_sql(f"CREATE INDEX ix_{name.replace('.', '_')} ON {name} (owner, created_at, id)")


def _insert(db: Database, n: int, name: str = "t_stats", *, wait: bool = True) -> None:
    """``n`` rows of owner 'a', from a connection of its own that then ends: its backend
    reports the changes to the statistics as it exits; waited for unless not ``wait``
    (a keeper running may analyze the table, and so zero its count, before a look)."""
    engine = sa.create_engine(db.engine.url)
    try:
        with engine.begin() as c:
            before = _changed(c, name)
            c.exec_driver_sql(f"INSERT INTO {name} (owner, created_at, note) SELECT 'a', "
                              f"now() - g * interval '1 second', repeat('x', 200) FROM generate_series(1, {n}) g")
    finally:
        engine.dispose()
    if not wait:
        return
    deadline = time.monotonic() + 10
    while True:
        with db.engine.connect() as c:
            if _changed(c, name) >= before + n:
                return
        assert time.monotonic() < deadline, "the inserts never reached the statistics"
        time.sleep(0.05)


def _changed(c: sa.Connection, name: str) -> int:
    schema, _, table = name.rpartition(".")
    return int(c.execute(sa.text(
        "SELECT coalesce(sum(n_mod_since_analyze), 0) FROM pg_stat_user_tables "
        "WHERE relname = :t AND schemaname = coalesce(nullif(:s, ''), current_schema())"),
        {"t": table, "s": schema}).scalar_one())


def _plan(db: Database) -> str:
    with db.engine.connect() as c:
        return "\n".join(r[0] for r in c.exec_driver_sql("EXPLAIN " + LIST))


def _rows_known(db: Database, name: str = "t_stats") -> float:
    with db.engine.connect() as c:
        return float(c.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:n)"),
                               {"n": name}).scalar_one())


def test_a_table_changed_past_the_threshold_is_analyzed(db: Database) -> None:
    """20,000 rows in a table analyzed empty: the planner guesses a few rows, reads all of
    the owner's and sorts them; once analyzed it walks the index backwards. Mutation:
    ``analyze_stale`` not running its ANALYZE (the statistics stay unknown)."""
    if db.is_sqlite:
        assert analyze_stale(db.engine) == []
        return
    _make(db)
    with db.engine.begin() as c:
        c.exec_driver_sql("ANALYZE t_stats")  # empty, as a table is when its app is published
    _insert(db, 20_000)
    assert "Sort" in _plan(db)  # the guess: a few rows, sorted
    assert analyze_stale(db.engine) == ["t_stats"]
    assert _rows_known(db) == 20_000
    plan = _plan(db)
    assert "Index Scan Backward using ix_t_stats" in plan and "Sort" not in plan, plan
    assert analyze_stale(db.engine) == []  # nothing changed since


def test_a_table_changed_below_the_threshold_is_not(db: Database) -> None:
    """1,000 rows analyzed: 100 more are below 50 + 10 % (150), 100 after that are past it.
    Mutation: the threshold without its share of the table's size (the first 100 rows
    analyze it)."""
    if db.is_sqlite:
        return
    _make(db)
    _insert(db, 1_000)
    assert analyze_stale(db.engine) == ["t_stats"]
    _insert(db, 100)
    assert analyze_stale(db.engine) == []
    _insert(db, 100)
    assert analyze_stale(db.engine) == ["t_stats"]
    assert _rows_known(db) == 1_200


def test_another_workers_pass_is_left_alone(db: Database) -> None:
    """A pass holding the schema's advisory lock: another one at that moment does nothing.
    Mutation: ``analyze_stale`` not taking the lock (both analyze)."""
    if db.is_sqlite:
        return
    _make(db)
    _insert(db, 500)
    with db.engine.begin() as other:
        assert other.execute(sa.text(
            "SELECT pg_try_advisory_xact_lock(hashtext('jimu.table_stats:' || current_schema()))")).scalar()
        assert analyze_stale(db.engine) == []
    assert analyze_stale(db.engine) == ["t_stats"]


def test_another_schemas_tables_are_not_touched(db: Database) -> None:
    """Mutation: the stale tables looked up without ``schemaname = current_schema()``."""
    if db.is_sqlite:
        return
    other = "t_stats_other_" + uuid.uuid4().hex[:8]
    with db.engine.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {other}")
    try:
        _make(db, f"{other}.t_far")
        _insert(db, 500, f"{other}.t_far")
        assert analyze_stale(db.engine) == []
        assert _rows_known(db, f"{other}.t_far") < 0  # never analyzed
    finally:
        with db.engine.begin() as c:
            c.exec_driver_sql(f"DROP SCHEMA {other} CASCADE")


def _keeper_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "jimu-table-stats"]


def test_the_keeper_analyzes_by_itself(db: Database) -> None:
    """The server's loop (here every 50 ms) analyzes a table soon after it grew, where
    autovacuum is off (this project's machines); where it is on, the loop ends at once,
    and on SQLite none starts. Mutation: the loop's body not calling ``analyze_stale``."""
    jimu = types.SimpleNamespace(db=db)
    before = len(_keeper_threads())
    if db.is_sqlite:
        stop = start_keeper(jimu, every=0.05)
        assert len(_keeper_threads()) == before
        stop()
        return
    with db.engine.connect() as c:
        autovacuum_off = c.execute(sa.text("SELECT current_setting('autovacuum') = 'off'")).scalar()
    _make(db)
    stop = start_keeper(jimu, every=0.05)
    try:
        if not autovacuum_off:
            deadline = time.monotonic() + 10
            while len(_keeper_threads()) > before:
                assert time.monotonic() < deadline, "the keeper kept running with autovacuum on"
                time.sleep(0.05)
            return
        _insert(db, 2_000, wait=False)  # the keeper's analyze is what is waited for
        deadline = time.monotonic() + 10
        while _rows_known(db) != 2_000:
            assert time.monotonic() < deadline, "the keeper never analyzed the table"
            time.sleep(0.05)
    finally:
        stop()
    stop()  # idempotent
    assert len(_keeper_threads()) == before

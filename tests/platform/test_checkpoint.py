"""Background WAL checkpoints: the log is copied back without a commit paying for it, the
thread ends with dispose(), and a deleted database is never created again."""

from __future__ import annotations

import os
import sqlite3
import time

import sqlalchemy as sa

from jimu.platform.checkpoint import AUTOCHECKPOINT_PAGES, Checkpointer
from jimu.platform.db import Database


def _wait(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_writes_are_checkpointed_in_the_background(tmp_path):
    path = tmp_path / "c.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.write() as c:
            c.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            assert c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == AUTOCHECKPOINT_PAGES
        for i in range(200):
            with db.write() as c:
                c.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), {"v": "x" * 500 + str(i)})
        checkpointer = db._checkpointer
        assert checkpointer is not None and checkpointer.alive

        # The rows (about 100 KB) went to the log; the commits stayed far below the
        # backstop, so only the thread copies them into the database file itself.
        assert _wait(lambda: checkpointer.runs > 0 and path.stat().st_size > 100_000)
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 200
    finally:
        db.dispose()
    assert not checkpointer.alive
    assert db._checkpointer is None


def test_checkpointer_never_recreates_a_deleted_database(tmp_path):
    path = tmp_path / "gone.db"
    sqlite3.connect(path).close()
    cp = Checkpointer(str(path), interval=0.02)
    try:
        assert _wait(lambda: cp.runs > 0)
        os.remove(path)
        time.sleep(0.2)
        assert not path.exists()
    finally:
        cp.stop()
    assert not cp.alive


def test_memory_databases_and_the_off_switch_have_no_thread(tmp_path, monkeypatch):
    db = Database("sqlite://")
    with db.write() as c:
        c.exec_driver_sql("SELECT 1")
    assert db._checkpointer is None
    db.dispose()
    monkeypatch.setenv("JIMU_SQLITE_CHECKPOINT", "0")
    off = Database(f"sqlite:///{tmp_path / 'off.db'}")
    with off.write() as c:
        assert c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000  # SQLite's own default
    assert off._checkpointer is None
    off.dispose()


def test_a_bulk_write_leaves_its_checkpoint_to_the_thread(tmp_path, monkeypatch):
    """A bulk insert (jimu.platform.fast_insert, more rows than SQLITE_CHUNK) commits
    without copying its log back even past the backstop; an ordinary write past it does
    (the observation: the database file's size right after the commit, with the thread
    asleep); the connection's backstop is back for the next transaction.
    Mutations tried: fast_insert without its defer_checkpoint call (seen failing: the file
    grew at the bulk commit); the pool's checkin not restoring the threshold (seen
    failing: wal_autocheckpoint 0 in the next transaction)."""
    import jimu.platform.checkpoint as checkpoint
    import jimu.platform.db as dbmod
    import jimu.platform.fast_insert as fi

    monkeypatch.setattr(dbmod, "AUTOCHECKPOINT_PAGES", 50)
    monkeypatch.setattr(dbmod, "Checkpointer", lambda p: checkpoint.Checkpointer(p, interval=3600.0))  # asleep
    monkeypatch.setattr(fi, "SQLITE_CHUNK", 20)
    path = tmp_path / "bulk.db"
    db = Database(f"sqlite:///{path}")
    t = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text))
    try:
        with db.write() as c:
            t.create(c)
        with db.read() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        before = path.stat().st_size
        with db.write() as c:  # ~400 KB: about 100 pages, twice the backstop
            assert fi.insert_rows(c, t, ["v"], (("x" * 2000 + str(i),) for i in range(200))) == 200
        assert path.stat().st_size == before
        with db.write() as c:
            assert c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 50
            c.execute(t.insert(), [{"v": "y" * 2000 + str(i)} for i in range(200)])
        assert path.stat().st_size > before + 400_000  # this commit copied both writes back
    finally:
        db.dispose()

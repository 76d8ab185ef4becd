"""``LeanInsert`` (the audit and outbox rows of every write, through the driver) stores
what ``Connection.execute(table.insert(), ...)`` stores, byte for byte, on SQLite and
PostgreSQL; ``json_text`` reads back as what ``json.dumps`` wrote."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from jimu.platform import wakeup
from jimu.platform.db import Database, TZDateTime
from jimu.platform.lean_insert import LeanInsert, insert_together, json_text, json_text_of
from jimu.platform.values import to_json

_meta = sa.MetaData()
_rows = sa.Table(
    "t_lean_insert", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", TZDateTime, nullable=False),
    sa.Column("name", sa.String(150)),
    sa.Column("amount", sa.Numeric(18, 4)),
    sa.Column("n", sa.Integer),
    sa.Column("doc", sa.JSON),
    sa.Column("tags", sa.JSON),
)
KEYS = ("at", "name", "amount", "n", "doc", "tags")
VALUE = {"at": datetime(2026, 12, 6, 9, 30, 1, 123456, tzinfo=timezone(timedelta(hours=8))),
         "name": "张三's \"row\"", "amount": Decimal("12.5"), "n": 7,
         "doc": [{"field": "名称", "old": None, "new": "12.5000"}, {"field": "x", "old": 1.5, "new": True}],
         "tags": ["admin", "仓管"]}


def _stored(db, row_id: int) -> dict[str, object]:
    """The row as the database keeps it: every column read as text."""
    with db.read() as c:
        row = c.execute(sa.select(*(sa.cast(_rows.c[k], sa.Text).label(k) for k in KEYS))
                        .where(_rows.c.id == row_id)).mappings().one()
    return dict(row)


@pytest.mark.parametrize("encoded", [(), ("doc", "tags")])
def test_the_row_is_stored_as_through_sqlalchemy(db, encoded) -> None:
    """Mutation: give ``LeanInsert`` no bind processors (values straight to the driver):
    the timestamp is stored in another form (SQLite) or the JSON is refused (PostgreSQL).
    With ``encoded`` columns given as ``json_text``: the same row read back (the text
    itself differs: compact orjson against ``json.dumps``'s spaces)."""
    _meta.create_all(db.engine)
    lean = LeanInsert(_rows, KEYS, encoded=encoded)
    given = {**VALUE, **{k: json_text(VALUE[k]) for k in encoded}}
    with db.write() as c:
        c.execute(_rows.insert(), VALUE)
        lean(c, given)
        lean(c, {**given, "name": None, "amount": None, "n": None})
    with db.read() as c:
        rows = [dict(r) for r in c.execute(sa.select(_rows).order_by(_rows.c.id)).mappings()]
    for r in rows:
        r.pop("id")
    assert rows[1] == rows[0]
    assert rows[1]["at"] == VALUE["at"] and rows[1]["doc"] == VALUE["doc"]
    assert rows[2] == {**rows[0], "name": None, "amount": None, "n": None}
    if not encoded:
        assert _stored(db, 2) == _stored(db, 1)
    else:
        first, second = _stored(db, 1), _stored(db, 2)
        assert {k: v for k, v in second.items() if k not in encoded} == {
            k: v for k, v in first.items() if k not in encoded}
        assert all(json.loads(str(second[k])) == json.loads(str(first[k])) for k in encoded)


@pytest.mark.parametrize("value", [
    [{"field": "名称", "old": None, "new": "12.5000"}], {"a": [1, 2.5, True, None, "\u2028"]}, [], {}, "x",
])
def test_json_text_reads_back_as_json_dumps_wrote(value) -> None:
    """Plain JSON-ready values: orjson's text, read back as ``json.dumps``'s."""
    assert json.loads(json_text(value)) == json.loads(json.dumps(value)) == value


@pytest.mark.parametrize("value", [[float("nan")], {"n": float("inf")}, [-float("inf")], [10 ** 20], {1: "key"},
                                   [{"field": "x", "old": None, "new": [1, "a", {"deep": (True, float("nan"))}]}]])
def test_what_orjson_would_write_otherwise_goes_through_json_dumps(value) -> None:
    """NaN and infinities (orjson writes null), integers beyond 64 bits and non-string
    keys (orjson refuses): the text ``json.dumps`` writes, as before. Mutation: drop the
    ``_odd`` guard and the NaN and infinity cases become ``null``; drop the ``except
    TypeError`` fallback and the huge integer and the integer key raise."""
    assert json_text(value) == json.dumps(value)


_typed = sa.Table(
    "t_lean_returning", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sku", sa.String(40), unique=True),
    sa.Column("at", TZDateTime),
    sa.Column("day", sa.Date),
    sa.Column("amount", sa.Numeric(18, 4)),
    sa.Column("flag", sa.Boolean),
    sa.Column("doc", sa.JSON),
)
TYPED_KEYS = ("sku", "at", "day", "amount", "flag", "doc")


@pytest.mark.parametrize("or_nothing", [False, True])
def test_the_returned_row_is_what_sqlalchemy_reads(db, or_nothing) -> None:
    """``row()`` answers the RETURNING row as SQLAlchemy's ``execute(...).mappings()``
    does (Decimal with the column's scale, aware timestamps, dates, booleans, JSON), and
    None when ``or_nothing`` met a taken value. Mutation: skip the result processors and
    the decimal comes back as the driver's text or float (SQLite), the timestamp naive."""
    _meta.create_all(db.engine)
    value = {"sku": "A", "at": datetime(2026, 12, 6, 9, 30, 1, tzinfo=timezone(timedelta(hours=8))),
             "day": datetime(2026, 12, 6).date(), "amount": Decimal("3.5"), "flag": True,
             "doc": {"k": ["名", 1, None]}}
    lean = LeanInsert(_typed, TYPED_KEYS, returning=True, or_nothing=or_nothing)
    with db.write() as c:
        want = dict(c.execute(_typed.insert().returning(*_typed.c), value).mappings().one())
        got = lean.row(c, {**value, "sku": "B"})
        nulls = lean.row(c, {**{k: None for k in TYPED_KEYS}, "sku": "C"})
        if or_nothing:
            assert lean.row(c, {**value, "sku": "A"}) is None
    assert got is not None and nulls is not None
    assert got == {**want, "id": got["id"], "sku": "B"}
    assert [type(got[k]) for k in TYPED_KEYS] == [type(want[k]) for k in TYPED_KEYS]
    assert str(got["amount"]) == str(want["amount"]) == "3.5000"
    assert nulls == {"id": nulls["id"], "sku": "C", **{k: None for k in TYPED_KEYS[1:]}}


_other = sa.Table(
    "t_lean_other", _meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("label", sa.String(40), nullable=False),
    sa.Column("doc", sa.JSON),
)


def _statements(db) -> tuple[list[str], Callable[[], None]]:
    seen: list[str] = []

    def spy(_conn, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", spy)
    return seen, lambda: sa.event.remove(db.engine, "before_cursor_execute", spy)


def test_insert_together_is_one_statement_on_postgresql(db) -> None:
    """Rows of two tables written by ``insert_together`` are stored as one by one, in one
    statement on PostgreSQL (two on SQLite). Mutation: run the rows one by one on
    PostgreSQL too and the statement count is two; drop a row from the batch and its
    table stays empty."""
    _meta.create_all(db.engine)
    lean = LeanInsert(_rows, KEYS, encoded=("doc", "tags"))
    other = LeanInsert(_other, ("label", "doc"), encoded=("doc",))
    given = {**VALUE, "doc": json_text(VALUE["doc"]), "tags": json_text(VALUE["tags"])}
    seen, stop = _statements(db)
    try:
        with db.write() as c:
            insert_together(c, [(lean, given), (other, {"label": "名", "doc": json_text({"a": [1]})})])
            insert_together(c, [(other, {"label": "only", "doc": json_text(None)})])
    finally:
        stop()
    assert len(seen) == (2 if db.is_sqlite else 1) + 1
    with db.read() as c:
        first = dict(c.execute(sa.select(_rows)).mappings().one())
        others = [dict(r) for r in c.execute(sa.select(_other).order_by(_other.c.seq)).mappings()]
    assert {k: first[k] for k in KEYS} == VALUE
    assert [(o["label"], o["doc"]) for o in others] == [("名", {"a": [1]}), ("only", None)]


def test_insert_together_queues_the_notify(db) -> None:
    """On PostgreSQL the batch's ``pg_notify`` reaches a listener of another engine (a
    worker of another process) once the transaction commits; elsewhere a channel is
    refused. Mutation: leave ``pg_notify`` out of the statement and nobody is woken."""
    _meta.create_all(db.engine)
    other = LeanInsert(_other, ("label", "doc"), encoded=("doc",))
    if db.is_sqlite:
        with pytest.raises(ValueError), db.write() as c:
            insert_together(c, [(other, {"label": "x", "doc": "null"})], "jimu_events")
        return
    listener = Database(db.url)
    woken = threading.Event()
    unsubscribe = wakeup.subscribe(listener.engine, ["events"], woken.set)
    try:
        assert wakeup.wait_watching(listener.engine, 10)
        with db.write() as c:
            insert_together(c, [(other, {"label": "x", "doc": "null"})], wakeup.notify_channel(c, "events"))
            assert wakeup.notify_channel(c, "events") is None  # once per transaction
        assert woken.wait(10)
    finally:
        unsubscribe()
        listener.dispose()


def test_driver_errors_come_out_as_sqlalchemy_raises_them(db, monkeypatch) -> None:
    """Run on the driver's own cursor (no ``exec_driver_sql``), a unique violation is
    SQLAlchemy's ``IntegrityError`` as before, and the transaction rolls back cleanly.
    Mutation: let the driver's exception through unwrapped (``sqlite3.IntegrityError``,
    ``psycopg.errors.UniqueViolation``); always go through ``exec_driver_sql`` and the
    patched one below fails the first insert."""
    _meta.create_all(db.engine)
    lean = LeanInsert(_typed, ("sku",))
    with db.write() as c:
        lean(c, {"sku": "taken"})

    def refuse(*_a, **_k):
        raise AssertionError("went through exec_driver_sql")

    monkeypatch.setattr(sa.engine.Connection, "exec_driver_sql", refuse)
    with pytest.raises(sa.exc.IntegrityError), db.write() as c:
        lean(c, {"sku": "fresh"})
        lean(c, {"sku": "taken"})
    monkeypatch.undo()
    with db.read() as c:
        assert sorted(c.execute(sa.select(_typed.c.sku)).scalars()) == ["taken"]


def test_a_statement_listener_sees_every_insert(db) -> None:
    """With a ``before_cursor_execute`` listener (a test counting statements, a tracer)
    the insert goes through SQLAlchemy and is seen. Mutation: ignore the listeners in
    ``_driver`` and the spy sees nothing."""
    _meta.create_all(db.engine)
    lean = LeanInsert(_typed, ("sku",), returning=True)
    seen, stop = _statements(db)
    try:
        with db.write() as c:
            row = lean.row(c, {"sku": "seen"})
    finally:
        stop()
    assert row is not None and row["sku"] == "seen"
    assert [s for s in seen if "t_lean_returning" in s]


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 25), max_value=10 ** 25), st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.dates(), st.datetimes(timezones=st.one_of(st.none(), st.timezones())))
_stored_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4),
    st.dictionaries(st.integers(0, 3), inner, min_size=1, max_size=2)), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_stored_values)
def test_json_text_of_is_json_text_of_to_json(value) -> None:
    """One orjson pass with ``to_json`` as its default writes exactly the text of
    ``json_text(to_json(value))`` for stored values: Decimals, dates, naive and aware
    datetimes of any zone (offsets with seconds too), NaN and infinities, huge integers,
    non-string keys. Mutations: let orjson write datetimes itself (drop
    OPT_PASSTHROUGH_DATETIME: a naive datetime loses its +00:00); drop the ``_odd`` guard
    (NaN becomes null)."""
    assert json_text_of(value) == json_text(to_json(value))
    # And what it means is what the standard library writes (NaN as NaN, not null).
    assert json.dumps(json.loads(json_text_of(value))) == json.dumps(to_json(value))

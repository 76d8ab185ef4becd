"""Rollup tables: creating and building them from the base table, keeping them up to date
row by row inside the write transaction, and checking them against a full scan.

A rollup row is (dimension values..., ``_n``, ``_s__<col>``, ``_c__<col>``...). Rows are
found by their dimension values and updated in place (``_n = _n + delta``); a key not yet
present is inserted. There is no unique key on the dimensions: two PostgreSQL
transactions inserting the same new key at once leave two rows, which is harmless because
every reader sums the rows of a key. Sums are kept as integers of the measure's scale
(exact on SQLite, whose NUMERIC is a float).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.runtime.rollups.plan import RollupDef, plan_rollups

__all__ = ["rollup_table", "rollups_of", "ensure", "ensure_ready", "apply_changes", "contribution",
           "rebuild", "verify", "base_aggregate", "built", "Contribution"]

# (key values, n, scaled sums, non-NULL counts)
Contribution = tuple[tuple[Any, ...], int, tuple[int, ...], tuple[int, ...]]

_TABLES: dict[str, sa.Table] = {}
_UPDATES: dict[tuple[str, tuple[bool, ...]], Any] = {}
_READY: set[tuple[str, str, int]] = set()  # (database url, rollup name, app version) known built
_LOCK = threading.Lock()


def rollup_table(d: RollupDef) -> sa.Table:
    """The SQLAlchemy table of rollup ``d`` (dimension columns typed like the entity's)."""
    t = _TABLES.get(d.name)
    if t is None:
        cols: list[Any] = [sa.Column(dim.column, dim.type) for dim in d.dims]
        cols.append(sa.Column("_n", sa.BigInteger, nullable=False))
        for m in d.measures:
            cols.append(sa.Column(f"_s__{m.column}", sa.BigInteger().with_variant(sa.Numeric(38, 0), "postgresql"),
                                  nullable=False))
            cols.append(sa.Column(f"_c__{m.column}", sa.BigInteger, nullable=False))
        if d.dims:
            cols.append(sa.Index(f"ix_{d.name}", *[dim.column for dim in d.dims]))
        t = sa.Table(d.name, sa.MetaData(), *cols)
        with _LOCK:
            _TABLES.setdefault(d.name, t)
        t = _TABLES[d.name]
    return t


def rollups_of(rt: Any, entity: str | None = None) -> tuple[RollupDef, ...]:
    """The rollups of a published app (planned once per app version), or of one entity."""
    defs: tuple[RollupDef, ...] = rt.statement(("jimu_rollups",), lambda: plan_rollups(rt.spec))
    if entity is None:
        return defs
    by_entity: dict[str, tuple[RollupDef, ...]] = rt.statement(
        ("jimu_rollups_by_entity",), lambda: {e: tuple(d for d in defs if d.entity == e) for e in {d.entity for d in defs}})
    return by_entity.get(entity, ())


def _url(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def _meta() -> sa.Table:
    from jimu.runtime.rollups.tables import rollup_meta

    return rollup_meta


def _definition(d: RollupDef) -> dict[str, Any]:
    return {"entity": d.entity, "base_table": d.base_table, "dims": [[x.name, x.column] for x in d.dims],
            "measures": [[m.name, m.column, m.scale] for m in d.measures]}


def base_aggregate(d: RollupDef, base: sa.Table) -> Any:
    """The full-scan query computing rollup ``d`` from the base table: the reference the
    rollup must equal, and what a build inserts."""
    keys = [base.c[dim.column] for dim in d.dims]
    cols: list[Any] = [*keys, sa.func.count().label("_n")]
    for m in d.measures:
        scaled = sa.cast(sa.func.round(base.c[m.column] * sa.literal_column(str(10 ** m.scale))), sa.BigInteger)
        cols.append(sa.func.coalesce(sa.func.sum(scaled), 0).label(f"_s__{m.column}"))
        cols.append(sa.func.count(base.c[m.column]).label(f"_c__{m.column}"))
    stmt = sa.select(*cols)
    return stmt.group_by(*keys) if keys else stmt


def _build(conn: Connection, rt: Any, d: RollupDef) -> None:
    """(Re)create rollup ``d`` from the base table. On PostgreSQL the base table is locked
    against writers (SHARE) first, so no write lands between the scan and the commit."""
    t = rollup_table(d)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f'LOCK TABLE "{d.base_table}" IN SHARE MODE')
    t.drop(conn, checkfirst=True)
    t.create(conn)
    base = rt.tables(d.entity)
    stmt = base_aggregate(d, base)
    conn.execute(t.insert().from_select([c.name for c in t.columns], stmt))
    meta = _meta()
    conn.execute(sa.delete(meta).where(meta.c.name == d.name))
    conn.execute(meta.insert().values(name=d.name, app=d.app, entity=d.entity, definition=_definition(d),
                                      built_at=now(), app_version=rt.version))


def built(conn: Connection, rt: Any) -> set[str]:
    """The names of ``rt``'s rollups that are built (their meta row committed), the ones a
    write must maintain. A rollup not built yet is left alone: its build scans the base
    table, this write included. Meta rows of rollups the spec no longer needs are deleted
    (writes stop maintaining them now, so they must be rebuilt if ever needed again)."""
    defs = rollups_of(rt)
    url = _url(conn)
    known = {d.name for d in defs if (url, d.name, rt.version) in _READY}
    if len(known) == len(defs):
        return known
    meta = _meta()
    existing = {r[0] for r in conn.execute(sa.select(meta.c.name).where(meta.c.app == rt.name))}
    current = {d.name for d in defs}
    if existing - current:
        conn.execute(sa.delete(meta).where(meta.c.name.in_(sorted(existing - current))))
    out = existing & current
    with _LOCK:
        _READY.update((url, name, rt.version) for name in out)
    return out


def ensure(conn: Connection, rt: Any) -> set[str]:
    """Build every rollup of ``rt`` that is not built yet, in the transaction ``conn``
    (one without writes of its own to the base tables, so that the PostgreSQL SHARE lock
    of the build cannot deadlock with a writer); returns the names built now."""
    ready = built(conn, rt)
    out = set()
    for d in rollups_of(rt):
        if d.name not in ready:
            _build(conn, rt, d)
            out.add(d.name)
    return out


def ensure_ready(db: Any, rt: Any, d: RollupDef) -> None:
    """Before reading rollup ``d``: build the app's rollups (own write transaction) unless
    known built."""
    url = db.engine.url.render_as_string(hide_password=True)
    if (url, d.name, rt.version) in _READY:
        return
    meta = _meta()
    with db.read() as c:
        found = c.execute(sa.select(meta.c.name).where(meta.c.name == d.name)).first()
    if found is not None:
        with _LOCK:
            _READY.add((url, d.name, rt.version))
        return
    with db.write() as w:
        ensure(w, rt)


def _scaled(value: Any, scale: int) -> int | None:
    if value is None:
        return None
    return int((Decimal(str(value)) * (Decimal(10) ** scale)).to_integral_value(rounding=ROUND_HALF_UP))


def contribution(d: RollupDef, get: Callable[[Any], Any]) -> Contribution:
    """What one row adds to rollup ``d``; ``get(dim or measure)`` reads its value."""
    key = tuple(get(dim) for dim in d.dims)
    sums, counts = [], []
    for m in d.measures:
        v = _scaled(get(m), m.scale)
        sums.append(v or 0)
        counts.append(0 if v is None else 1)
    return key, 1, tuple(sums), tuple(counts)


def _net(items: Iterable[tuple[int, Contribution]]) -> dict[tuple[Any, ...], list[Any]]:
    """Signed contributions summed per key, keys whose total is zero left out."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for sign, (key, n, sums, counts) in items:
        acc = out.setdefault(key, [0, [0] * len(sums), [0] * len(counts)])
        acc[0] += sign * n
        acc[1] = [a + sign * s for a, s in zip(acc[1], sums, strict=True)]
        acc[2] = [a + sign * c for a, c in zip(acc[2], counts, strict=True)]
    return {k: v for k, v in out.items() if v[0] or any(v[1]) or any(v[2])}


def _update_stmt(d: RollupDef, nulls: tuple[bool, ...]) -> Any:
    """``UPDATE rollup SET _n = _n + :d_n, ... WHERE dim = :k_i | dim IS NULL``, built once
    per rollup and pattern of NULL key values (SQLAlchemy then reuses its compiled form)."""
    key = (d.name, nulls)
    stmt = _UPDATES.get(key)
    if stmt is None:
        t = rollup_table(d)
        where = [t.c[dim.column].is_(None) if null else t.c[dim.column] == sa.bindparam(f"k_{i}")
                 for i, (dim, null) in enumerate(zip(d.dims, nulls, strict=True))]
        values: dict[str, Any] = {"_n": t.c._n + sa.bindparam("d_n", type_=sa.BigInteger)}
        for m in d.measures:
            values[f"_s__{m.column}"] = t.c[f"_s__{m.column}"] + sa.bindparam(f"d_s__{m.column}", type_=sa.BigInteger)
            values[f"_c__{m.column}"] = t.c[f"_c__{m.column}"] + sa.bindparam(f"d_c__{m.column}", type_=sa.BigInteger)
        stmt = sa.update(t).where(*where).values(**values) if where else sa.update(t).values(**values)
        with _LOCK:
            _UPDATES[key] = stmt
    return stmt


def apply_changes(conn: Connection, d: RollupDef, items: Iterable[tuple[int, Contribution]]) -> None:
    """Add the signed contributions ``items`` ((+1 | -1, contribution)) to rollup ``d``."""
    t = rollup_table(d)
    for key, (dn, sums, counts) in _net(items).items():
        params: dict[str, Any] = {f"k_{i}": v for i, v in enumerate(key) if v is not None}
        params["d_n"] = dn
        for m, s, c in zip(d.measures, sums, counts, strict=True):
            params[f"d_s__{m.column}"], params[f"d_c__{m.column}"] = s, c
        res = conn.execute(_update_stmt(d, tuple(v is None for v in key)), params)
        if res.rowcount:
            continue
        row: dict[str, Any] = {dim.column: v for dim, v in zip(d.dims, key, strict=True)}
        row["_n"] = dn
        for m, s, c in zip(d.measures, sums, counts, strict=True):
            row[f"_s__{m.column}"], row[f"_c__{m.column}"] = s, c
        conn.execute(t.insert(), row)


def rebuild(conn: Connection, rt: Any) -> list[str]:
    """Recompute every rollup of ``rt`` from its base table (``jimu rollup rebuild``)."""
    out = []
    for d in rollups_of(rt):
        _build(conn, rt, d)
        out.append(d.name)
    return out


def _totals(rows: Iterable[Any], width: int) -> dict[tuple[Any, ...], tuple[int, ...]]:
    out: dict[tuple[Any, ...], list[int]] = {}
    for r in rows:
        key, vals = tuple(r[:width]), [int(v or 0) for v in r[width:]]
        acc = out.setdefault(key, [0] * len(vals))
        out[key] = [a + v for a, v in zip(acc, vals, strict=True)]
    return {k: tuple(v) for k, v in out.items() if any(v)}


def verify(conn: Connection, rt: Any) -> list[dict[str, Any]]:
    """Differences between each built rollup of ``rt`` and a full scan of its base table
    (empty when they agree): ``{"rollup", "entity", "key", "expected", "actual"}``."""
    problems: list[dict[str, Any]] = []
    meta = _meta()
    built = {r[0] for r in conn.execute(sa.select(meta.c.name).where(meta.c.app == rt.name))}
    for d in rollups_of(rt):
        if d.name not in built:
            continue  # not built yet: it is built from the base table when first needed
        t = rollup_table(d)
        width = len(d.dims)
        expected = _totals(conn.execute(base_aggregate(d, rt.tables(d.entity))), width)
        actual = _totals(conn.execute(sa.select(*[c for c in t.columns])), width)
        for key in sorted(set(expected) | set(actual), key=repr):
            if expected.get(key) != actual.get(key):
                problems.append({"rollup": d.name, "entity": d.entity, "key": [str(k) for k in key],
                                 "expected": list(expected.get(key, ())), "actual": list(actual.get(key, ()))})
    return problems

"""Net change of an MRP run (``replan`` after one document changed): re-plan only the items
the document reaches, store exactly what a full recalculation of the new data would store
for them, and touch no other row of the run.

Why a module of its own: a net change must cost a fraction of a run (< 0.5 s at 10,000
items, ``benchmarks/bench_mrp.py``), so it reads only what it needs:

- the BOM structure from :mod:`jimu.runtime.mrp.structure` (cached, fingerprint-checked);
- the reached items' demands, receipts and stock (:func:`jimu.runtime.mrp.data.load_world`
  with ``only``);
- the planned releases of the parents it keeps (outside the reach, unchanged) as four
  plain columns (:func:`jimu.platform.fast_select.select_tuples`), for the dependent
  demand they put on the reached items;
- the run's stored rows of the reached items, which it compares with the new ones:
  only rows that differ are written, in place (an order far away in time changes a few
  of an item's planned orders, not all of them; see :func:`sync_rows`).

On PostgreSQL these reads are planned on the statistics ``calculate`` takes of the run's
new rows (:func:`jimu.platform.table_stats.refresh_statistics`): without them a read of
a few hundred items walked the whole run.

The documents behind a kept parent's planned order (`` ← SO-1, SO-2 +1`` in a
component's pegging) are not recomputed here; the stored pegging of the reached items
names them for every kept parent order it covered, and :func:`kept_roots` reads them back
(with the ``+N`` as placeholders: only the first five are ever shown, and the text a
component derives from them depends on the rest only through their count).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.platform.fast_insert import insert_rows
from jimu.platform.fast_select import select_tuples
from jimu.platform.fast_update import update_rows
from jimu.runtime.apps import AppRuntime
from jimu.runtime.mrp import data, store
from jimu.runtime.mrp.engine import Calendar, ItemResult, Planner, Structure, gc_paused, kept_dependent
from jimu.runtime.mrp.structure import BomStructure

__all__ = ["closure", "replan", "kept_roots", "stored_rows", "stored_select", "sync_rows"]

_CHUNK = 900
Roots = dict[int, dict[str, tuple[str, list[str], str]]]


def closure(items: Iterable[int], boms: Mapping[int, Structure]) -> set[int]:
    """``items`` and every component below them."""
    out, todo = set(items), list(items)
    while todo:
        bom = boms.get(todo.pop())
        for c in bom.components if bom is not None else ():
            if c.item not in out:
                out.add(c.item)
                todo.append(c.item)
    return out


def _column(rt: AppRuntime, entity: str, name: str) -> Any:
    ent = rt.spec.entity(entity)
    assert ent is not None
    return rt.tables(entity).c[next(f.column or f.name for f in ent.fields if f.name == name)]


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for i in range(0, len(ordered), _CHUNK):
        yield ordered[i:i + _CHUNK]


def stored_rows(conn: Connection, rt: AppRuntime, entity: str, run_id: int, fields: Sequence[str],
                items: Iterable[int]) -> list[tuple[Any, ...]]:
    """``(id, *fields)`` of the run's ``entity`` rows of ``items``, by id.

    Sorted here, not in SQL: with ``ORDER BY id`` SQLite walks the run's index (already in
    id order) through every row of the run instead of the ``(run, item)`` index."""
    out: list[tuple[Any, ...]] = []
    for chunk in _chunks(items):
        out += select_tuples(conn, stored_select(rt, entity, run_id, fields, chunk))
    out.sort(key=lambda r: r[0])
    return out


def stored_select(rt: AppRuntime, entity: str, run_id: int, fields: Sequence[str], items: Sequence[int]) -> sa.Select[Any]:
    """The read of :func:`stored_rows` for one chunk of ``items``."""
    t = rt.tables(entity)
    cols = [t.c.id, *(_column(rt, entity, f) for f in fields)]
    return sa.select(*cols).where(_column(rt, entity, "run") == run_id, _column(rt, entity, "item").in_(items))


def _kept_dependent(conn: Connection, rt: AppRuntime, run_id: int, boms: Mapping[int, Structure],
                    outside: set[int], inside: set[int]) -> dict[int, dict[int, list[tuple[date, Decimal, date]]]]:
    """Dependent demand on ``inside`` items from the stored planned orders of the kept
    parents ``outside`` (as the engine derived it when it planned them)."""
    by_parent: dict[int, list[tuple[date, Decimal, date]]] = {}
    for _id, item, qty, release, due in stored_rows(conn, rt, "mrp_line", run_id,
                                                     ("item", "net_qty", "release_date", "due_date"), outside):
        if qty and release and due:
            by_parent.setdefault(int(item), []).append((release, Decimal(qty), due))
    return kept_dependent(boms, by_parent, inside)


def kept_roots(peggings: Iterable[str], names: Mapping[int, str]) -> Roots:
    """What the stored pegging texts say about the planned orders of the kept parents
    ``names`` (item -> ``sku name``): item -> due -> (``"sku name @due ×"``, the documents
    behind, ``" ← SO-1, SO-2 +1"``), in the form :func:`store.line_rows` takes. A ``+N``
    becomes N placeholders that cannot equal a document number.

    The first entry naming a parent order counts (every component's line names the same
    documents behind it); an order's later entries, and the entries of parents that are
    re-planned, are dismissed by their ``"sku name @due"`` alone."""
    by_name = {n: i for i, n in names.items()}
    out: Roots = {}
    seen: set[str] = set()  # "sku name @due" of every entry with documents met so far
    for text in peggings:
        if not text or " ← " not in text:
            continue
        for entry in text.split("; "):
            head, sep, shown = entry.partition(" ← ")
            if not sep:
                continue
            name_due, sep, _qty = head.rpartition(" ×")
            if not sep or name_due in seen:
                continue
            seen.add(name_due)
            name, sep, due = name_due.rpartition(" @")
            item = by_name.get(name) if sep else None
            if item is None:
                continue
            listed, plus, more = shown.rpartition(" +")
            if plus and more.isdecimal():
                docs = listed.split(", ") + [f"\x00{item}@{due}#{k}" for k in range(int(more))]
            else:
                docs = shown.split(", ")
            out.setdefault(item, {})[due] = (name_due + " ×", docs, " ← " + shown)
    return out


_SYSTEM = frozenset({"id", "version", "created_at", "updated_at", "created_by", "updated_by", "_parent_id", "_idx"})


def sync_rows(conn: Connection, rt: AppRuntime, entity: str, run_id: int, fields: Sequence[str],
              stored: Sequence[tuple[Any, ...]], rows: Iterable[tuple[Any, ...]], user: str | None) -> tuple[int, int]:
    """Make the run's ``entity`` rows ``stored`` (``(id, *fields)``) hold ``rows`` (tuples of
    ``fields``): a stored row equal to a new one stays as it is (id, version, timestamps);
    each other new row takes the place of a stored row of the same item that has no equal
    (updated in place: its fields, every other column cleared as an inserted row has it,
    version + 1, ``updated_at``/``updated_by``), and only an item's surplus rows are
    deleted or inserted. Returns (deleted, inserted).

    In place, not deleted and inserted: a net change rewrites thousands of a run's rows,
    and an update leaves alone the indexes of the columns it does not change (SQLite; on
    PostgreSQL it saves the delete)."""
    pool: dict[tuple[Any, ...], list[int]] = {}
    for row in stored:
        pool.setdefault(tuple(row[1:]), []).append(int(row[0]))
    fresh: list[tuple[Any, ...]] = []
    for row in rows:
        ids = pool.get(row)
        if ids:
            ids.pop()
        else:
            fresh.append(row)
    key = list(fields).index("item")
    spare: dict[Any, list[int]] = {}  # item -> ids of its stored rows no new row equals, highest first
    for old, ids in pool.items():
        if ids:
            spare.setdefault(old[key], []).extend(ids)
    for ids in spare.values():
        ids.sort(reverse=True)
    changed: list[tuple[Any, ...]] = []
    added: list[tuple[Any, ...]] = []
    for row in fresh:
        ids = spare.get(row[key])
        if ids:
            changed.append((ids.pop(), *row))
        else:
            added.append(row)
    gone = [i for ids in spare.values() for i in ids]
    t = rt.tables(entity)
    for chunk in _chunks(gone):
        conn.execute(sa.delete(t).where(t.c.id.in_(chunk)))
    at = now()
    names = [_column(rt, entity, f).name for f in fields]
    run_name = _column(rt, entity, "run").name
    cleared = {c.name: None for c in t.columns if c.name not in _SYSTEM and c.name != run_name and c.name not in names}
    update_rows(conn, t, names, changed, {**cleared, "updated_at": at, "updated_by": user})
    columns = [run_name, *names, "version", "created_at", "updated_at", "created_by", "updated_by"]
    inserted = insert_rows(conn, t, columns, ((run_id, *row, 1, at, at, user, user) for row in added))
    return len(gone), inserted


def replan(conn: Connection, rt: AppRuntime, run: Mapping[str, Any], cal: Calendar, changed: set[int],
           bs: BomStructure, user: str | None) -> dict[str, int]:
    """Re-plan the items ``changed`` reaches (``changed`` and their components) in ``run``;
    returns the run's counts (``planned_orders``, ``exception_count``) and ``items``
    re-planned, ``deleted`` and ``inserted`` rows. The cyclic garbage collector is paused
    throughout (see :func:`jimu.runtime.mrp.engine.gc_paused`: its full collections over
    a large process were a third of a net change's time, charged to whatever allocated)."""
    with gc_paused():
        return _replan(conn, rt, run, cal, changed, bs, user)


def _replan(conn: Connection, rt: AppRuntime, run: Mapping[str, Any], cal: Calendar, changed: set[int],
            bs: BomStructure, user: str | None) -> dict[str, int]:
    rid = int(run["id"])
    reached = closure(changed, bs.boms)
    world = data.load_world(conn, rt, run["warehouse"], cal.start, only=reached, boms=bs.boms)
    planner = Planner(cal, world.items, bs.boms, world.demands, world.receipts, levels=bs.levels)
    outside = {p for c in reached for p in bs.parents.get(c, ()) if p not in reached}
    planner.set_dependent(_kept_dependent(conn, rt, rid, bs.boms, outside, reached))
    planner.replan(reached)
    results: dict[int, ItemResult] = {i: r for i, r in planner.results.items() if i in reached}
    buy = {o.item for r in results.values() for o in r.orders if o.action == "buy" and o.supplier is None}
    last = data.last_suppliers(conn, rt, buy)
    names = {**data.item_names(conn, rt, outside), **world.names}
    old_lines = stored_rows(conn, rt, "mrp_line", rid, store.LINE_FIELDS, reached)
    old_exceptions = stored_rows(conn, rt, "mrp_exception", rid, store.EXCEPTION_FIELDS, reached)
    pegging = 1 + store.LINE_FIELDS.index("pegging")
    with_kept = {c for c in reached if not bs.parents.get(c, set()) <= reached}  # only their texts name kept parents
    known = kept_roots((r[pegging] for r in old_lines if r[1] in with_kept),
                       {i: names[i] for i in outside if i in names})
    lines = store.line_rows(results, names, last, known)
    exceptions = store.exception_rows(results, names)
    d_lines, i_lines = sync_rows(conn, rt, "mrp_line", rid, store.LINE_FIELDS, old_lines, lines, user)
    d_exc, i_exc = sync_rows(conn, rt, "mrp_exception", rid, store.EXCEPTION_FIELDS, old_exceptions, exceptions, user)
    counts = {}
    for key, entity, delta in (("planned_orders", "mrp_line", i_lines - d_lines),
                               ("exception_count", "mrp_exception", i_exc - d_exc)):
        before = run.get(key)  # kept by every calculate and replan; counted when it is not
        counts[key] = int(before) + delta if before is not None else store.count_rows(conn, rt, entity, rid)
    return {**counts, "items": len(results), "deleted": d_lines + d_exc, "inserted": i_lines + i_exc}

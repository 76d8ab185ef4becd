"""The active BOM structure of an app (every BOM with its components, the low-level codes,
the where-used index), cached per database, app and app version, and checked against a
fingerprint of the BOM tables on every use.

Why: a net change (``replan``) re-plans a few hundred items, but loading 7,000 BOMs with
25,000 lines and computing their low-level codes was the biggest part of it
(``benchmarks/bench_mrp.py``). BOMs change rarely and planning runs often.

Why a fingerprint and not an event: BOMs are written by the record service, by imports,
by transitions and (in benchmarks, migrations) by plain SQL, in any process. One query
per table gives, over every row, the count, the highest id, the sum of the row versions,
the newest ``updated_at`` and sums of the columns planning reads (product, quantities,
scrap, active state, parent and position of a line); a write through the record service
moves the version sum and ``updated_at``, and a write behind its back moves a content sum.
Only a change that keeps every one of these sums equal (two values swapped between rows
by plain SQL) would go unseen. The item master is not cached: a net change reads the
planning fields of the items it reaches only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.runtime.apps import AppRuntime
from jimu.runtime.mrp.engine import CycleError, Structure, low_level_codes

__all__ = ["BomStructure", "structure", "fingerprint", "clear"]

_SIZE = 8  # (database, app) pairs kept


@dataclass
class BomStructure:
    """The active BOMs by product, their low-level codes (None when the structure has a
    cycle: ``cycle`` names it) and the products using each component."""

    boms: dict[int, Structure]
    levels: dict[int, int] | None
    cycle: list[int] | None
    parents: dict[int, set[int]] = field(default_factory=dict)


_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str, int], tuple[tuple[Any, ...], BomStructure]] = OrderedDict()


def clear() -> None:
    """Forget every cached structure (tests)."""
    with _lock:
        _cache.clear()


def _col(rt: AppRuntime, entity: str, name: str) -> Any:
    from jimu.runtime.mrp.data import _col as col

    return col(rt, entity, name)


def _sums(t: sa.Table, cols: list[Any]) -> list[Any]:
    return [sa.func.count(), sa.func.max(t.c.id), sa.func.sum(t.c.version), sa.func.max(t.c.updated_at),
            *(sa.func.sum(c) for c in cols if c is not None)]


def fingerprint(conn: Connection, rt: AppRuntime) -> tuple[Any, ...]:
    """What the BOM tables hold, in two aggregate queries (see the module's docstring)."""
    from jimu.runtime.mrp.data import _child

    if rt.spec.entity("bom") is None:
        return ()
    b = rt.tables("bom")
    state = _col(rt, "bom", "state")
    active = sa.case((state == "active", b.c.id), else_=0) if state is not None else None
    out: tuple[Any, ...] = tuple(conn.execute(sa.select(*_sums(b, [
        _col(rt, "bom", "product"), _col(rt, "bom", "qty"), active]))).one())
    child = _child(rt, "bom", "lines")
    if child:
        lt = rt.tables(child)
        out += tuple(conn.execute(sa.select(*_sums(lt, [
            lt.c._parent_id, lt.c._idx, _col(rt, child, "item"), _col(rt, child, "qty"),
            _col(rt, child, "scrap_rate")]))).one())
    return out


def _key(conn: Connection, rt: AppRuntime) -> tuple[str, str, int]:
    return conn.engine.url.render_as_string(hide_password=True), rt.name, rt.version


def structure(conn: Connection, rt: AppRuntime) -> BomStructure:
    """The app's active BOM structure as ``conn`` sees it: from the cache when the BOM
    tables' fingerprint is unchanged, else loaded (two queries) and cached. Callers must
    not change what they get."""
    from jimu.runtime.mrp.data import load_structure

    key, mark = _key(conn, rt), fingerprint(conn, rt)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == mark:
            _cache.move_to_end(key)
            return hit[1]
    boms = load_structure(conn, rt)
    try:
        levels, cycle = low_level_codes(boms), None
    except CycleError as err:
        levels, cycle = None, err.cycle
    parents: dict[int, set[int]] = {}
    for product, bom in boms.items():
        for c in bom.components:
            parents.setdefault(c.item, set()).add(product)
    found = BomStructure(boms, levels, cycle, parents)
    with _lock:
        _cache[key] = (mark, found)
        _cache.move_to_end(key)
        while len(_cache) > _SIZE:
            _cache.popitem(last=False)
    return found

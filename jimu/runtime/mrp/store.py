"""Writing an MRP run's planned orders (``mrp_line``) and exceptions (``mrp_exception``),
records linked to their run, in bulk (tuples through the driver: COPY on PostgreSQL, one
executemany on SQLite; :mod:`jimu.platform.fast_insert`), and reading back what a net
change keeps.

Why not through the record service: a run over 10,000 items writes ~400,000 rows; the
service inserts (and checks) them one by one, and even SQLAlchemy's executemany spent
most of a run's time building and processing a parameter dict per row. The rows come
from the engine, so they are valid by construction; the transition writing them is
audited as usual (one audit row for the run, none per line: system-generated rows)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.core.clock import now
from jimu.platform.fast_insert import insert_rows
from jimu.runtime.apps import AppRuntime
from jimu.runtime.mrp.engine import SAFETY_STOCK, ItemResult, MrpException
from jimu.runtime.mrp.engine import Structure as Structure
from jimu.runtime.records.codec import row_to_record

__all__ = ["LINE_FIELDS", "EXCEPTION_FIELDS", "line_rows", "iter_line_rows", "stream_line_rows", "exception_rows", "replace_rows", "count_rows", "read_lines", "kept_releases", "dependent_from_lines",
           "mark_ordered"]

#: Documents named behind a parent's planned order in a pegging entry (the rest are
#: counted in ``more_documents``): a raw material's order may stand behind hundreds.
ROOTS = 5
_KIND = {"expedite": ("加急", "expedite"), "defer": ("推迟", "defer"), "cancel": ("取消", "cancel"),
         "past_due": ("已逾期", "past due")}


def _q(value: Decimal) -> str:
    """A quantity without trailing zeros (``5.1``, not ``5.1000``): equal quantities read
    the same whether computed in this run or read back from stored lines (net change)."""
    out = str(value)  # a third of the cost of format(value, "f"), but it may give an exponent
    if "E" in out:
        out = format(value, "f")
    return out.rstrip("0").rstrip(".") if "." in out else out


#: The fields of the tuples :func:`line_rows` and :func:`exception_rows` return, in order.
LINE_FIELDS = ("item", "level", "action", "net_qty", "gross_qty", "due_date", "release_date", "supplier", "pegging",
               "status")
EXCEPTION_FIELDS = ("item", "kind", "document", "date", "new_date", "qty", "message")


#: A parent planned order's entry in its components' pegging: ("sku name @due ×", the
#: documents behind that order (at most ROOTS + 1), " ← SO-1, SO-2 +1" or "").
_Entry = tuple[str, list[str], str]


def line_rows(results: Mapping[int, ItemResult], names: Mapping[int, str], suppliers: Mapping[int, Any],
              known: Mapping[int, Mapping[str, _Entry]] | None = None) -> list[tuple[Any, ...]]:
    """The rows of :func:`iter_line_rows` as a list."""
    return list(iter_line_rows(results, names, suppliers, known))


def iter_line_rows(results: Mapping[int, ItemResult], names: Mapping[int, str], suppliers: Mapping[int, Any],
                   known: Mapping[int, Mapping[str, _Entry]] | None = None) -> Iterator[tuple[Any, ...]]:
    """The rows of :func:`stream_line_rows` for results given all at once."""
    return stream_line_rows([sorted(results.values(), key=lambda r: (r.level, r.item))], names, suppliers, known)


def stream_line_rows(groups: Iterable[Iterable[ItemResult]], names: Mapping[int, str], suppliers: Mapping[int, Any],
                     known: Mapping[int, Mapping[str, _Entry]] | None = None) -> Iterator[tuple[Any, ...]]:
    """One ``mrp_line`` per planned order (tuples of :data:`LINE_FIELDS`) of the results
    in ``groups``, which come lowest level first and in item order within a level (a
    parent's orders are formatted before its components' pegs name them).
    :meth:`Planner.run_levels` gives them so, a batch at a time, and plans its next
    batch only when this one's rows have been taken: a run's rows are stored while the
    rest is planned. The pegging lists each demand covered, "; "-separated:
    ``SO-1 @2026-03-16 ×7``, ``FG-BIKE Bike @2026-03-16 ×14 ← SO-1, SO-2 +1`` for a
    parent's planned order with the documents behind it (five named, "+1" when there are
    more), ``安全库存 safety stock ×2``.

    Text, not JSON: a run writes and the run's screens read hundreds of thousands of
    these, and decoding JSON was most of the time of reading a run back. The hot loop of
    writing a run (a million pegs at 10,000 items), hence one function with its caches in
    locals: a date's ISO form and each parent order's entry are made once (a quantity's
    text is made each time, by ``str``: hashing a fresh Decimal to look it up costs
    more); the documents behind an order are gathered only for made items' orders (only
    they are a component's demand).

    ``known``: parent item -> due -> entry of planned orders not in ``groups`` (a net
    change's kept parents)."""
    fmt, text = format, str
    iso: dict[date, str] = {}
    # parent item -> its order's due date (ISO, as the component's peg names it) -> entry
    entries: dict[int, dict[str, _Entry]] = {k: dict(v) for k, v in (known or {}).items()}
    more = ROOTS + 1
    for res in chain.from_iterable(groups):
        gross = res.gross
        item = res.item
        own: dict[str, _Entry] | None = None
        for o in res.orders:
            out: list[str] = []
            add = out.append
            due = iso.get(o.due) or iso.setdefault(o.due, o.due.isoformat())
            if o.action != "make":  # nobody pegs to a bought item's order: its documents are not gathered
                for src, qty, on, parent in o.pegging:
                    q = text(qty)  # _q inline
                    if "E" in q:
                        q = fmt(qty, "f")
                    if "." in q:
                        q = q.rstrip("0").rstrip(".")
                    if parent is not None:
                        entry = entries.get(parent, _NONE).get(src) or _kept(entries, names, parent, src)
                        add(entry[0] + q + entry[2])
                    else:
                        add(_own_peg(src, q, on, iso))
                supplier = o.supplier if o.supplier is not None else suppliers.get(item)
                yield (item, o.level, o.action, o.qty, gross[o.bucket], o.due, o.release, supplier, "; ".join(out),
                       "planned")
                continue
            docs: list[str] = []
            for src, qty, on, parent in o.pegging:
                q = text(qty)  # _q inline
                if "E" in q:
                    q = fmt(qty, "f")
                if "." in q:
                    q = q.rstrip("0").rstrip(".")
                if parent is not None:
                    entry = entries.get(parent, _NONE).get(src) or _kept(entries, names, parent, src)
                    add(entry[0] + q + entry[2])
                    if len(docs) <= ROOTS:
                        if not docs:
                            docs = entry[1][:more]
                        else:
                            for d in entry[1]:
                                if d not in docs:
                                    docs.append(d)
                                    if len(docs) > ROOTS:
                                        break
                else:
                    add(_own_peg(src, q, on, iso))
                    if len(docs) <= ROOTS and src not in docs and src != SAFETY_STOCK and src != "on_hand":
                        docs.append(src)
            if own is None:
                own = entries.setdefault(item, {})
            shown = ", ".join(docs[:ROOTS]) + (f" +{len(docs) - ROOTS}" if len(docs) > ROOTS else "")
            own[due] = (f"{names.get(item, str(item))} @{due} ×", docs, " ← " + shown if shown else "")
            yield (item, o.level, o.action, o.qty, gross[o.bucket], o.due, o.release, o.supplier, "; ".join(out),
                   "planned")


_NONE: dict[str, _Entry] = {}


def _own_peg(src: str, q: str, on: date, iso: dict[date, str]) -> str:
    """A peg to a document, safety stock or negative stock (not a parent's order)."""
    if src == SAFETY_STOCK:
        return "安全库存 safety stock ×" + q
    if src == "on_hand":
        return "负库存 negative stock ×" + q
    return src + " @" + (iso.get(on) or iso.setdefault(on, on.isoformat())) + " ×" + q


def _kept(entries: dict[int, dict[str, _Entry]], names: Mapping[int, str], parent: int, due: str) -> _Entry:
    """The entry of a parent order this run did not format (net change: a parent kept as
    it was; the documents behind it are not known)."""
    out = entries.setdefault(parent, {})[due] = (f"{names.get(parent, str(parent))} @{due} ×", [], "")
    return out


def exception_rows(results: Mapping[int, ItemResult], names: Mapping[int, str]) -> list[tuple[Any, ...]]:
    """One ``mrp_exception`` per exception (tuples of :data:`EXCEPTION_FIELDS`)."""
    rows = []
    for res in sorted(results.values(), key=lambda r: (r.level, r.item)):
        for e in res.exceptions:
            rows.append((e.item, e.kind, None if e.source == "planned" else e.source, e.on, e.to, e.qty,
                         _message(e, names)))
    return rows


def _message(e: MrpException, names: Mapping[int, str]) -> str:
    zh, en = _KIND[e.kind]
    what = names.get(e.item, str(e.item))
    doc = "计划订单" if e.source == "planned" else e.source
    doc_en = "planned order" if e.source == "planned" else e.source
    qty = _q(e.qty)
    if e.kind == "past_due":
        return (f"{zh}:{what} {doc} 数量 {qty} 的日期 {e.on} 早于运算日期 / {en}: {what} {doc_en} of {qty} "
                f"dated {e.on}, before the run")
    if e.kind == "cancel":
        return f"{zh}:{what} {doc} 数量 {qty} 在展望期内不需要 / {en}: {what} {doc_en} of {qty} is not needed in the horizon"
    return f"{zh}:{what} {doc} 数量 {qty} 从 {e.on} 改到 {e.to} / {en}: {what} {doc_en} of {qty} from {e.on} to {e.to}"


def _column(rt: AppRuntime, entity: str, name: str) -> Any:
    ent = rt.spec.entity(entity)
    assert ent is not None
    return rt.tables(entity).c[next(f.column or f.name for f in ent.fields if f.name == name)]


def replace_rows(conn: Connection, rt: AppRuntime, entity: str, run_id: int, fields: Sequence[str],
                 rows: Iterable[tuple[Any, ...]], user: str | None, items: Iterable[int] | None = None) -> int:
    """Delete the run's ``entity`` rows (``mrp_line`` or ``mrp_exception``; only those of
    ``items`` when given) and insert ``rows`` (tuples of ``fields``) for it, through the
    driver (:func:`jimu.platform.fast_insert.insert_rows`); returns how many."""
    t = rt.tables(entity)
    run_col, item_col = _column(rt, entity, "run"), _column(rt, entity, "item")
    if items is None:
        conn.execute(sa.delete(t).where(run_col == run_id))
    else:
        ids = sorted(set(items))
        for i in range(0, len(ids), 900):
            conn.execute(sa.delete(t).where(run_col == run_id, item_col.in_(ids[i:i + 900])))
    at = now()
    return insert_rows(conn, t, [_column(rt, entity, f).name for f in fields], rows,
                       {run_col.name: run_id, "version": 1, "created_at": at, "updated_at": at, "created_by": user,
                        "updated_by": user})


def count_rows(conn: Connection, rt: AppRuntime, entity: str, run_id: int) -> int:
    t = rt.tables(entity)
    return int(conn.execute(sa.select(sa.func.count()).select_from(t).where(_column(rt, entity, "run") == run_id))
               .scalar() or 0)


def kept_releases(conn: Connection, rt: AppRuntime, run_id: int, items: Iterable[int]) -> list[dict[str, Any]]:
    """``{item, net_qty, release_date, due_date}`` of the run's lines of ``items``: what
    a net change needs of the parents it does not re-plan (four columns, not records)."""
    t = rt.tables("mrp_line")
    cols = [_column(rt, "mrp_line", n).label(n) for n in ("item", "net_qty", "release_date", "due_date")]
    run_col, item_col = _column(rt, "mrp_line", "run"), _column(rt, "mrp_line", "item")
    ids = sorted(set(items))
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 900):
        sel = sa.select(*cols).where(run_col == run_id, item_col.in_(ids[i:i + 900])).order_by(t.c.id)
        out += [dict(r) for r in conn.execute(sel).mappings()]
    return out


def read_lines(conn: Connection, rt: AppRuntime, run_id: int, items: Iterable[int] | None) -> list[dict[str, Any]]:
    """The run's ``mrp_line`` rows (of ``items`` when given) as records, in id order."""
    ent = rt.spec.entity("mrp_line")
    assert ent is not None
    t = rt.tables("mrp_line")
    run_col, item_col = _column(rt, "mrp_line", "run"), _column(rt, "mrp_line", "item")
    if items is None:
        sel = sa.select(t).where(run_col == run_id).order_by(t.c.id)
        return [row_to_record(ent, dict(r)) for r in conn.execute(sel).mappings()]
    ids = sorted(set(items))
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 900):
        sel = sa.select(t).where(run_col == run_id, item_col.in_(ids[i:i + 900])).order_by(t.c.id)
        out += [row_to_record(ent, dict(r)) for r in conn.execute(sel).mappings()]
    return out


def dependent_from_lines(lines: Iterable[Mapping[str, Any]], boms: Mapping[int, Structure], outside: set[int],
                         inside: set[int]) -> dict[int, dict[int, list[tuple[date, Decimal, date]]]]:
    """Dependent demand on ``inside`` items from the kept planned orders of parents in
    ``outside`` (as the engine would have derived it)."""
    from jimu.runtime.mrp.engine import kept_dependent

    by_parent: dict[int, list[tuple[date, Decimal, date]]] = {}
    for ln in lines:
        item = int(ln["item"])
        if item in outside and item in boms and ln.get("net_qty") and ln.get("release_date") and ln.get("due_date"):
            by_parent.setdefault(item, []).append((ln["release_date"], Decimal(ln["net_qty"]), ln["due_date"]))
    return kept_dependent(boms, by_parent, inside)


def mark_ordered(conn: Connection, rt: AppRuntime, numbers: Mapping[int, str], user: str | None) -> None:
    """Write each line's document number and status ``ordered`` (one executemany)."""
    ent = rt.spec.entity("mrp_line")
    assert ent is not None
    if not numbers:
        return
    t = rt.tables("mrp_line")
    doc, status = (t.c[next(f.column or f.name for f in ent.fields if f.name == n)] for n in ("document", "status"))
    conn.execute(sa.update(t).where(t.c.id == sa.bindparam("_id")).values(
        {doc: sa.bindparam("_doc"), status: "ordered", t.c.version: t.c.version + 1, t.c.updated_at: now(),
         t.c.updated_by: user}), [{"_id": k, "_doc": v} for k, v in numbers.items()])

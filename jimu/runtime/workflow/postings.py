"""Ledger postings of documents: the runtime executor of ``LedgerSpec.postings``.

Posting format (one entry of a ledger's ``postings``, or of a transition's ``postings``
with an extra ``"ledger": NAME``, default ``stock``)::

    {"name": "so_reserve",
     "entity": "sales_order",             # the document entity
     "on": "transition" | "create",       # when it posts
     "transition": "submit",              # for on=transition
     "kind": "receipt" | "reserve" | "release" | "ship" | "transfer_out" | "transfer_in" | "adjust"
             | "on_order" | "order_receipt" | "release_on_order" | any other registered posting kind,
     "lines": "lines",                    # child-table field, or null: the document is the line
     "quantity": "qty",                   # field on the line (then the document) holding the quantity
     "dimensions": {"item": "item", "warehouse": "warehouse"},  # dimension -> field, looked up
                                          # on the line first, then on the document
     "to_dimensions": {"warehouse": "to_warehouse"},            # transfer_in: the target
     "unit_cost": "price",                # optional field with the unit cost (receipts)
     "reason": "reason",                  # adjust: a field name, else the literal text
     "ttl": "PT30M", "ttl_if": "channel == 'online' and payment_status == 'unpaid'",
     "progress": "received_qty", "input": "lines", "input_fields": [...]}  # partial: progress.py

``reserve`` creates one reservation per line (document line id kept) and raises 409
StockConflict when stock is not available; ``ship``/``transfer_out`` consume the line's
active reservation; ``release`` gives back every active reservation of the document (so a
``cancel`` from any state is safe: nothing reserved, nothing released), and
``release_on_order`` what the document's lines still have on order. With ``progress``, a
ship takes each line's planned quantity out of that line's reservations (the rest stays
reserved for the next shipment). Everything runs in
the caller's transaction, so the document change and its moves commit together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import ValidationError
from jimu.platform.actor import Actor
from jimu.platform.expressions import compile_expression
from jimu.platform.ledger import Doc, MoveLine, get_reservations, post, release_document, release_on_order
from jimu.platform.specs import EntitySpec, LedgerSpec
from jimu.platform.specs.workflow import TransitionSpec
from jimu.platform.values import parse_duration
from jimu.runtime.apps import AppRuntime
from jimu.runtime.workflow.progress import Portion, Progress

__all__ = ["postings_for", "run_postings", "run_transition_postings", "run_create_postings"]


def emit_ledger_moved(conn: Connection, app: str, ledger: str, movement_ids: list[int], *, actor: Actor,
                      scale: int) -> None:
    """One ``ledger.moved`` event in the events outbox (same transaction), when the events
    subsystem is installed and working."""
    if not movement_ids:
        return
    try:
        from jimu.runtime.events.outbox import emit_ledger_moved as emit
    except ImportError:
        return
    try:
        emit(conn, app, ledger, movement_ids, actor=actor, scale=scale)
    except ImportError:  # the events subsystem is mid-change; stock moves must not fail for it
        return


def _get(p: Any, key: str, default: Any = None) -> Any:
    if isinstance(p, Mapping):
        return p.get(key, default)
    value = getattr(p, key, None)
    if value is None and p.model_extra:
        value = p.model_extra.get(key)
    return default if value is None else value


def postings_for(rt: AppRuntime, entity: str, on: str, transition: TransitionSpec | None = None
                 ) -> list[tuple[LedgerSpec, Any]]:
    """(ledger, posting) pairs that apply to ``entity`` on ``on`` (and ``transition``)."""
    out: list[tuple[LedgerSpec, Any]] = []
    for lg in rt.spec.ledgers:
        for p in lg.postings:
            if p.entity != entity or (p.on or "transition") != on:
                continue
            if on == "transition" and (transition is None or p.transition != transition.name):
                continue
            out.append((lg, p))
    if on == "transition" and transition is not None:
        for p in transition.postings:
            lg = rt.spec.ledger(str(p.get("ledger") or "stock"))
            if lg is None:
                raise ValidationError(f"transition '{transition.name}' posts to unknown ledger {p.get('ledger')!r}")
            out.append((lg, {"entity": entity, **p}))
    return out


def _value(line: Mapping[str, Any], doc: Mapping[str, Any], field: str) -> Any:
    if field in line and line.get(field) is not None:
        return line[field]
    return doc.get(field)


def _lines(doc: Mapping[str, Any], p: Any) -> list[Mapping[str, Any]]:
    field = _get(p, "lines")
    if not field:
        return [doc]
    return list(doc.get(field) or [])


def _ttl(rt: AppRuntime, entity: str, p: Any, doc: Mapping[str, Any]) -> timedelta | None:
    ttl = _get(p, "ttl")
    if not ttl:
        return None
    cond = _get(p, "ttl_if")
    if cond and not compile_expression(cond, rt.spec, entity, purpose="condition").test(doc):
        return None
    return timedelta(seconds=parse_duration(str(ttl)))


def _options(p: Any) -> dict[str, Any]:
    if isinstance(p, Mapping):
        return dict(p)
    return {**p.model_dump(), **(p.model_extra or {})}


def _from_reservations(conn: Connection, rt: AppRuntime, lg: LedgerSpec, ent: EntitySpec,
                       doc: Mapping[str, Any]) -> list[MoveLine]:
    """Ship exactly what the document holds: one line per active reservation (batches
    allocated at reserve time stay allocated)."""
    return [MoveLine(dict(r["dims"]), r["open_qty"], line=r["document"]["line"], reservation=r["id"])
            for r in get_reservations(conn, rt.name, lg, entity=ent.name, doc_id=doc["id"], state="active")
            if r["open_qty"] > 0]


def _consume_per_line(conn: Connection, rt: AppRuntime, lg: LedgerSpec, ent: EntitySpec, doc: Mapping[str, Any],
                      portions: list[Portion], dims_map: Mapping[str, str], opts: Mapping[str, Any]) -> list[MoveLine]:
    """Ship ``portions`` (line, qty) out of each line's active reservations, oldest first
    (FEFO batches were allocated in expiry order at reserve time); what a line's
    reservations do not cover (an expired hold) is taken from available stock."""
    by_line: dict[str, list[dict[str, Any]]] = {}
    for r in get_reservations(conn, rt.name, lg, entity=ent.name, doc_id=doc["id"], state="active"):
        if r["open_qty"] > 0:
            by_line.setdefault(str(r["document"]["line"]), []).append(dict(r))
    out: list[MoveLine] = []
    for pt in portions:
        line_id, left = pt.line.get("id"), pt.qty
        for r in by_line.get(str(line_id), []):
            take = min(left, r["open_qty"])
            if take <= 0:
                continue
            r["open_qty"] -= take
            left -= take
            out.append(MoveLine(dict(r["dims"]), take, line=line_id, reservation=r["id"]))
        if left > 0:
            from jimu.runtime.workflow.batches import fefo_split

            dims = {d: _value(pt.line, doc, f) for d, f in dims_map.items()}
            parts = fefo_split(conn, rt, lg, opts, dims, left) if opts.get("allocate") == "fefo" else [(dims, left)]
            out.extend(MoveLine(d, q, line=line_id) for d, q in parts)
    return out


def run_postings(conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                 pairs: list[tuple[LedgerSpec, Any]], actor: Actor, transition: str | None = None,
                 records: Any = None, plans: Mapping[tuple[str, str], Progress] | None = None) -> int:
    """Execute ``pairs`` for document ``doc``; returns the number of movements written.
    ``plans``: the per-line quantities of ``progress`` postings (see ``progress.py``)."""
    from jimu.runtime.workflow.batches import fefo_split, resolve_batch

    written = 0
    for lg, p in pairs:
        kind = str(_get(p, "kind") or "")
        if not kind:
            raise ValidationError(f"posting {_get(p, 'name')!r} of ledger {lg.name} has no kind")
        document = Doc(ent.name, doc["id"], None, transition)
        user = actor.username
        if kind in ("release", "release_on_order"):
            if kind == "release":
                moved = release_document(conn, rt.name, lg, ent.name, doc["id"], user=user, reason=transition)
            else:
                moved = release_on_order(conn, rt.name, lg, ent.name, doc["id"], user=user, reason=transition,
                                         transition=transition)
            emit_ledger_moved(conn, rt.name, lg.name, moved, actor=actor, scale=lg.scale)  # outbox (events)
            written += len(moved)
            continue
        opts = _options(p)
        dims_map: Mapping[str, str] = _get(p, "dimensions") or {d.name: d.name for d in lg.dimensions}
        qty_field = str(_get(p, "quantity") or "qty")
        fefo = opts.get("allocate") == "fefo"
        plan = (plans or {}).get((str(_get(p, "lines") or ""), str(_get(p, "progress") or "")))
        held: dict[str, int] = {}
        lines: list[MoveLine] = []
        if kind in ("ship", "transfer_out") and plan is not None:
            lines = _consume_per_line(conn, rt, lg, ent, doc, plan.portions, dims_map, opts)
        elif kind in ("ship", "transfer_out"):
            reserved = _from_reservations(conn, rt, lg, ent, doc)
            if fefo and reserved:
                lines = reserved
            for r in get_reservations(conn, rt.name, lg, entity=ent.name, doc_id=doc["id"], state="active"):
                held.setdefault(str(r["document"]["line"]), r["id"])
        todo: list[tuple[Mapping[str, Any], Any]]
        if lines or (plan is not None and kind in ("ship", "transfer_out")):
            todo = []
        elif plan is not None:
            todo = [(pt.line, pt.qty) for pt in plan.portions]
        else:
            todo = [(line, _value(line, doc, qty_field)) for line in _lines(doc, p)]
        for line, qty in todo:
            if qty is None or qty == 0:
                continue
            dims = {d: _value(line, doc, f) for d, f in dims_map.items()}
            if opts.get("batch_from") and records is not None:
                batch = resolve_batch(conn, rt, records, opts["batch_from"], line, doc, actor)
                if batch is not None:
                    dims["batch"] = batch
            line_id = line.get("id") if _get(p, "lines") else None
            to = None
            if kind == "transfer_in":
                to_map: Mapping[str, str] = _get(p, "to_dimensions") or _get(p, "to") or {}
                to = {**dims, **{d: _value(line, doc, f) for d, f in to_map.items()}}
            cost_field = _get(p, "unit_cost")
            cost = _value(line, doc, cost_field) if cost_field else None
            parts = fefo_split(conn, rt, lg, opts, dims, qty) if fefo and kind in ("reserve", "ship") else [(dims, qty)]
            for part_dims, part_qty in parts:
                lines.append(MoveLine(part_dims, part_qty, line=line_id, unit_cost=cost,
                                      reservation=held.get(str(line_id)) if len(parts) == 1 else None, to=to))
        reason = _get(p, "reason")
        if reason:
            reason = str(doc.get(reason) or reason)
        result = post(conn, rt.name, lg, kind, lines, doc=document, user=user, reason=reason or transition,
                      ttl=_ttl(rt, ent.name, p, doc) if kind == "reserve" else None)
        emit_ledger_moved(conn, rt.name, lg.name, result.movements, actor=actor, scale=lg.scale)  # outbox (events)
        written += len(result.movements)
    return written


def run_transition_postings(conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                            t: TransitionSpec, actor: Actor, records: Any = None,
                            plans: Mapping[tuple[str, str], Progress] | None = None) -> int:
    """The postings of transition ``t`` on ``doc`` (the record after the transition);
    ``plans`` carries the per-line quantities the engine planned for progress postings."""
    pairs = postings_for(rt, ent.name, "transition", t)
    return run_postings(conn, rt, ent, doc, pairs, actor, t.name, records, plans) if pairs else 0


def run_create_postings(conn: Connection, rt: AppRuntime, ent: EntitySpec, doc: Mapping[str, Any],
                        actor: Actor, records: Any = None) -> int:
    """The ``on: create`` postings of a new document (e.g. stock_adjustment)."""
    pairs = postings_for(rt, ent.name, "create")
    return run_postings(conn, rt, ent, doc, pairs, actor, "create", records) if pairs else 0

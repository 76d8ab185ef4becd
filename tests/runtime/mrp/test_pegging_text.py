"""The pegging text of stored MRP lines (jimu.runtime.mrp.store.line_rows), worked out by
hand on a tiny structure: documents, a parent's planned order with the documents behind
it (five named, then "+1"), documents met through two parents named once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from jimu.runtime.mrp import store
from jimu.runtime.mrp.engine import Calendar, Component, Demand, PlanItem, Planner, Structure

START = date(2026, 1, 5)  # a Monday; week 1 starts 2026-01-12
WEEK1 = date(2026, 1, 12)
P, Q, C, G, R, H, K = 1, 2, 3, 4, 5, 6, 7
NAMES = {P: "P Pump", Q: "Q Quad", C: "C Core", G: "G Grit", R: "R Rack", H: "H Hook", K: "K Knob"}


def _lines() -> dict[int, str]:
    items = {i: PlanItem(i, supplier=9 if i in (G, K) else None) for i in NAMES}
    boms = {P: Structure(P, D(1), (Component(C, D(1)),)), Q: Structure(Q, D(1), (Component(C, D(1)),)),
            C: Structure(C, D(1), (Component(G, D(1)),)), R: Structure(R, D(1), (Component(H, D(1)),)),
            H: Structure(H, D(1), (Component(K, D(1)),))}
    demands = [Demand(P, D(1), WEEK1, f"SO-{k}") for k in (1, 2, 3)]
    demands += [Demand(Q, D(1), WEEK1, "SO-3"), Demand(Q, D(1), WEEK1, "SO-8")]
    demands += [Demand(R, D(1), WEEK1, f"SO-{k}") for k in range(11, 18)]
    results = Planner(Calendar(START, 28, 7), items, boms, demands).run()
    rows = store.line_rows(results, NAMES, {})
    assert all(r[2] == ("buy" if r[0] in (G, K) else "make") for r in rows)
    assert len(rows) == len({r[0] for r in rows})  # one order per item here
    return {r[0]: r[store.LINE_FIELDS.index("pegging")] for r in rows}


def test_pegging_names_documents_behind_parent_orders() -> None:
    """Mutations tried: the documents behind the first parent taken as five, not six (the
    "+1" of H's order, met through R's, lost in K's line), and the documents of a second parent added
    without checking those already named (SO-3 twice in G's line): both seen failing."""
    peg = _lines()
    assert peg[P] == "SO-1 @2026-01-12 ×1; SO-2 @2026-01-12 ×1; SO-3 @2026-01-12 ×1"
    assert peg[C] == "P Pump @2026-01-12 ×3 ← SO-1, SO-2, SO-3; Q Quad @2026-01-12 ×2 ← SO-3, SO-8"
    assert peg[G] == "C Core @2026-01-12 ×5 ← SO-1, SO-2, SO-3, SO-8"
    assert peg[H] == "R Rack @2026-01-12 ×7 ← SO-11, SO-12, SO-13, SO-14, SO-15 +1"
    assert peg[K] == "H Hook @2026-01-12 ×7 ← SO-11, SO-12, SO-13, SO-14, SO-15 +1"


def test_quantities_read_without_exponent_or_trailing_zeros() -> None:
    """A peg's quantity is plain decimal text whatever the Decimal's exponent (``str``
    of Decimal("1E+2") is "1E+2"): 1E+2 of a document and 2.50 of a parent's order read
    100 and 2.5 on the bought item's line, as ``_q`` (exception messages) writes them.
    Mutation tried: the exponent fallback (``if "E" in q``) removed from
    line_rows (seen failing: "×1E+2")."""
    items = {P: PlanItem(P), G: PlanItem(G, supplier=9)}
    boms = {P: Structure(P, D(1), (Component(G, D("1.25")),))}
    demands = [Demand(P, D("2.00"), WEEK1, "SO-1"), Demand(G, D("1E+2"), WEEK1, "SO-2")]
    results = Planner(Calendar(START, 28, 7), items, boms, demands).run()
    rows = {r[0]: r[store.LINE_FIELDS.index("pegging")] for r in store.line_rows(results, NAMES, {})}
    assert rows[P] == "SO-1 @2026-01-12 ×2"
    assert rows[G] == "SO-2 @2026-01-12 ×100; P Pump @2026-01-12 ×2.5 ← SO-1"
    assert store._q(D("1E+2")) == "100" and store._q(D("0E-7")) == "0" and store._q(D("5.1000")) == "5.1"

"""The ``mrp`` unit's actions: what is not seen through a transition (the transitions
themselves are tested in tests/contract/test_mrp.py and tests/runtime/mrp)."""

from __future__ import annotations

import threading
import weakref
from datetime import date

from jimu.cbu_library.mrp.actions import _free_in_background
from jimu.runtime.mrp.engine import Calendar, Demand, PlanItem, Planner


class _Held:
    """A value the test can watch being freed."""


def test_a_finished_plan_is_freed_by_a_thread_of_its_own() -> None:
    """The planner keeps nothing of its run, and what it held (its results, dependent
    demand and inputs) is freed in the freeing thread, not the caller's. Mutation tried:
    draining the held dicts before the thread starts (freed in the caller: fails)."""
    cal = Calendar(date(2026, 1, 5), 28)
    planner = Planner(cal, {1: PlanItem(1)}, {}, [Demand(1, 5, date(2026, 1, 12), "SO-1")])
    planner.run()
    assert planner.results and planner.demands
    freed: list[str] = []
    for store in (planner.results, planner.dependent, planner.demands, planner.receipts):
        watched = _Held()
        weakref.finalize(watched, lambda: freed.append(threading.current_thread().name))
        store[object()] = watched
        del watched
    thread = _free_in_background(planner)
    thread.join(10)
    assert not thread.is_alive()
    assert freed == ["jimu-mrp-free"] * 4
    assert (planner.results, planner.dependent, planner.demands, planner.receipts) == ({}, {}, {}, {})

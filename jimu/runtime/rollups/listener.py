"""The record listener keeping rollups up to date inside the write transaction.

Registered through ``jimu_record_listeners`` like the outbox: the record service calls
``after_write`` for every create, update, delete and transition (the row before and after,
as stored) and ``after_bulk_insert`` for imports; the rollup rows change in the same
transaction, so a rolled-back write leaves them untouched."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jimu.runtime.rollups.store import apply_changes, built, contribution, rollups_of

__all__ = ["RollupListener", "LISTENER"]


class RollupListener:
    def after_write(self, event: Any) -> None:
        defs = rollups_of(event.app, event.entity.name)
        if not defs:
            return
        ready = built(event.conn, event.app)  # a rollup not built yet counts this row when it is built
        for d in defs:
            if d.name not in ready:
                continue
            items = []
            if event.before is not None:
                items.append((-1, contribution(d, _by_name(event.before))))
            if event.after is not None:
                items.append((1, contribution(d, _by_name(event.after))))
            apply_changes(event.conn, d, items)

    def after_bulk_insert(self, conn: Any, rt: Any, entity: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        """``rows``: the inserted rows keyed by column name, values as bound."""
        defs = rollups_of(rt, entity.name)
        if not defs or not rows:
            return
        ready = built(conn, rt)
        for d in defs:
            if d.name in ready:
                apply_changes(conn, d, [(1, contribution(d, _by_column(r))) for r in rows])


def _by_name(record: Mapping[str, Any]) -> Callable[[Any], Any]:
    return lambda x: record.get(x.name)


def _by_column(row: Mapping[str, Any]) -> Callable[[Any], Any]:
    return lambda x: row.get(x.column)


LISTENER = RollupListener()

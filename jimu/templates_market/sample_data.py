"""Loading a CBU's sample data (``sample_data/*.yaml`` / ``*.csv``) through the record
service, so every row is validated like user input.

YAML files are ``{entity, key?, rows: [...]}``; a CSV file is named after its entity and
its first column is the natural key. A link value given as text is resolved by the
target's natural key (``item: 可口可乐330ml`` or ``item: SKU-0001``): the key declared by
the file that loaded the target, else its unique text fields, else its title field.
Master data goes through ``bulk_insert``; documents with child rows, or with ledger
postings on create, go through ``create`` so listeners (postings) run.

A YAML file may name ``replaced_by: [unit, ...]``: it is skipped in an app where one of
those units is installed (the stock unit's unbatched opening stock where
``batch_tracking`` loads batched openings, which first-expiry-first-out can allocate).

A date field may be given relative to the day the data is loaded: ``$today``,
``$today+14``, ``$today-3`` (days), so a demo's open orders stay ahead of whoever starts it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Connection

from jimu.core.errors import ValidationError
from jimu.platform.schema import column_name
from jimu.platform.specs import AppSpec, EntitySpec, LedgerPosting, LedgerSpec

__all__ = ["SampleLoader", "read_sample_file", "relative_date"]

_RELATIVE = re.compile(r"^\$today(?:\s*([+-])\s*(\d{1,5}))?$")


def relative_date(value: str) -> date | None:
    """The day ``$today[+-N]`` names (the clock's today, N days on or back), else None."""
    from jimu.core import clock

    m = _RELATIVE.match(value.strip())
    if m is None:
        return None
    days = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
    return clock.today() + timedelta(days=days)


def read_sample_file(path: Path) -> tuple[str, str | None, list[dict[str, Any]]]:
    """(entity, natural key field, rows) of one sample file."""
    entity, key, rows, _ = _read(path)
    return entity, key, rows


def _read(path: Path) -> tuple[str, str | None, list[dict[str, Any]], list[str]]:
    """(entity, natural key field, rows, the units that replace the file) of one sample file."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = [{k: (v if v != "" else None) for k, v in r.items()} for r in reader]
            key = reader.fieldnames[0] if reader.fieldnames else None
        return path.stem, key, rows, []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    if not isinstance(data, dict) or "entity" not in data:
        raise ValidationError(f"{path}: a sample file needs 'entity' and 'rows'", code="cbu.sample")
    replaced = data.get("replaced_by") or []
    replaced = [replaced] if isinstance(replaced, str) else [str(u) for u in replaced]
    return str(data["entity"]), data.get("key"), list(data.get("rows") or []), replaced


class SampleLoader:
    """Loads sample files into one app inside one write transaction."""

    def __init__(self, jimu: Any, app: str, conn: Connection) -> None:
        self.jimu = jimu
        self.app = app
        self.conn = conn
        self.rt = jimu.apps.get(app)
        self.spec: AppSpec = self.rt.spec
        self.keys: dict[str, str] = {}
        self.ids: dict[str, dict[str, int]] = {}
        self.loaded: dict[str, int] = {}
        self._create_entities = self._posting_entities()

    def _posting_entities(self) -> dict[str, list[tuple[LedgerSpec, LedgerPosting]]]:
        out: dict[str, list[tuple[LedgerSpec, LedgerPosting]]] = {}
        for ledger in self.spec.ledgers:
            for p in ledger.postings:
                if p.on == "create":
                    out.setdefault(p.entity, []).append((ledger, p))
        return out

    def _installed(self) -> set[str]:
        from jimu.templates_market.installed import installed_units

        return set(installed_units(self.conn, self.app))

    def has_rows(self, entity: str) -> bool:
        ent = self.spec.entity(entity)
        if ent is None or ent.archived:
            return False
        table = self.rt.tables(entity)
        return self.conn.execute(sa.select(table.c.id).limit(1)).first() is not None

    def load_file(self, path: Path) -> int:
        entity, key, rows, replaced_by = _read(path)
        ent = self.spec.entity(entity)
        if ent is None or ent.archived:
            return 0  # the entity belongs to a unit left out by params
        if replaced_by and self._installed().intersection(replaced_by):
            return 0  # e.g. unbatched opening stock where batch_tracking brings batched openings
        if key:
            self.keys[entity] = key
        rows = [self._resolve(ent, r, f"{path.name}[{i}]") for i, r in enumerate(rows)]
        has_children = any(f.type == "child_table" and f.name in r for r in rows for f in ent.active_fields)
        postings = self._create_entities.get(entity, [])
        if has_children or any(p.lines for _, p in postings):
            for r in rows:
                self.jimu.records.create(self.app, entity, r, conn=self.conn)
        else:
            table = self.rt.tables(entity)
            before = self.conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
            self.jimu.records.bulk_insert(self.app, entity, rows, conn=self.conn)
            if postings:
                self._post_created(ent, table, int(before), postings)
        self.loaded[entity] = self.loaded.get(entity, 0) + len(rows)
        self.ids.pop(entity, None)
        return len(rows)

    def _post_created(self, ent: EntitySpec, table: sa.Table, after_id: int,
                      postings: list[tuple[LedgerSpec, LedgerPosting]]) -> None:
        """Run the create postings of rows that ``bulk_insert`` wrote (it has no listeners)."""
        from jimu.platform.ledger.postings import MoveLine, post
        from jimu.platform.ledger.spec import Doc

        cols = {f.name: table.c[column_name(f)] for f in ent.active_fields if f.stored}
        rows = self.conn.execute(sa.select(table.c.id, *cols.values()).where(table.c.id > after_id)
                                 .order_by(table.c.id)).all()
        names = ["id", *cols]
        for raw in rows:
            rec = dict(zip(names, raw, strict=True))
            for ledger, p in postings:
                dims = {d: rec.get(fname) for d, fname in p.dimensions.items()}
                qty = rec.get(p.quantity)
                if qty is None or qty == 0:  # as the runtime's postings: nothing to move
                    continue
                post(self.conn, self.app, ledger, str(getattr(p, "kind", "adjust")), [MoveLine(dims, qty)],
                     doc=Doc(ent.name, rec["id"]), user="system", reason=str(rec.get("reason") or "sample data"))

    # Links by natural key -------------------------------------------------------------
    def _key_fields(self, ent: EntitySpec) -> list[str]:
        out = [self.keys[ent.name]] if ent.name in self.keys else []
        out += [f.name for f in ent.active_fields if f.unique and f.type in ("text", "barcode", "auto_number")]
        out.append(ent.title)
        return [f for i, f in enumerate(out) if f not in out[:i] and ent.field(f) is not None]

    def _id_map(self, entity: str) -> dict[str, int]:
        if entity in self.ids:
            return self.ids[entity]
        ent = self.spec.entity(entity)
        table = self.rt.tables(entity)
        out: dict[str, int] = {}
        assert ent is not None
        for fname in reversed(self._key_fields(ent)):
            f = ent.field(fname)
            assert f is not None
            col = table.c[column_name(f)]
            for rid, value in self.conn.execute(sa.select(table.c.id, col)):
                if value is not None:
                    out[str(value)] = int(rid)
        self.ids[entity] = out
        return out

    def _resolve(self, ent: EntitySpec, row: Mapping[str, Any], where: str) -> dict[str, Any]:
        out = dict(row)
        for f in ent.active_fields:
            value = out.get(f.name)
            if value is None:
                continue
            if f.type == "date" and isinstance(value, str) and value.startswith("$"):
                day = relative_date(value)
                if day is None:
                    raise ValidationError(f"sample {where}: {f.name} '{value}' is not $today, $today+N or $today-N",
                                          code="cbu.sample_date")
                out[f.name] = day
            elif f.type in ("link",) and isinstance(value, str) and f.target:
                ids = self._id_map(f.target)
                if value not in ids:
                    raise ValidationError(f"sample {where}: {f.name} '{value}' matches no {f.target}",
                                          code="cbu.sample_link")
                out[f.name] = ids[value]
            elif f.type == "child_table" and f.target and isinstance(value, list):
                child = self.spec.entity(f.target)
                assert child is not None
                out[f.name] = [self._resolve(child, c, f"{where}.{f.name}") for c in value]
        return out

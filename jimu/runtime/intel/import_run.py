"""The import itself: a kept preview's rows written into an entity, all or nothing.

Order of things, and why:

1. Rights before work: create on the entity (403, or 404 when the caller cannot see it),
   write on every mapped field (403 naming the field: a warehouse clerk cannot import
   prices it may not see), update on it when a ``key`` makes rows update existing
   records. Child entities are refused like a direct create (they belong to a parent).
2. Every cell is read as its *target field's* type (not the preview's guess); links are
   resolved by the title/search fields of the target's records the caller may read;
   choices by value or label. Unique fields are checked against the file and the table.
   Then every row goes through the record service's own input check (required, lengths,
   ranges). Every problem of every row is collected: ``{row, field, column, code,
   message}`` with ``row`` the spreadsheet line (the header is line 1).
3. Any problem: 422 ``import.invalid`` with all of them and nothing written. Otherwise one
   write transaction: :meth:`RecordService.bulk_insert` for new rows (the same bulk path
   sample data uses: defaults, formulas, auto numbers, one audit row) and
   :meth:`RecordService.update` for matched rows; the row filter is checked on what was
   written, inside the transaction, so a row outside it rolls everything back (403).

``create_entity`` (admins only, as in the designer) first puts the entity, or the fields
it lacks, into the app's draft and publishes it through the spec store, the designer's
path: the new table exists and is served without a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from jimu.core.errors import FieldError, PermissionDenied, ValidationError
from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec, FieldSpec
from jimu.platform.values import READ_ONLY_TYPES
from jimu.runtime.access import AccessPolicy
from jimu.runtime.access.gate import still_allowed
from jimu.runtime.intel.import_infer import BAD, norm_key, parse_value
from jimu.runtime.intel.import_preview import Preview, get_preview, link_index
from jimu.runtime.records.computed import apply_defaults, expression_env
from jimu.runtime.records.integrity import required
from jimu.runtime.records.validate import check_input

__all__ = ["run_import", "suggest_mapping", "MAX_REPORTED"]

MAX_REPORTED = 100_000
_IDENT = "abcdefghijklmnopqrstuvwxyz0123456789_"
_ZH = {"type": "格式不对", "required": "必填", "unique": "重复", "link": "找不到对应记录", "choice": "不是可选值",
       "field.unknown": "没有这个字段", "row_filter": "超出你可写的范围", "locked": "无权修改这条已有记录"}


def _bad_request(message: str, field: str, code: str = "import.mapping") -> ValidationError:
    return ValidationError(message, code=code, errors=[FieldError(field, code, message)])


class _Report:
    """Row problems, one per (row, field)."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.items: list[dict[str, Any]] = []
        self.seen: set[tuple[int, str]] = set()
        self.columns = columns

    def add(self, row: int, field: str, code: str, en: str) -> None:
        if (row, field) in self.seen or len(self.items) >= MAX_REPORTED:
            return
        self.seen.add((row, field))
        zh = _ZH.get(code, "有误")
        self.items.append({"row": row, "field": field, "column": self.columns.get(field), "code": code,
                           "message": f"第 {row} 行「{self.columns.get(field) or field}」{zh} / row {row}, "
                                      f"{field}: {en}"})

    def rows(self) -> int:
        return len({r for r, _f in self.seen})


def _check_body(preview: Preview, body: Mapping[str, Any]) -> tuple[str, dict[str, str], str | None]:
    entity = body.get("entity")
    if not isinstance(entity, str) or not entity or any(ch not in _IDENT for ch in entity) or not entity[0].isalpha():
        raise _bad_request("entity 须为实体名 / entity must be an entity name (lower-case letters, digits, _)",
                           "entity")
    raw = body.get("mapping")
    names = {c.name for c in preview.columns}
    if raw is None and body.get("create_entity"):
        raw = {c.name: c.name for c in preview.columns}
    if not isinstance(raw, dict) or not raw:
        raise _bad_request("mapping 须为 {列: 字段} / mapping must be an object {column: field}", "mapping")
    mapping: dict[str, str] = {}
    for col, target in raw.items():
        if col not in names:
            raise _bad_request(f"文件中没有列 {col} / the file has no column '{col}'", f"mapping.{col}")
        if target in (None, ""):
            continue
        if not isinstance(target, str):
            raise _bad_request(f"列 {col} 的目标须为字段名 / mapping.{col} must be a field name", f"mapping.{col}")
        if target in mapping.values():
            raise _bad_request(f"字段 {target} 被映射了两次 / field '{target}' is mapped twice", f"mapping.{col}")
        mapping[col] = target
    if not mapping:
        raise _bad_request("至少映射一列 / map at least one column", "mapping")
    key = body.get("key")
    if key is not None and (not isinstance(key, str) or key not in mapping.values()):
        raise _bad_request("key 须为已映射的字段 / key must be one of the mapped fields", "key")
    return entity, mapping, key


def _create_entity(policy: AccessPolicy, preview: Preview, entity: str, mapping: dict[str, str]) -> AccessPolicy:
    """Add the entity (or its missing fields) to the draft and publish, as the designer
    does; returns the caller's policy on the new version."""
    if not policy.is_admin:
        raise PermissionDenied("创建实体需要管理员 / creating an entity needs the admin role", code="forbidden.admin")
    store = policy.jimu.store
    draft = store.draft(policy.app)
    current = draft.entity(entity)
    by_col = {c.name: c for c in preview.columns}
    fields: list[dict[str, Any]] = []
    have = {f.name for f in current.fields} if current is not None else set()
    for col, target in mapping.items():
        if target in have:
            continue
        c = by_col[col]
        if not target[0].isalpha() or any(ch not in _IDENT for ch in target):
            raise _bad_request(f"字段名 {target} 不合法 / '{target}' is not a field name", f"mapping.{col}")
        spec: dict[str, Any] = {"name": target, "label": {"zh": c.label, "en": c.label}, "type": c.type}
        if c.options:
            spec["options"] = c.options
        fields.append(spec)
    if current is None:
        label = {"zh": entity, "en": entity}
        body: dict[str, Any] = {"name": entity, "label": label, "fields": fields}
        text = [f["name"] for f in fields if f["type"] == "text"]
        if text:
            body["title_field"] = text[0]
    elif fields:
        body = current.dump() if hasattr(current, "dump") else current.model_dump(mode="json", exclude_none=True)
        body["fields"] = [*body.get("fields", []), *fields]
    else:
        return policy
    store.put_element(policy.app, "entity", entity, body, author=policy.actor.username)
    store.publish(policy.app, author=policy.actor.username)
    return AccessPolicy.for_actor(policy.jimu, policy.app, policy.actor)


def _targets(policy: AccessPolicy, entity: str, mapping: dict[str, str]) -> tuple[EntitySpec, dict[str, FieldSpec]]:
    ent = policy.require(entity, "create")
    if policy.parent_link(entity) is not None:
        raise policy.child_direct(entity, "create")
    wf = policy.rt.workflow_for(entity)
    out: dict[str, FieldSpec] = {}
    for col, target in mapping.items():
        f = ent.field(target)
        if f is None or f.archived or f.type in READ_ONLY_TYPES or f.type in ("child_table", "multi_choice", "geo"):
            raise _bad_request(f"{entity} 没有可导入的字段 {target} / '{target}' is not a field of {entity} "
                               "that can be imported", f"mapping.{col}")
        if wf is not None and target == wf.state_field:
            raise _bad_request(f"{target} 只能由流程改变 / '{target}' changes only through the workflow",
                               f"mapping.{col}")
        out[col] = f
    policy.check_write(entity, {f.name: None for f in out.values()}, creating=True)
    return ent, out


def _choice(f: FieldSpec, v: Any) -> Any:
    text = str(v).strip()
    if text in f.choice_values:
        return text
    low = text.casefold()
    for c in f.options.get("choices") or []:
        if not isinstance(c, dict):
            continue
        label = c.get("label") or {}
        names = [str(c.get("value", ""))] + ([str(x) for x in label.values()] if isinstance(label, dict) else [str(label)])
        if any(n.casefold() == low for n in names if n):
            return c.get("value")
    return BAD


def _convert(policy: AccessPolicy, preview: Preview, fields: dict[str, FieldSpec],
             report: _Report) -> list[dict[str, Any]]:
    index = {c.name: i for i, c in enumerate(preview.columns)}
    links: dict[str, dict[str, int]] = {}
    for col, f in fields.items():
        if f.type == "link" and f.target:
            i = index[col]
            links[col] = link_index(policy, f.target, list({norm_key(r[i]): r[i] for r in preview.rows}.values()))
    plan = [(index[col], col, f) for col, f in fields.items()]
    out: list[dict[str, Any]] = []
    for n, row in enumerate(preview.rows):
        data: dict[str, Any] = {}
        for i, col, f in plan:
            raw = row[i]
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                data[f.name] = None
                continue
            if f.type == "link":
                value = links[col].get(norm_key(raw), BAD)
                code, en = "link", f"no {f.target} named '{str(raw)[:60]}' that you can see"
            elif f.type == "choice":
                value = _choice(f, raw)
                code, en = "choice", f"'{str(raw)[:60]}' is not one of {', '.join(f.choice_values)[:200]}"
            else:
                value = parse_value(f.value_type, raw)
                code, en = "type", f"'{str(raw)[:60]}' is not a valid {f.value_type}"
            if value is BAD:
                report.add(n + 2, f.name, code, en)
                value = None
            data[f.name] = value
        out.append(data)
    return out


def _unique(policy: AccessPolicy, ent: EntitySpec, datas: list[dict[str, Any]], key: str | None,
            report: _Report) -> None:
    t = policy.rt.tables(ent.name)
    for fname in {k for k in (datas[0] if datas else {})}:
        f = ent.field(fname)
        if f is None or not f.unique or fname == key:
            continue
        seen: dict[Any, int] = {}
        for n, d in enumerate(datas):
            v = d.get(fname)
            if v is None:
                continue
            if v in seen:
                report.add(n + 2, fname, "unique", f"'{v}' repeats line {seen[v]}")
            else:
                seen[v] = n + 2
        values = list(seen)
        col = t.c[column_name(f)]
        with policy.jimu.db.read() as conn:
            for i in range(0, len(values), 1000):
                for (v,) in conn.execute(sa.select(col).where(col.in_(values[i:i + 1000]))):
                    if v in seen:
                        report.add(seen[v], fname, "unique", f"'{v}' already exists")


def _existing(policy: AccessPolicy, ent: EntitySpec, key: str, datas: list[dict[str, Any]],
              report: _Report) -> dict[int, int]:
    """{row index → id of the record its key names}; a key naming a record the caller may
    not update is reported."""
    f = ent.field(key)
    assert f is not None
    if not f.unique:
        raise _bad_request(f"key 须为唯一字段 / key '{key}' must be a unique field", "key")
    t = policy.rt.tables(ent.name)
    col = t.c[column_name(f)]
    wanted = {d[key]: n for n, d in enumerate(datas) if d.get(key) is not None}
    may_update = policy.can(ent.name, "update")
    clause = policy.row_clause(ent.name, "update") if may_update else None
    found: dict[Any, int] = {}
    allowed: set[int] = set()
    values = list(wanted)
    with policy.jimu.db.read() as conn:
        for i in range(0, len(values), 1000):
            chunk = values[i:i + 1000]
            found.update({v: int(rid) for rid, v in conn.execute(sa.select(t.c.id, col).where(col.in_(chunk)))})
            if may_update:
                stmt = sa.select(t.c.id).where(col.in_(chunk))
                if clause is not None:
                    stmt = stmt.where(clause)
                allowed |= {int(r[0]) for r in conn.execute(stmt)}
    out: dict[int, int] = {}
    for v, rid in found.items():
        n = wanted[v]
        if rid not in allowed:
            report.add(n + 2, key, "locked", f"'{v}' exists and you may not change it")
        else:
            out[n] = rid
    return out


def _check_rows(policy: AccessPolicy, ent: EntitySpec, datas: list[dict[str, Any]], updates: dict[int, int],
                report: _Report) -> None:
    """The record service's own input checks on every row, each problem reported."""
    records = policy.jimu.records
    with policy.jimu.db.read() as conn:
        env = expression_env(records, conn, policy.rt, policy.actor)
        for n, data in enumerate(datas):
            creating = n not in updates
            given = {k: v for k, v in data.items() if creating or v is not None}
            values, _children, errors = check_input(ent, given, creating=creating)
            if creating:
                apply_defaults(policy.rt, ent, values, env)
                required(ent, values, errors, "")
                verdict = policy.admits(ent.name, values, "create")
                if verdict is False:
                    report.add(n + 2, next(iter(data), "id"), "row_filter",
                               "the row falls outside the records you may create")
            for e in errors:
                report.add(n + 2, e.field, "required" if e.code == "required" else "type", e.message)


def _fail(report: _Report, total: int) -> ValidationError:
    zh = f"{report.rows()} 行有问题，未导入任何数据 / {report.rows()} of {total} rows have problems: nothing imported"
    return ValidationError(zh, code="import.invalid",
                           extra={"created": 0, "updated": 0, "errors": report.items, "bad_rows": report.rows(),
                                  "messages": {"zh": f"{report.rows()} 行有问题，未导入任何数据",
                                               "en": f"{report.rows()} of {total} rows have problems: "
                                                     "nothing imported"}})


def _write(policy: AccessPolicy, ent: EntitySpec, datas: list[dict[str, Any]], updates: dict[int, int]) -> int:
    jimu, actor = policy.jimu, policy.actor
    creates = [{k: v for k, v in d.items() if v is not None} for n, d in enumerate(datas) if n not in updates]
    t = policy.rt.tables(ent.name)
    clause = policy.row_clause(ent.name, "create")
    with jimu.db.write() as c:
        before = c.execute(sa.select(sa.func.max(t.c.id))).scalar() or 0
        created = jimu.records.bulk_insert(policy.app, ent.name, creates, actor=actor, conn=c) if creates else 0
        if clause is not None and created:
            outside = c.execute(sa.select(sa.func.count()).select_from(t).where(t.c.id > before, sa.not_(clause)))
            if outside.scalar():
                raise PermissionDenied(f"the {ent.name} rows would fall outside the records you may create",
                                       code="forbidden.row")
        for n, rid in updates.items():
            data = {k: v for k, v in datas[n].items() if v is not None}
            current = jimu.records.get(policy.app, ent.name, rid, conn=c)
            policy.check_state_write(ent.name, current, data)
            rec = jimu.records.update(policy.app, ent.name, rid, data, actor=actor, conn=c,
                                      expected_version=current["version"])
            still_allowed(policy, c, ent.name, rec, "update")
    return created


def run_import(policy: AccessPolicy, body: Mapping[str, Any]) -> dict[str, Any]:
    """Import a kept preview (see module doc) → ``{created, updated, errors: []}``; 422
    ``import.invalid`` with every bad row and nothing written."""
    preview = get_preview(policy, body.get("preview_id"))
    entity, mapping, key = _check_body(preview, body)
    if body.get("create_entity"):
        policy = _create_entity(policy, preview, entity, mapping)
    ent, fields = _targets(policy, entity, mapping)
    if key is not None:
        policy.require(entity, "update")
    report = _Report({f.name: next(c.label for c in preview.columns if c.name == col) for col, f in fields.items()})
    datas = _convert(policy, preview, fields, report)
    updates = _existing(policy, ent, key, datas, report) if key is not None else {}
    _unique(policy, ent, datas, key, report)
    wf = policy.rt.workflow_for(entity)
    if wf is not None and wf.initial_state is not None:
        for n, d in enumerate(datas):
            if n not in updates:
                d[wf.state_field] = wf.initial_state.name
    if report.items or policy.row_clause(entity, "create") is not None:
        _check_rows(policy, ent, datas, updates, report)
    if report.items:
        raise _fail(report, len(datas))
    try:
        created = _write(policy, ent, datas, updates)
    except ValidationError:
        _check_rows(policy, ent, datas, updates, report)
        if report.items:
            raise _fail(report, len(datas)) from None
        raise
    return {"created": created, "updated": len(updates), "errors": []}


def suggest_mapping(policy: AccessPolicy, entity: str, columns: list[dict[str, Any]]) -> dict[str, str | None]:
    """{column → field of ``entity`` the caller may write whose name or label (zh/en)
    equals the column's name or header}, None for a column with no such field; 404/403
    as for a create when the caller may not create ``entity``."""
    ent = policy.require(entity, "create")
    writable = set(policy.writable_fields(entity))
    keys: dict[str, str] = {}
    for f in ent.active_fields:
        if f.name not in writable or f.type in READ_ONLY_TYPES or f.type == "child_table":
            continue
        for k in (f.name, f.label.zh, f.label.en):
            if k:
                keys.setdefault(k.strip().casefold(), f.name)
    out: dict[str, str | None] = {}
    used: set[str] = set()
    for c in columns:
        hit = keys.get(str(c["label"]).strip().casefold()) or keys.get(str(c["name"]).casefold())
        out[c["name"]] = hit if hit is not None and hit not in used else None
        if hit is not None:
            used.add(hit)
    return out

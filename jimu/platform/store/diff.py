"""What changed between two app specs, as data and as sentences (“配置即文档”).

Every change reads as a sentence in Chinese and English, e.g. "added field 成本价
(cost_price, money) to 商品 item" / "在 商品 (item) 中新增字段 成本价 (cost_price, money)".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from typing import Any

from jimu.platform.specs.app import KIND_MODELS, AppSpec
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.fields import FieldSpec

__all__ = ["Change", "diff_apps", "diff_element"]

KIND_ZH = {
    "entity": "实体",
    "workflow": "流程",
    "role": "角色",
    "form": "表单",
    "view": "视图",
    "automation": "自动化",
    "ledger": "台账",
    "dashboard": "仪表盘",
}
FIELD_PROPS_ZH = {
    "label": "标签",
    "required": "必填",
    "default": "默认值",
    "unique": "唯一",
    "indexed": "索引",
    "options": "选项",
    "help": "帮助",
    "validation": "校验",
    "type": "类型",
}


@dataclass
class Change:
    kind: str
    element: str
    action: str  # added | changed | removed | archived | restored | renamed | retyped
    summary_zh: str
    summary_en: str
    before: Any = None
    after: Any = None
    details: dict[str, Any] = dc_field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ename(e: EntitySpec) -> tuple[str, str]:
    zh = e.label.zh or e.name
    en = e.label.en or e.name
    return f"{zh} ({e.name})", f"{en} {e.name}" if en != e.name else e.name


def _fname(f: FieldSpec) -> tuple[str, str]:
    zh = f.label.zh or f.name
    en = f.label.en or f.label.zh or f.name
    return f"{zh} ({f.name}, {f.type})", f"{en} ({f.name}, {f.type})"


def _field_key(f: FieldSpec) -> str:
    return f.column or f.name


def _diff_fields(old: EntitySpec, new: EntitySpec) -> list[Change]:
    out: list[Change] = []
    ezh, een = _ename(new)
    old_by_key = {_field_key(f): f for f in old.fields}
    new_keys = set()
    for f in new.fields:
        key = _field_key(f)
        new_keys.add(key)
        before = old_by_key.get(key)
        fzh, fen = _fname(f)
        element = f"{new.name}.{f.name}"
        if before is None:
            out.append(Change("field", element, "added", f"在 {ezh} 中新增字段 {fzh}",
                              f"added field {fen} to {een}", None, f.dump()))
            continue
        if before.name != f.name:
            out.append(Change("field", element, "renamed", f"将 {ezh} 的字段 {before.name} 重命名为 {f.name}",
                              f"renamed field {before.name} of {een} to {f.name}", before.dump(), f.dump()))
        if before.archived != f.archived:
            action = "archived" if f.archived else "restored"
            zh = "归档" if f.archived else "恢复"
            out.append(Change("field", element, action, f"{zh}了 {ezh} 的字段 {fzh}（数据保留）",
                              f"{action} field {fen} of {een} (data kept)", before.dump(), f.dump()))
        if before.type != f.type:
            out.append(Change("field", element, "retyped",
                              f"将 {ezh} 的字段 {f.label.zh or f.name} 的类型从 {before.type} 改为 {f.type}",
                              f"changed the type of field {f.name} of {een} from {before.type} to {f.type}",
                              before.dump(), f.dump()))
        props = [p for p in FIELD_PROPS_ZH if p != "type" and getattr(before, p) != getattr(f, p)]
        if props:
            zh_props = "、".join(FIELD_PROPS_ZH[p] for p in props)
            out.append(Change("field", element, "changed", f"修改了 {ezh} 的字段 {fzh} 的{zh_props}",
                              f"changed {', '.join(props)} of field {fen} of {een}", before.dump(), f.dump(),
                              {"properties": props}))
    for key, f in old_by_key.items():
        if key not in new_keys:
            fzh, fen = _fname(f)
            out.append(Change("field", f"{old.name}.{f.name}", "archived", f"归档了 {ezh} 的字段 {fzh}（数据保留）",
                              f"archived field {fen} of {een} (data kept)", f.dump(), None))
    return out


def diff_element(kind: str, old: Any, new: Any) -> list[Change]:
    """Changes between two versions of one element (either may be None)."""
    kzh = KIND_ZH.get(kind, kind)
    if old is None and new is None:
        return []
    if old is None:
        label = getattr(new, "label", None)
        zh = f"{label.zh or new.name} ({new.name})" if label else new.name
        out = [Change(kind, new.name, "added", f"新增{kzh} {zh}", f"added {kind} {new.name}", None, new.dump())]
        if kind == "entity":
            ezh, een = _ename(new)
            for f in new.fields:
                fzh, fen = _fname(f)
                out.append(Change("field", f"{new.name}.{f.name}", "added", f"在 {ezh} 中新增字段 {fzh}",
                                  f"added field {fen} to {een}", None, f.dump()))
        return out
    if new is None:
        action = "archived" if kind == "entity" else "removed"
        zh_action = "归档" if kind == "entity" else "删除"
        return [Change(kind, old.name, action, f"{zh_action}了{kzh} {old.name}", f"{action} {kind} {old.name}",
                       old.dump(), None)]
    if kind == "entity":
        out = _diff_fields(old, new)
        rest_old = old.model_dump(exclude={"fields"})
        rest_new = new.model_dump(exclude={"fields"})
        if rest_old != rest_new:
            keys = sorted(k for k in rest_new if rest_old.get(k) != rest_new.get(k))
            ezh, een = _ename(new)
            out.append(Change("entity", new.name, "changed", f"修改了{kzh} {ezh} 的 {', '.join(keys)}",
                              f"changed {', '.join(keys)} of entity {een}", rest_old, rest_new))
        return out
    if old.dump() == new.dump():
        return []
    return [Change(kind, new.name, "changed", f"修改了{kzh} {new.name}", f"changed {kind} {new.name}",
                   old.dump(), new.dump())]


def diff_apps(old: AppSpec | None, new: AppSpec) -> list[Change]:
    """Every change from ``old`` (None: an empty app) to ``new``, kind by kind."""
    out: list[Change] = []
    for kind, (attr, _model) in KIND_MODELS.items():
        before = {e.name: e for e in (getattr(old, attr) if old else [])}
        after = {e.name: e for e in getattr(new, attr)}
        for name in after:
            out.extend(diff_element(kind, before.get(name), after[name]))
        for name in before:
            if name not in after:
                out.extend(diff_element(kind, before[name], None))
    if old is not None and (old.label != new.label or old.settings != new.settings):
        out.append(Change("app", new.name, "changed", f"修改了应用 {new.name} 的设置",
                          f"changed the settings of app {new.name}"))
    return out

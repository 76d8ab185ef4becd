"""A CBU's contribution as a flat map of element keys, and reading/writing those keys in
an app spec.

Element keys follow ``AppSpec.owners`` / the health scanner: ``entity:item``,
``field:item.cost_price``, ``workflow:sales_order``, ``state:sales_order.draft``,
``transition:sales_order.submit``, ``timer:sales_order.escalate``, ``role:sales``,
``role:sales.item`` (one role's rights on one entity), ``ledger:stock``,
``dimension:stock.batch``, ``posting:stock.so_reserve``, ``input:purchase_order.receive.x``
(an input added to a transition), ``view:..``, ``form:..``,
``automation:..``, ``dashboard:..``, ``setting:fefo``. Values are normalized JSON (pydantic
defaults filled, physical names and archive flags left out) so that a CBU's YAML and an
app's stored spec compare equal when they mean the same thing.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Mapping
from typing import Any

from jimu.core import pyast
from jimu.core.errors import ValidationError
from jimu.platform.specs import (
    AutomationSpec,
    DashboardSpec,
    EntityRights,
    EntitySpec,
    FieldSpec,
    FormSpec,
    LedgerDimension,
    LedgerPosting,
    LedgerSpec,
    RoleSpec,
    StateSpec,
    TimerSpec,
    TransitionSpec,
    ViewSpec,
    WorkflowSpec,
)
from jimu.templates_market.manifest import CbuManifest

__all__ = ["Flat", "render", "contribution", "flatten_app", "get_key", "set_key", "remove_key", "key_kind"]

Flat = dict[str, Any]
_PHYSICAL = ("column", "table", "archived")
_WHOLE = {"forms": ("form", FormSpec), "views": ("view", ViewSpec), "automations": ("automation", AutomationSpec),
          "dashboards": ("dashboard", DashboardSpec)}
_TPL = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


# Params: ``when`` conditions and ``{{ param }}`` substitution ------------------------------
def _when(expr: str, params: Mapping[str, Any]) -> bool:
    """Evaluate a tiny boolean expression over params (names, literals, not/and/or, compare)."""
    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in ("true", "false"):
                return node.id == "true"
            if node.id not in params:
                raise ValidationError(f"when: unknown param '{node.id}' in {expr!r}", code="cbu.when")
            return params[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not ev(node.operand)
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            a, b, op = ev(node.left), ev(node.comparators[0]), node.ops[0]
            table = {ast.Eq: lambda: a == b, ast.NotEq: lambda: a != b, ast.Lt: lambda: a < b,
                     ast.Gt: lambda: a > b, ast.LtE: lambda: a <= b, ast.GtE: lambda: a >= b,
                     ast.In: lambda: a in b, ast.NotIn: lambda: a not in b}
            if type(op) in table:
                return table[type(op)]()
        if isinstance(node, ast.List | ast.Tuple):
            return [ev(e) for e in node.elts]
        raise ValidationError(f"when: unsupported expression {expr!r}", code="cbu.when")

    return bool(ev(pyast.parse_eval(str(expr))))


def render(value: Any, params: Mapping[str, Any]) -> Any:
    """``value`` with ``when``-false mappings dropped and ``{{ param }}`` substituted."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "when":
                continue
            if isinstance(v, dict) and "when" in v and not _when(v["when"], params):
                continue
            out[k] = render(v, params)
        return out
    if isinstance(value, list):
        return [render(v, params) for v in value
                if not (isinstance(v, dict) and "when" in v and not _when(v["when"], params))]
    if isinstance(value, str) and "{{" in value:
        whole = _TPL.fullmatch(value.strip())
        if whole:
            return params.get(whole.group(1))
        return _TPL.sub(lambda m: str(params.get(m.group(1), "")), value)
    return value


# Normalization -------------------------------------------------------------------------------
def _norm(model: Any, data: Mapping[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    d = model.model_validate(dict(data)).dump()
    for k in (*_PHYSICAL, *drop):
        d.pop(k, None)
    return dict(d)


def _split_entity(e: Mapping[str, Any], out: Flat) -> None:
    out[f"entity:{e['name']}"] = _norm(EntitySpec, {**e, "fields": []}, ("fields",))
    for f in e.get("fields", []):
        fd = _norm(FieldSpec, f)
        out[f"field:{e['name']}.{fd['name']}"] = fd


def _split_workflow(w: Mapping[str, Any], out: Flat) -> None:
    name = w["name"]
    out[f"workflow:{name}"] = _norm(WorkflowSpec, {**w, "states": [], "transitions": [], "timers": []},
                                    ("states", "transitions", "timers"))
    for s in w.get("states", []):
        out[f"state:{name}.{s['name']}"] = _norm(StateSpec, s)
    for t in w.get("transitions", []):
        out[f"transition:{name}.{t['name']}"] = _norm(TransitionSpec, t)
    for t in w.get("timers", []):
        out[f"timer:{name}.{t['name']}"] = _norm(TimerSpec, t)


def _split_role(r: Mapping[str, Any], out: Flat, header: bool = False) -> None:
    """A role defines its header (label, domains, ...) only when it says more than its
    rights; a fragment granting rights on the unit's entities merges by name."""
    if header or set(r) - {"name", "entities"}:
        out[f"role:{r['name']}"] = _norm(RoleSpec, {**r, "entities": {}}, ("entities",))
    for ename, rights in (r.get("entities") or {}).items():
        out[f"role:{r['name']}.{ename}"] = _norm(EntityRights, rights)


def _split_ledger(x: Mapping[str, Any], out: Flat) -> None:
    name = x["name"]
    out[f"ledger:{name}"] = _norm(LedgerSpec, {**x, "dimensions": [], "postings": []}, ("dimensions", "postings"))
    for d in x.get("dimensions", []):
        out[f"dimension:{name}.{d['name']}"] = _norm(LedgerDimension, d)
    for p in x.get("postings", []):
        out[f"posting:{name}.{p['name']}"] = _norm(LedgerPosting, p)


def contribution(manifest: CbuManifest, params: Mapping[str, Any]) -> Flat:
    """The flat, normalized contribution of ``manifest`` installed with ``params``."""
    c = render(manifest.contributes.model_dump(), params)
    x = render(manifest.extends.model_dump(), params)
    out: Flat = {}
    for e in c["entities"]:
        _split_entity(e, out)
    for ename, fields in x["fields"].items():
        for f in fields:
            fd = _norm(FieldSpec, f)
            out[f"field:{ename}.{fd['name']}"] = fd
    for w in c["workflows"]:
        _split_workflow(w, out)
    for kind, key in (("workflow_states", "state"), ("workflow_transitions", "transition"),
                      ("workflow_timers", "timer")):
        model = {"state": StateSpec, "transition": TransitionSpec, "timer": TimerSpec}[key]
        for wname, items in x[kind].items():
            for item in items:
                out[f"{key}:{wname}.{item['name']}"] = _norm(model, item)
    for target, inputs in x.get("transition_inputs", {}).items():
        for f in inputs:
            fd = _norm(FieldSpec, f)
            out[f"input:{target}.{fd['name']}"] = fd
    for r in c["roles"]:
        _split_role(r, out)
    for lg in c["ledgers"]:
        _split_ledger(lg, out)
    for lname, dims in x["ledger_dimensions"].items():
        for d in dims:
            out[f"dimension:{lname}.{d['name']}"] = _norm(LedgerDimension, d)
    for lname, posts in x["ledger_postings"].items():
        for p in posts:
            out[f"posting:{lname}.{p['name']}"] = _norm(LedgerPosting, p)
    for lname, by_posting in x["posting_options"].items():
        for pname, opts in by_posting.items():
            out[f"postopt:{lname}.{pname}"] = dict(opts)
    for attr, (kind, model) in _WHOLE.items():
        for item in c[attr]:
            out[f"{kind}:{item['name']}"] = _norm(model, item)
    for k, v in x["settings"].items():
        out[f"setting:{k}"] = v
    return out


def key_kind(key: str) -> str:
    return key.split(":", 1)[0]


# Reading and writing keys in an app dict (AppSpec.dump()) -----------------------------------
def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((i for i in items if i.get("name") == name), None)


def _posting(app: dict[str, Any], rest: str) -> dict[str, Any] | None:
    lname, _, pname = rest.partition(".")
    ledger = _named(app.get("ledgers", []), lname)
    return _named(ledger.get("postings", []), pname) if ledger else None


def _locate(app: dict[str, Any], key: str) -> tuple[list[dict[str, Any]] | None, str, dict[str, Any] | None]:
    """(the list holding the element, its name, the element) for list-held keys."""
    kind, _, rest = key.partition(":")
    parent, _, child = rest.partition(".")
    if kind in ("entity", "workflow", "ledger", "form", "view", "automation", "dashboard") or (
            kind == "role" and not child):
        attr = {"entity": "entities", "role": "roles"}.get(kind, kind + "s")
        items = app.setdefault(attr, [])
        return items, rest, _named(items, rest)
    holder_kind, attr = {"field": ("entities", "fields"), "state": ("workflows", "states"),
                         "transition": ("workflows", "transitions"), "timer": ("workflows", "timers"),
                         "dimension": ("ledgers", "dimensions"), "posting": ("ledgers", "postings")}.get(
        kind, (None, None))
    if holder_kind is None or attr is None:
        raise ValidationError(f"unknown element key '{key}'", code="cbu.key")
    holder = _named(app.setdefault(holder_kind, []), parent)
    if holder is None:
        return None, child, None
    items = holder.setdefault(attr, [])
    return items, child, _named(items, child)


def _inputs(app: dict[str, Any], rest: str) -> tuple[list[dict[str, Any]] | None, str]:
    """(the inputs list of the transition, the input name) for ``workflow.transition.input``."""
    wname, _, more = rest.partition(".")
    tname, _, iname = more.partition(".")
    wf = _named(app.get("workflows", []), wname)
    t = _named(wf.get("transitions", []), tname) if wf else None
    return (t.setdefault("inputs", []) if t is not None else None), iname


def get_key(app: dict[str, Any], key: str, *, include_archived: bool = False) -> Any:
    """The normalized value of ``key`` in ``app`` (None when absent or archived)."""
    kind, _, rest = key.partition(":")
    if kind == "input":
        inputs, iname = _inputs(app, rest)
        found = _named(inputs or [], iname)
        return _norm(FieldSpec, copy.deepcopy(found)) if found else None
    if kind == "setting":
        return copy.deepcopy(app.get("settings", {}).get(rest))
    if kind == "postopt":
        posting = _posting(app, rest)
        return copy.deepcopy(posting.get("overrides")) if posting else None
    if kind == "role" and "." in rest:
        rname, _, ename = rest.partition(".")
        role = _named(app.get("roles", []), rname)
        rights = (role or {}).get("entities", {}).get(ename)
        return _norm(EntityRights, rights) if rights is not None else None
    _, _, found = _locate(app, key)
    if found is None or (found.get("archived") and not include_archived):
        return None
    el = copy.deepcopy(found)
    flat: Flat = {}
    if kind == "entity":
        _split_entity({**el, "fields": []}, flat)
    elif kind == "workflow":
        _split_workflow({**el, "states": [], "transitions": [], "timers": []}, flat)
    elif kind == "role":
        _split_role({**el, "entities": {}}, flat, header=True)
    elif kind == "ledger":
        _split_ledger({**el, "dimensions": [], "postings": []}, flat)
    else:
        model = {"field": FieldSpec, "state": StateSpec, "transition": TransitionSpec, "timer": TimerSpec,
                 "dimension": LedgerDimension, "posting": LedgerPosting, "form": FormSpec, "view": ViewSpec,
                 "automation": AutomationSpec, "dashboard": DashboardSpec}[kind]
        return _norm(model, el)
    return flat[key]


def set_key(app: dict[str, Any], key: str, value: Any) -> None:
    """Create or replace ``key`` in ``app`` (physical names kept; archived elements restored)."""
    kind, _, rest = key.partition(":")
    value = copy.deepcopy(value)
    if kind == "setting":
        app.setdefault("settings", {})[rest] = value
        return
    if kind == "input":
        inputs, iname = _inputs(app, rest)
        if inputs is None:
            raise ValidationError(f"cannot set '{key}': no such transition", code="cbu.parent_missing")
        found = _named(inputs, iname)
        if found is None:
            inputs.append({**value, "name": iname})
        else:
            found.clear()
            found.update({**value, "name": iname})
        return
    if kind == "postopt":
        posting = _posting(app, rest)
        if posting is None:
            raise ValidationError(f"cannot set '{key}': no such posting", code="cbu.parent_missing")
        old = posting.get("overridden") or {k: posting.get(k) for k in value}
        for k in value:
            old.setdefault(k, posting.get(k))
        posting.update(value)
        posting["overrides"], posting["overridden"] = value, old
        return
    if kind == "role" and "." in rest:
        rname, _, ename = rest.partition(".")
        role = _named(app.setdefault("roles", []), rname)
        if role is None:
            role = {"name": rname, "label": {"zh": rname, "en": rname}, "entities": {}}
            app["roles"].append(role)
        role.setdefault("entities", {})[ename] = value
        return
    items, name, el = _locate(app, key)
    if items is None:
        raise ValidationError(f"cannot add '{key}': its parent element does not exist", code="cbu.parent_missing")
    if el is None:
        items.append({**value, "name": name})
        return
    keep = {k: el[k] for k in ("column", "table", "fields", "states", "transitions", "timers", "dimensions",
                                "postings", "entities") if k in el and k not in value}
    if kind == "role":
        keep["entities"] = el.get("entities", {})
    el.clear()
    el.update({**value, **keep, "name": name})
    el.pop("archived", None)


def remove_key(app: dict[str, Any], key: str) -> None:
    """Remove ``key``: entities and fields are archived (data kept), the rest deleted."""
    kind, _, rest = key.partition(":")
    if kind == "setting":
        app.get("settings", {}).pop(rest, None)
        return
    if kind == "input":
        inputs, iname = _inputs(app, rest)
        found = _named(inputs or [], iname)
        if inputs is not None and found is not None:
            inputs.remove(found)
        return
    if kind == "postopt":
        posting = _posting(app, rest)
        if posting is not None:
            for k, v in (posting.pop("overridden", None) or {}).items():
                if v is None:
                    posting.pop(k, None)
                else:
                    posting[k] = v
            posting.pop("overrides", None)
        return
    if kind == "role" and "." in rest:
        rname, _, ename = rest.partition(".")
        role = _named(app.get("roles", []), rname)
        if role is not None:
            role.get("entities", {}).pop(ename, None)
        return
    items, name, el = _locate(app, key)
    if items is None or el is None:
        return
    if kind in ("entity", "field"):
        el["archived"] = True
    else:
        items.remove(el)


def flatten_app(app: dict[str, Any], keys: list[str]) -> Flat:
    """The values of ``keys`` in ``app`` (absent keys left out)."""
    out: Flat = {}
    for k in keys:
        v = get_key(app, k)
        if v is not None:
            out[k] = v
    return out

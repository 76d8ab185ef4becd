"""PS: permissions — cost and salary read outside the domain, unmasked personal data for
broad roles, public write, API keys with admin, always-true row filters, wildcard write."""

from __future__ import annotations

import ast
from typing import Any

from jimu.core import pyast
from jimu.platform.health.model import Fix, Hit, Rule, ScanContext
from jimu.platform.health.rules._util import (
    PRIVILEGED_ROLES,
    SENSITIVE_COST,
    SENSITIVE_PERSONAL,
    copy_app,
    is_sensitive,
)
from jimu.platform.specs import AppSpec, EntityRights, RoleSpec

__all__ = ["RULES", "always_true"]

PUBLIC_ROLES = frozenset({"public", "anonymous", "anon", "guest", "everyone"})
BROAD_ROLES = PUBLIC_ROLES | {"employee", "user", "staff", "all", "member"}
_PRIVILEGED_FAMILIES = frozenset({"finance", "hr", "supply_chain"})


def _privileged(role: RoleSpec) -> bool:
    fams = {d.split(".", 1)[0] for d in role.domains}
    return role.name in PRIVILEGED_ROLES or bool(fams & _PRIVILEGED_FAMILIES)


def _readable(ctx: ScanContext, role: RoleSpec) -> list[tuple[str, EntityRights]]:
    out = []
    for ename in ctx.entities:
        rights = role.rights(ename)
        if rights is not None and rights.read:
            out.append((ename, rights))
    return out


def _exposed(ctx: ScanContext, role: RoleSpec, vocab: tuple[str, ...]) -> list[Hit]:
    hits = []
    for ename, rights in _readable(ctx, role):
        for f in ctx.entities[ename].active_fields:
            if is_sensitive(f, vocab) and rights.field_access(f.name) in ("read", "write"):
                hits.append(Hit(f"role:{role.name}", f"roles.{role.name}.entities.{ename}.fields.{f.name}",
                                f"role '{role.name}' reads '{ename}.{f.name}' ({f.label}) unmasked"))
    return hits


def check_cost_overreach(ctx: ScanContext) -> list[Hit]:
    hits = []
    for role in ctx.app.roles:
        if not _privileged(role):
            hits += _exposed(ctx, role, SENSITIVE_COST)
    return hits


def _fix_hide(app: AppSpec, hits: list[Hit]) -> AppSpec:
    new = copy_app(app)
    for h in hits:
        _, rname, _, ename, _, fname = h.path.split(".")
        role = new.role(rname)
        if role is None:
            continue
        if ename not in role.entities:
            base = role.rights(ename)
            role.entities[ename] = base.model_copy(deep=True) if base else EntityRights(read=True)
        role.entities[ename].fields[fname] = "hidden"
    return new


def _broad(ctx: ScanContext, role: RoleSpec) -> bool:
    if role.name in PRIVILEGED_ROLES:
        return False
    return role.name in BROAD_ROLES or bool(role.all_entities and role.all_entities.read)


def check_personal_unmasked(ctx: ScanContext) -> list[Hit]:
    hits = []
    for role in ctx.app.roles:
        if _broad(ctx, role):
            hits += _exposed(ctx, role, SENSITIVE_PERSONAL)
    return hits


def check_public_write(ctx: ScanContext) -> list[Hit]:
    hits = []
    for role in ctx.app.roles:
        if role.name not in PUBLIC_ROLES:
            continue
        grants = dict(role.entities)
        if role.all_entities:
            grants["*"] = role.all_entities
        for ename, r in grants.items():
            if r.create or r.update or r.delete:
                hits.append(Hit(f"role:{role.name}", f"roles.{role.name}.entities.{ename}",
                                f"anonymous role '{role.name}' may write '{ename}'"))
    return hits


def check_api_key_admin(ctx: ScanContext) -> list[Hit]:
    hits = []
    for key in ctx.stats.get("api_keys") or []:
        roles = set(key.get("roles") or [])
        if "admin" in roles:
            hits.append(Hit("app", f"api_keys.{key.get('name', '?')}",
                            f"API key '{key.get('name', '?')}' carries the admin role"))
    return hits


_SAFE_NODES = (ast.Expression, ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.Eq, ast.NotEq,
               ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.And, ast.Or, ast.Not, ast.Name, ast.Load)


def always_true(source: str) -> bool:
    """True when a row filter admits every row (``True``, ``1``, ``1 == 1``, ``x == x``)."""
    text = source.strip().replace("<>", "!=")
    try:
        tree = pyast.parse_eval(text)
    except SyntaxError:
        return False
    body = tree.body
    if isinstance(body, ast.Compare) and len(body.ops) == 1 and isinstance(body.ops[0], ast.Eq | ast.GtE | ast.LtE):
        if ast.dump(body.left) == ast.dump(body.comparators[0]):
            return True
    if not all(isinstance(n, _SAFE_NODES) for n in ast.walk(tree)):
        return False
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if names - {"True", "False", "true", "false"}:
        return False
    value: Any = eval(compile(tree, "<row_filter>", "eval"), {"__builtins__": {}}, {"true": True, "false": False})
    return bool(value)


def check_always_true(ctx: ScanContext) -> list[Hit]:
    hits = []
    for role in ctx.app.roles:
        for ename, rights in role.entities.items():
            if rights.row_filter and always_true(rights.row_filter):
                hits.append(Hit(f"role:{role.name}", f"roles.{role.name}.entities.{ename}.row_filter",
                                f"row filter of role '{role.name}' on '{ename}' is always true: "
                                f"{rights.row_filter!r} restricts nothing"))
    return hits


def _fix_drop_filter(app: AppSpec, hits: list[Hit]) -> AppSpec:
    new = copy_app(app)
    for h in hits:
        parts = h.path.split(".")
        role = new.role(parts[1])
        if role is not None and parts[3] in role.entities:
            role.entities[parts[3]].row_filter = None
    return new


def check_wildcard_write(ctx: ScanContext) -> list[Hit]:
    hits = []
    for role in ctx.app.roles:
        r = role.all_entities
        if role.name != "admin" and role.name not in PUBLIC_ROLES and r and (r.update or r.delete):
            hits.append(Hit(f"role:{role.name}", f"roles.{role.name}.all_entities",
                            f"role '{role.name}' may update/delete every entity (all_entities)"))
    return hits


RULES = [
    Rule("PS-01", "PS", "high", "越域读取成本/薪资", "Cost or salary read outside its domain",
         check_cost_overreach,
         "Hide the field for this role or mask it (e.g. cost price rounded to thousands for sales).",
         Fix(lambda hits: [f"set {h.path} to 'hidden'" for h in hits], _fix_hide)),
    Rule("PS-02", "PS", "medium", "宽泛角色可见未脱敏个人信息", "Personal data unmasked for a broad role",
         check_personal_unmasked, "Mask or hide phone, ID and bank fields for broad roles.",
         Fix(lambda hits: [f"set {h.path} to 'hidden'" for h in hits], _fix_hide)),
    Rule("PS-03", "PS", "critical", "匿名/公开角色可写", "Public or anonymous write", check_public_write,
         "Remove create/update/delete from anonymous roles; accept public input through a webhook with a signature."),
    Rule("PS-04", "PS", "high", "API 密钥拥有管理员角色", "API key with admin role", check_api_key_admin,
         "Give the key a role with only the rights its integration needs."),
    Rule("PS-05", "PS", "medium", "恒真的行过滤", "Always-true row filter", check_always_true,
         "Write the intended filter (e.g. owner == $user) or remove it so the grant reads honestly.",
         Fix(lambda hits: [f"remove {h.path} (it admits every row)" for h in hits], _fix_drop_filter)),
    Rule("PS-06", "PS", "high", "非管理员拥有全局写权限", "Wildcard write for a non-admin role", check_wildcard_write,
         "Grant update/delete per entity instead of all_entities."),
]

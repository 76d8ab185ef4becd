"""``jimu init``, ``jimu schema``, ``jimu serve``, ``jimu demo``, ``jimu user``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from jimu.cli.common import emit_json, fail, open_jimu
from jimu.core.errors import ValidationError
from jimu.platform.auth.users import check_password_policy

__all__ = ["register", "DEMO_USERS"]

DEMO_USERS = ["admin", "sales", "warehouse", "purchasing", "finance", "manager", "vp"]
DEMO_MANAGERS = {"sales": "manager", "warehouse": "manager", "purchasing": "manager", "finance": "manager",
                 "manager": "vp"}


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="create an empty database and an admin user")
    p.add_argument("--admin-password", default=None, help="password of the admin user (default: admin, with a warning)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("schema", help="print the JSON Schema of the spec kinds")
    p.add_argument("kind", nargs="?", help="one kind (entity, workflow, role, ..., app, cbu)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("serve", help="serve the configured database")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--forwarded-allow-ips", default=None, metavar="IPS",
                   help="addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated; "
                        "default $JIMU_TRUSTED_PROXIES, else none)")
    p.add_argument("--access-log", action="store_true",
                   help="log every request (also JIMU_ACCESS_LOG=1; off by default: CPU on every request)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="create ./jimu.db with a template and sample data, then serve it")
    p.add_argument("template", nargs="?", default="standard",
                   help="general, standard (default), food, catering, discrete_manufacturing, no_stock")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-serve", action="store_true", help="prepare the database and exit")
    p.add_argument("--no-history", action="store_true",
                   help="skip the 120 days of generated history (also JIMU_DEMO_HISTORY=0): today's sample data only")
    p.add_argument("--forwarded-allow-ips", default=None, metavar="IPS",
                   help="addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated; "
                        "default $JIMU_TRUSTED_PROXIES, else none)")
    p.add_argument("--access-log", action="store_true", help="log every request (also JIMU_ACCESS_LOG=1)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("user", help="manage users")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION")
    add = usub.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    add.add_argument("--password", default=None, help="password (default: read from JIMU_PASSWORD or prompt-free random)")
    add.add_argument("--manager", default=None)
    add.set_defaults(func=cmd_user_add)
    ls = usub.add_parser("list", help="list users")
    ls.set_defaults(func=cmd_user_list)
    p.set_defaults(func=lambda args: fail("usage: jimu user add NAME --role ROLE | jimu user list"))


def cmd_init(args: argparse.Namespace) -> int:
    jimu = open_jimu(args)
    password = args.admin_password
    if password is None:  # the documented default (DESIGN 15), exempt from the policy, with a warning
        password = "admin"
        print("jimu: warning: admin password is 'admin'; change it with --admin-password", file=sys.stderr)
    else:
        try:
            check_password_policy(password)
        except ValidationError as exc:
            return fail(f"--admin-password: {exc.message}")
    user = jimu.users.by_name("admin")
    if user is None:
        jimu.users.create("admin", password, ["admin"])
        print(f"created database {jimu.db.engine.url.render_as_string(hide_password=True)} with user admin")
    else:
        print("database ready; user admin already exists")
    return 0


def spec_schemas() -> dict[str, Any]:
    """{kind: JSON Schema} for every spec kind, the whole app, and the CBU manifest."""
    from jimu.platform.specs import KIND_MODELS, AppSpec

    out: dict[str, Any] = {kind: model.model_json_schema(by_alias=True) for kind, (_, model) in KIND_MODELS.items()}
    from jimu.platform.specs import FieldSpec

    out["field"] = FieldSpec.model_json_schema(by_alias=True)
    out["app"] = AppSpec.model_json_schema(by_alias=True)
    try:
        from jimu.templates_market.manifest import cbu_json_schema

        out["cbu"] = cbu_json_schema()
    except ModuleNotFoundError:
        pass
    return out


def cmd_schema(args: argparse.Namespace) -> int:
    schemas = spec_schemas()
    if args.kind:
        if args.kind not in schemas:
            return fail(f"unknown kind '{args.kind}'; one of: {', '.join(schemas)}")
        emit_json(schemas[args.kind])
    else:
        emit_json(schemas)
    return 0


def serve(url: str | None, host: str, port: int, workers: int = 1, trusted_proxies: str | None = None,
          access_log: bool = False) -> None:
    """Serve with uvicorn; forwarded headers are believed only from ``trusted_proxies``
    (``--forwarded-allow-ips``, else ``$JIMU_TRUSTED_PROXIES``; none by default). Start-up
    and errors are logged at info, one line per request only with ``access_log`` (a
    reverse proxy usually keeps that log; here it was CPU on every request)."""
    import uvicorn

    from jimu.runtime.server import proxy_options

    access_log = access_log or os.environ.get("JIMU_ACCESS_LOG") == "1"

    if url:
        os.environ["JIMU_DATABASE_URL"] = url
    proxy = proxy_options(trusted_proxies)
    if workers > 1:
        uvicorn.run("jimu.runtime.server:app_factory", factory=True, host=host, port=port, workers=workers,
                    log_level="info", access_log=access_log, **proxy)
    else:
        from jimu.runtime.server import app_factory

        uvicorn.run(app_factory(), host=host, port=port, log_level="info", access_log=access_log, **proxy)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        return fail("--workers must be at least 1")
    open_jimu(args).close()
    serve(args.database, args.host, args.port, args.workers, args.forwarded_allow_ips, args.access_log)
    return 0


def ensure_demo_users(jimu: Any) -> None:
    """The demo users, each with its name as password (DESIGN 15): an explicit exemption
    from the password policy, which applies to passwords people set (API, CLI)."""
    for name in ["vp", "manager", *[u for u in DEMO_USERS if u not in ("vp", "manager")]]:
        jimu.users.ensure(name, name, [name], manager=DEMO_MANAGERS.get(name))


def prepare_demo(jimu: Any, template: str, *, history: bool = False) -> str:
    """Install ``template`` as app ``template`` with sample data unless it exists; with
    ``history``, then 120 days of generated business history (issue 22: what ``jimu demo``
    does unless told not to)."""
    ensure_demo_users(jimu)
    if jimu.store.exists(template) and jimu.store.published_version(template):
        return "reused"
    try:
        from jimu.templates_market.installer import install_template
    except ModuleNotFoundError:
        from jimu.cli.fallback_demo import install_fallback

        install_fallback(jimu, template)
        return "created"
    install_template(jimu, template, template, params={}, sample_data=True)
    if history:
        from jimu.templates_market.history import generate_history

        generate_history(jimu, template)
    return "created"


def demo_history_wanted(args: argparse.Namespace) -> bool:
    """``jimu demo`` generates history unless ``--no-history`` or ``JIMU_DEMO_HISTORY=0``."""
    return not getattr(args, "no_history", False) and os.environ.get("JIMU_DEMO_HISTORY", "1") != "0"


def cmd_demo(args: argparse.Namespace) -> int:
    url = args.database or os.environ.get("JIMU_DATABASE_URL") or "sqlite:///jimu.db"
    args.database = url
    jimu = open_jimu(args)
    what = prepare_demo(jimu, args.template, history=demo_history_wanted(args))
    jimu.close()
    base = f"http://{args.host}:{args.port}"
    print(f"Jimu demo: app '{args.template}' {what} in {url}")
    print(f"  open {base}/  (API: {base}/api/apps/{args.template}/meta)")
    print("  logins (username = password): " + ", ".join(DEMO_USERS))
    sys.stdout.flush()
    if args.no_serve:
        return 0
    serve(url, args.host, args.port, trusted_proxies=args.forwarded_allow_ips, access_log=args.access_log)
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    jimu = open_jimu(args)
    password = args.password or os.environ.get("JIMU_PASSWORD")
    generated = False
    if not password:
        import secrets

        password, generated = secrets.token_urlsafe(9), True
    try:
        check_password_policy(password)
    except ValidationError as exc:
        return fail(f"--password: {exc.message}")
    user = jimu.users.create(args.name, password, args.role, manager=args.manager)
    print(json.dumps(user.as_dict(), ensure_ascii=False))
    if generated:
        print(f"password: {password}", file=sys.stderr)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    jimu = open_jimu(args)
    emit_json([u.as_dict() for u in jimu.users.list(limit=100000)])
    return 0

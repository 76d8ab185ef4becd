"""``jimu market list``, ``jimu install``, ``jimu upgrade``, ``jimu uninstall``."""

from __future__ import annotations

import argparse
from typing import Any

from jimu.cli.common import emit_json, fail, open_jimu

__all__ = ["register", "parse_params"]


def register(sub: Any) -> None:
    p = sub.add_parser("market", help="templates and capability units available")
    msub = p.add_subparsers(dest="market_command", metavar="ACTION")
    ls = msub.add_parser("list", help="list templates and CBUs")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=cmd_market_list)
    p.set_defaults(func=lambda args: fail("usage: jimu market list [--json]"))

    p = sub.add_parser("install", help="install a template or a CBU into an app (created if missing)")
    p.add_argument("app")
    p.add_argument("what", metavar="TEMPLATE|CBU")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="a parameter (repeatable)")
    p.add_argument("--version", dest="cbu_version", default=None, help="a version range for a CBU")
    p.add_argument("--no-sample-data", action="store_true", help="skip the sample data")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("upgrade", help="upgrade a CBU in an app (three-way merge)")
    p.add_argument("app")
    p.add_argument("cbu")
    p.add_argument("--version", dest="cbu_version", default=None, help="a version range (default: newest)")
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    p.add_argument("--resolve", action="append", default=[], metavar="PATH=mine|theirs",
                   help="settle a conflict (repeatable)")
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser("uninstall", help="remove a CBU's behaviour and archive its data")
    p.add_argument("app")
    p.add_argument("cbu")
    p.set_defaults(func=cmd_uninstall)


def parse_params(items: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` as a dict (values stay text; each unit coerces its own params)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"jimu: error: --param needs K=V, got {item!r}")
        out[key.strip()] = value
    return out


def cmd_market_list(args: argparse.Namespace) -> int:
    from jimu.templates_market.market import list_cbus, list_templates

    templates, cbus = list_templates(), list_cbus()
    if args.json:
        emit_json({"templates": [{k: v for k, v in t.items() if k != "readme"} for t in templates], "cbus": cbus})
        return 0
    print("Templates:")
    for t in templates:
        print(f"  {t['id']:<24} {t['title']['zh']} / {t['title']['en']}  [{t['industry']}]  ({len(t['cbus'])} CBUs)")
    print("Capability units:")
    for c in cbus:
        print(f"  {c['name']:<24} {c['version']:<8} {', '.join(c['domains']):<34} {c['title']['zh']}")
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    from jimu.templates_market.catalog import default_catalog
    from jimu.templates_market.installer import install_cbu, install_template

    jimu = open_jimu(args)
    params = parse_params(args.param)
    catalog = default_catalog()
    sample = not args.no_sample_data
    if catalog.has_template(args.what):
        result = install_template(jimu, args.app, args.what, params, sample)
    elif catalog.has_cbu(args.what):
        result = install_cbu(jimu, args.app, args.what, params, version=args.cbu_version, sample_data=sample)
    else:
        return fail(f"'{args.what}' is neither a template nor a CBU; see `jimu market list`")
    emit_json(result.as_dict())
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from jimu.templates_market.lifecycle import upgrade_cbu

    resolutions: dict[str, Any] = {}
    for item in args.resolve:
        path, _, choice = item.rpartition("=")
        if choice not in ("mine", "theirs") or not path:
            return fail(f"--resolve needs PATH=mine|theirs, got {item!r}")
        resolutions[path] = choice
    result = upgrade_cbu(open_jimu(args), args.app, args.cbu, args.cbu_version, dry_run=args.dry_run,
                         resolutions=resolutions)
    emit_json(result.as_dict())
    return 3 if result.conflicts and not result.applied else 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    from jimu.templates_market.lifecycle import uninstall_cbu

    emit_json(uninstall_cbu(open_jimu(args), args.app, args.cbu).as_dict())
    return 0

"""``jimu scan APP [--format text|json|sarif] [--fail-on critical|high] [--fix]``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from jimu.cli.common import open_jimu

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("scan", help="health-scan an app (misuse, risky configuration)")
    p.add_argument("app")
    p.add_argument("--format", default="text", choices=["text", "json", "sarif"])
    p.add_argument("--fail-on", default=None, choices=["critical", "high", "medium", "low", "info"],
                   help="exit 1 when an open finding is at least this severe")
    p.add_argument("--fix", action="store_true", help="show the plan of safe automatic fixes, then ask")
    p.add_argument("--yes", action="store_true", help="apply the fixes without asking (with --fix)")
    p.add_argument("--draft", action="store_true", help="scan the draft instead of the published version")
    p.set_defaults(func=cmd_scan)


def _context_extras(jimu: Any, app: str, draft: bool) -> dict[str, Any]:
    """Manifests of the installed units (when the template market is there) and the
    runtime facts (row counts, field fill, role holders, API keys, CBU usage)."""
    from jimu.platform.health import ScanContext
    from jimu.runtime.health import with_runtime_facts

    try:
        from jimu.templates_market.health_context import scan_context_for
    except ModuleNotFoundError:
        spec = (None if draft else jimu.store.published(app)) or jimu.store.draft(app)
        ctx = ScanContext(app=spec)
    else:
        ctx = scan_context_for(jimu, app, published=not draft)
    ctx = with_runtime_facts(jimu, app, ctx)
    return {"cbus": ctx.cbus, "usage": ctx.usage, "stats": ctx.stats}


def cmd_scan(args: argparse.Namespace) -> int:
    from jimu.platform.health.cli import scan_command

    jimu = open_jimu(args)

    def load(name: str) -> Any:
        spec = None if args.draft else jimu.store.published(name)
        return spec if spec is not None else jimu.store.draft(name)

    def save(spec: Any, summary: str) -> None:
        jimu.store.save_draft(args.app, spec, author="jimu scan --fix")
        jimu.store.publish(args.app, author="jimu scan --fix")

    def confirm(question: str) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            print(f"{question} (not applied: no terminal; pass --yes)", file=sys.stderr)
            return False
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    extras = _context_extras(jimu, args.app, args.draft) if jimu.store.exists(args.app) else {}
    return scan_command(jimu.db, args.app, args.format, args.fail_on, args.fix, load_app=load, save_app=save,
                        confirm=confirm, **extras)

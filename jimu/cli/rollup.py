"""``jimu rollup verify APP [--json]`` and ``jimu rollup rebuild APP``: the dashboards'
rollups (kept in the write transaction, see :mod:`jimu.runtime.rollups`) checked against
and recomputed from a full scan of their base tables, like ``jimu ledger verify``."""

from __future__ import annotations

import argparse
from typing import Any

from jimu.cli.common import emit_json, fail, open_jimu

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("rollup", help="dashboard rollups: verify against a full scan, or rebuild")
    rsub = p.add_subparsers(dest="rollup_command", metavar="ACTION")
    v = rsub.add_parser("verify", help="compare every built rollup with a full scan of its table (exit 1 on a difference)")
    v.add_argument("app")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_verify)
    r = rsub.add_parser("rebuild", help="recompute every rollup of the app from its tables")
    r.add_argument("app")
    r.set_defaults(func=cmd_rebuild)
    p.set_defaults(func=lambda args: fail("usage: jimu rollup verify|rebuild APP"))


def cmd_verify(args: argparse.Namespace) -> int:
    from jimu.runtime.rollups import verify

    jimu = open_jimu(args)
    jimu.store.app_info(args.app)  # 404 -> a readable error for an unknown app
    rt = jimu.apps.get(args.app)
    with jimu.db.read() as c:
        diffs = verify(c, rt)
    if args.json:
        emit_json({"app": args.app, "differences": diffs})
    elif diffs:
        for d in diffs:
            print(f"{d['entity']} {d['rollup']} {d['key']}: kept {d['actual']} != scan {d['expected']}")
        print(f"{len(diffs)} difference(s); `jimu rollup rebuild {args.app}` recomputes them")
    else:
        print(f"rollups of app '{args.app}' verified: equal to a full scan")
    return 1 if diffs else 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from jimu.runtime.rollups import rebuild

    jimu = open_jimu(args)
    jimu.store.app_info(args.app)
    rt = jimu.apps.get(args.app)
    with jimu.db.write() as c:
        names = rebuild(c, rt)
    print(f"rebuilt {len(names)} rollup(s) of app '{args.app}'")
    return 0

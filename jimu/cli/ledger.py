"""``jimu ledger verify APP [--ledger NAME] [--json]``: rebuild balances from movements."""

from __future__ import annotations

import argparse
from typing import Any

from jimu.cli.common import emit_json, fail, open_jimu

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("ledger", help="ledger tools")
    lsub = p.add_subparsers(dest="ledger_command", metavar="ACTION")
    v = lsub.add_parser("verify", help="rebuild balances from the movement log and compare with the stored ones")
    v.add_argument("app")
    v.add_argument("--ledger", default=None)
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_verify)
    p.set_defaults(func=lambda args: fail("usage: jimu ledger verify APP"))


def cmd_verify(args: argparse.Namespace) -> int:
    from jimu.platform.ledger import verify

    jimu = open_jimu(args)
    jimu.store.app_info(args.app)  # 404 -> a readable error for an unknown app
    diffs = verify(jimu.db, args.app, args.ledger)
    if args.json:
        emit_json({"app": args.app, "differences": [d.as_dict() for d in diffs]})
    elif diffs:
        for d in diffs:
            print(f"{d.ledger} {d.dims} {d.bucket}: stored {d.stored} != rebuilt {d.rebuilt} ({d.source})")
        print(f"{len(diffs)} difference(s)")
    else:
        print(f"ledger of app '{args.app}' verified: balances equal the movement log")
    return 1 if diffs else 0

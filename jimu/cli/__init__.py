"""The ``jimu`` command. Each command group lives in its own module under
``jimu.cli`` and exposes ``register(subparsers)``; modules listed in COMMAND_MODULES that
do not exist yet are skipped."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from jimu import __version__
from jimu.core.errors import JimuError
from jimu.core.modules import import_optional

__all__ = ["main", "COMMAND_MODULES", "build_parser"]

COMMAND_MODULES = [
    "jimu.cli.basics",  # init, schema, serve, demo, user
    "jimu.cli.transfer",  # export, import
    "jimu.cli.scan",  # scan (health)
    "jimu.cli.ledger",  # ledger verify
    "jimu.cli.rollup",  # rollup verify, rebuild
    "jimu.cli.market",  # market list, install
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jimu", description="Jimu (积木): low-code inventory business apps")
    parser.add_argument("--version", action="version", version=f"jimu {__version__}")
    parser.add_argument("--database", "-d", help="database URL (default: $JIMU_DATABASE_URL or sqlite:///jimu.db)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = import_optional(name)
        if module is not None:
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except JimuError as exc:
        print(f"jimu: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI answers with one readable line
        logging.getLogger("jimu.cli").debug("command failed", exc_info=True)
        print(f"jimu: error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        print("jimu: run with -v for details", file=sys.stderr) if not args.verbose else logging.exception("details")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Helpers shared by CLI commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from jimu.runtime.context import Jimu

__all__ = ["open_jimu", "emit_json", "fail"]


def open_jimu(args: argparse.Namespace) -> Jimu:
    """The Jimu of ``--database`` / JIMU_DATABASE_URL / ./jimu.db (system tables upgraded)."""
    url = getattr(args, "database", None)
    return Jimu.open(url)


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def fail(message: str, code: int = 2) -> int:
    print(f"jimu: error: {message}", file=sys.stderr)
    return code
